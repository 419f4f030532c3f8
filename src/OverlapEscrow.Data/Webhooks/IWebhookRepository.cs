namespace OverlapEscrow.Data.Webhooks;

/// <summary>
/// Webhook subscriptions and their delivery outbox. Lookups a request can steer by id take the caller's
/// organization and match it in SQL (callers answer 404 otherwise).
/// </summary>
public interface IWebhookRepository
{
    /// <summary>Adds a webhook unless the organization already has <paramref name="maxPerOrganization"/>; false then.</summary>
    Task<bool> CreateAsync(WebhookRow webhook, int maxPerOrganization, CancellationToken ct = default);
    Task<IReadOnlyList<WebhookRow>> ListAsync(string organizationId, CancellationToken ct = default);
    Task<WebhookRow?> GetAsync(string organizationId, string webhookId, CancellationToken ct = default);

    /// <summary>Deletes a webhook with its deliveries and their log; false when the organization has no such webhook.</summary>
    Task<bool> DeleteAsync(string organizationId, string webhookId, CancellationToken ct = default);

    /// <summary>Adds deliveries to the outbox, all or none.</summary>
    Task EnqueueAsync(IReadOnlyList<DeliveryRow> deliveries, CancellationToken ct = default);

    /// <summary>
    /// Claims up to <paramref name="limit"/> pending deliveries due at <paramref name="now"/> whose lease is free, for
    /// <paramref name="claimToken"/> until <paramref name="leaseUntil"/>, and returns them oldest due first.
    /// </summary>
    Task<IReadOnlyList<DueDeliveryRow>> ClaimDueAsync(long now, long leaseUntil, string claimToken, int limit, CancellationToken ct = default);

    /// <summary>
    /// Logs an attempt and moves its delivery on, only if the delivery is still pending and claimed with
    /// <paramref name="claimToken"/>; false otherwise (nothing is written). A settled delivery loses its payload.
    /// </summary>
    Task<bool> RecordAttemptAsync(AttemptRow attempt, string claimToken, DeliveryUpdate update, CancellationToken ct = default);

    /// <summary>A webhook's deliveries, newest first, before the delivery id <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<DeliveryRow>> ListDeliveriesAsync(string organizationId, string webhookId, string? before, int limit, CancellationToken ct = default);

    /// <summary>The attempts of the given deliveries, in attempt order.</summary>
    Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(IReadOnlyList<string> deliveryIds, CancellationToken ct = default);
}
