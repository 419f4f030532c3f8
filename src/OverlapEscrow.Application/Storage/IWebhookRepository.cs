using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A webhook subscription as its organization sees it: where, which event types, and the signing secret sealed under the
/// organization's data key. After a rotation, <see cref="PreviousSecretUntil"/> is when the secret it replaced stops
/// signing too. At rest the URL and description are sealed as well (<see cref="StoredWebhook"/>).
/// </summary>
public sealed record Webhook(
    string Id,
    string OrganizationId,
    Uri Url,
    string? Description,
    IReadOnlyList<string> Events,
    SealedValue Secret,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? PreviousSecretUntil = null);

/// <summary>Where a webhook posts and what its organization calls it: sealed together at rest (receivers often put a token in the URL).</summary>
public sealed record WebhookTarget(Uri Url, string? Description);

/// <summary>
/// A webhook as stored: its target sealed under the organization's data key (<see cref="SealedTarget"/>), or, for a row
/// written before targets were sealed (migration 2026-12-03-0021) and not yet sealed at a start, in plaintext
/// (<see cref="PlainTarget"/>).
/// </summary>
public sealed record StoredWebhook(
    string Id,
    string OrganizationId,
    SealedValue? SealedTarget,
    WebhookTarget? PlainTarget,
    IReadOnlyList<string> Events,
    SealedValue Secret,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? PreviousSecretUntil = null);

public enum DeliveryStatus { Pending, Delivered, Failed }

/// <summary>One event to deliver to one webhook (a row of the outbox); <see cref="Payload"/> is dropped once settled.</summary>
public sealed record WebhookDelivery(
    string Id,
    string WebhookId,
    string OrganizationId,
    string EventType,
    string? Payload,
    DeliveryStatus Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? CompletedAt);

/// <summary>
/// A claimed delivery with what sending it needs: its body, sealed under the organization's key
/// (<see cref="SealedPayload"/>; <see cref="Payload"/> only for a row queued before bodies were sealed), the webhook's
/// sealed target (<see cref="Url"/> only for a webhook not sealed yet) and sealed secret, and the previous secret while a
/// rotation's overlap lasts (the delivery is then signed with both).
/// </summary>
public sealed record DueDelivery(
    string Id,
    string WebhookId,
    string OrganizationId,
    string EventType,
    string? Payload,
    int Attempts,
    SealedValue? SealedTarget,
    Uri? Url,
    SealedValue Secret,
    SealedValue? PreviousSecret = null,
    SealedValue? SealedPayload = null);

/// <summary>One attempt of a delivery: the response status code, or why there was none.</summary>
public sealed record DeliveryAttempt(string DeliveryId, int Attempt, DateTimeOffset At, int? StatusCode, string? Error, long DurationMs);

/// <summary>How an attempt leaves its delivery: still pending (with the next due time), delivered, or failed for good.</summary>
public sealed record DeliveryUpdate(DeliveryStatus Status, DateTimeOffset? NextAttemptAt, DateTimeOffset? CompletedAt);

/// <summary>
/// Webhook subscriptions and their delivery outbox. Lookups a request can steer by id take the caller's
/// organization and match it in the query (callers answer 404 otherwise). Deliveries are written by
/// <see cref="IEventOutbox"/>, in the transaction of the change they report.
/// </summary>
public interface IWebhookRepository
{
    /// <summary>Adds a webhook (its target sealed) unless the organization already has <paramref name="maxPerOrganization"/>; false then.</summary>
    Task<bool> CreateAsync(StoredWebhook webhook, int maxPerOrganization, CancellationToken ct);
    Task<IReadOnlyList<StoredWebhook>> ListAsync(string organizationId, CancellationToken ct);
    Task<StoredWebhook?> GetAsync(string organizationId, string webhookId, CancellationToken ct);

    /// <summary>
    /// Replaces a webhook's signing secret; the current one becomes the previous secret, which keeps signing until
    /// <paramref name="previousUntil"/>. False when the organization has no such webhook.
    /// </summary>
    Task<bool> RotateSecretAsync(string organizationId, string webhookId, SealedValue newSecret, DateTimeOffset previousUntil, CancellationToken ct);

    /// <summary>Deletes a webhook with its deliveries and their log; false when the organization has no such webhook.</summary>
    Task<bool> DeleteAsync(string organizationId, string webhookId, CancellationToken ct);

    /// <summary>
    /// Claims up to <paramref name="limit"/> pending deliveries due at <paramref name="now"/> whose lease is free, at
    /// most <paramref name="perOrganization"/> of one organization's under way at once — counting those other workers
    /// (of any instance) hold leased now — the oldest due of each, for <paramref name="claimToken"/> until
    /// <paramref name="leaseUntil"/>, and returns them oldest due first.
    /// </summary>
    Task<IReadOnlyList<DueDelivery>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, string claimToken, int limit, int perOrganization,
        CancellationToken ct);

    /// <summary>
    /// Extends a claimed delivery's lease to <paramref name="leaseUntil"/> just before its attempt, only while it is still
    /// pending and claimed with <paramref name="claimToken"/>; false when another worker has claimed it since (its lease ran
    /// out while it waited in its batch): then this worker must not send it.
    /// </summary>
    Task<bool> RenewLeaseAsync(string deliveryId, string claimToken, DateTimeOffset leaseUntil, CancellationToken ct);

    /// <summary>
    /// Logs an attempt and moves its delivery on, only if the delivery is still pending and claimed with
    /// <paramref name="claimToken"/>; false otherwise (nothing is written). A settled delivery loses its payload.
    /// </summary>
    Task<bool> RecordAttemptAsync(DeliveryAttempt attempt, string claimToken, DeliveryUpdate update, CancellationToken ct);

    /// <summary>A webhook's deliveries, newest first, before the delivery id <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string organizationId, string webhookId, string? before, int limit, CancellationToken ct);

    /// <summary>The attempts of the given deliveries, in attempt order.</summary>
    Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(IReadOnlyList<string> deliveryIds, CancellationToken ct);

    /// <summary>
    /// Pending deliveries whose body is still stored in plaintext (queued before bodies were sealed, migration
    /// 2026-12-01-0017), by id after <paramref name="afterId"/>.
    /// </summary>
    Task<IReadOnlyList<UnsealedDelivery>> ListUnsealedAsync(string? afterId, int limit, CancellationToken ct);

    /// <summary>
    /// Replaces such a body by its sealed form, only while the plaintext is still the one read (a compare-and-set, so a
    /// delivery settled meanwhile stays settled); false otherwise.
    /// </summary>
    Task<bool> SealLegacyAsync(string deliveryId, string payload, SealedValue body, CancellationToken ct);

    /// <summary>Webhooks whose target is still stored in plaintext (written before migration 2026-12-03-0021), by id after <paramref name="afterId"/>.</summary>
    Task<IReadOnlyList<UnsealedTarget>> ListUnsealedTargetsAsync(string? afterId, int limit, CancellationToken ct);

    /// <summary>
    /// Replaces such a target by its sealed form and clears the plaintext, only while the stored URL is still
    /// <paramref name="url"/> (a compare-and-set); false otherwise.
    /// </summary>
    Task<bool> SealLegacyTargetAsync(string webhookId, string url, SealedValue target, CancellationToken ct);
}

/// <summary>A webhook whose URL and description were stored in plaintext before targets were sealed, as stored.</summary>
public sealed record UnsealedTarget(string Id, string OrganizationId, string Url, string? Description);

/// <summary>A pending delivery whose body was stored in plaintext before bodies were sealed.</summary>
public sealed record UnsealedDelivery(string Id, string OrganizationId, string Payload);
