using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Webhooks;

public sealed record WebhookInput(string? Url, IReadOnlyList<string?>? Events, string? Description);

/// <summary>A new webhook and, this once, its signing secret ("whsec_…").</summary>
public sealed record CreatedWebhook(Webhook Webhook, string Secret);

/// <summary>A delivery with its attempts.</summary>
public sealed record DeliveryLog(WebhookDelivery Delivery, IReadOnlyList<DeliveryAttempt> Attempts);

/// <summary>An organization's webhook subscriptions and their delivery log.</summary>
public sealed class WebhookSubscriptions(IWebhookRepository webhooks, ITransactions transactions, IKeyring keyring, IOptions<WebhookOptions> options, TimeProvider time,
    ILogger<WebhookSubscriptions> logger)
{
    public const int MaxUrlLength = 2048;
    public const int MaxDescriptionLength = 200;
    public const int MaxPageSize = 100;

    public async Task<Outcome<CreatedWebhook>> CreateAsync(Caller caller, WebhookInput input, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var url = ValidateUrl(input.Url, errors);
        var events = ValidateEvents(input.Events, errors);
        var description = input.Description?.Trim() ?? "";
        if (description.Length > MaxDescriptionLength || !PlainText.IsPlain(description))
            errors.Add("description", $"description is at most {MaxDescriptionLength} printable characters.");
        if (errors.Any || url is null) return new Failure.Invalid(errors.All);

        var id = Ids.New("whk");
        var target = new WebhookTarget(url, description.Length == 0 ? null : description);
        var (key, secret) = WebhookSignature.NewSecret();
        SealedValue sealedKey, sealedTarget;
        try
        {
            using var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct);
            sealedKey = cipher.Seal(WebhookDeliverer.SecretLabel, id, key);
            sealedTarget = WebhookTargets.Seal(cipher, id, target);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        var now = time.GetUtcNow();
        var webhook = new Webhook(id, caller.OrganizationId, url, target.Description, events, sealedKey, now, caller.Actor);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Webhooks.CreateAsync(new StoredWebhook(id, caller.OrganizationId, sealedTarget, null, events, sealedKey, now, caller.Actor),
                options.Value.MaxPerOrganization, ct))
            return new Failure.Conflict($"An organization has at most {options.Value.MaxPerOrganization} webhooks; delete one first.");
        // The URL stays out of the audit log: receivers often put a token in it.
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "webhook.created", null, new { webhookId = id, events }), ct);
        await uow.CommitAsync(ct);
        return new CreatedWebhook(webhook, secret);
    }

    public async Task<IReadOnlyList<Webhook>> ListAsync(Caller caller, CancellationToken ct)
    {
        var stored = await webhooks.ListAsync(caller.OrganizationId, ct);
        if (stored.Count == 0) return [];
        using var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct);
        return [.. stored.Select(w => TryOpen(cipher, w)).OfType<Webhook>()];
    }

    private async Task<Webhook?> TryOpenAsync(StoredWebhook webhook, CancellationToken ct)
    {
        using var cipher = await keyring.ForOrganizationAsync(webhook.OrganizationId, ct);
        return TryOpen(cipher, webhook);
    }

    /// <summary>
    /// The webhook, or null when no key present opens its target (a restore of a backup older than a finished data-key
    /// rotation): such a webhook is left out of the list and not found to a read or a secret rotation, with a warning, so
    /// the organization's other webhooks stay usable; it can still be deleted (its deliveries fail meanwhile).
    /// </summary>
    private Webhook? TryOpen(IOrganizationCipher cipher, StoredWebhook webhook)
    {
        try { return WebhookTargets.Opened(cipher, webhook); }
        catch (CryptographicException)
        {
            logger.LogWarning("The target of webhook {WebhookId} cannot be opened with any data key the keyring holds", webhook.Id);
            return null;
        }
    }

    /// <summary>
    /// Replaces a webhook's signing secret and returns the new one (shown once). Until the overlap ends
    /// (<see cref="WebhookOptions.SecretOverlapHours"/>) every delivery carries two signatures, one per secret, so the
    /// receiver can switch to the new secret whenever it likes within that window.
    /// </summary>
    public async Task<Outcome<CreatedWebhook>> RotateSecretAsync(Caller caller, string webhookId, CancellationToken ct)
    {
        if (await webhooks.GetAsync(caller.OrganizationId, webhookId, ct) is not { } before || await TryOpenAsync(before, ct) is null)
            return new Failure.NotFound("webhook");
        var (key, secret) = WebhookSignature.NewSecret();
        SealedValue sealedKey;
        try
        {
            using var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct);
            sealedKey = cipher.Seal(WebhookDeliverer.SecretLabel, webhookId, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        var now = time.GetUtcNow();
        var until = now.AddHours(options.Value.SecretOverlapHours);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Webhooks.RotateSecretAsync(caller.OrganizationId, webhookId, sealedKey, until, ct)) return new Failure.NotFound("webhook");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "webhook.secret_rotated", null, new { webhookId, previousSecretUntil = until }), ct);
        var webhook = (await uow.Webhooks.GetAsync(caller.OrganizationId, webhookId, ct))!;
        await uow.CommitAsync(ct);
        return await TryOpenAsync(webhook, ct) is { } opened ? new CreatedWebhook(opened, secret) : new Failure.NotFound("webhook");
    }

    public async Task<Outcome<Webhook>> GetAsync(Caller caller, string webhookId, CancellationToken ct) =>
        await webhooks.GetAsync(caller.OrganizationId, webhookId, ct) is { } webhook && await TryOpenAsync(webhook, ct) is { } opened
            ? opened : new Failure.NotFound("webhook");

    public async Task<Outcome<bool>> DeleteAsync(Caller caller, string webhookId, CancellationToken ct)
    {
        await using var uow = await transactions.BeginAsync(ct);
        // The audit's head first, then the webhook's row: the order of every change that appends its event and then queues
        // deliveries to the organization's webhooks (a delete that held the row and then waited for the head deadlocked
        // with them on PostgreSQL). No webhook deleted: the event is rolled back with the rest.
        await uow.Audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, "webhook.deleted", null, new { webhookId }), ct);
        if (!await uow.Webhooks.DeleteAsync(caller.OrganizationId, webhookId, ct)) return new Failure.NotFound("webhook");
        await uow.CommitAsync(ct);
        return true;
    }

    /// <summary>A page of a webhook's delivery log, newest first; payloads are not part of it.</summary>
    public async Task<Outcome<IReadOnlyList<DeliveryLog>>> DeliveriesAsync(Caller caller, string webhookId, string? before, int limit, CancellationToken ct)
    {
        if (await webhooks.GetAsync(caller.OrganizationId, webhookId, ct) is null) return new Failure.NotFound("webhook");
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        var deliveries = await webhooks.ListDeliveriesAsync(caller.OrganizationId, webhookId, before, limit, ct);
        var attempts = (await webhooks.ListAttemptsAsync(deliveries.Select(d => d.Id).ToList(), ct)).ToLookup(a => a.DeliveryId);
        return deliveries.Select(d => new DeliveryLog(d, attempts[d.Id].ToList())).ToList();
    }

    /// <summary>An absolute http or https URL, without credentials. Where it may point is decided at each connection (OutboundHttp).</summary>
    private static Uri? ValidateUrl(string? value, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add("url", "url is required.");
            return null;
        }
        if (value.Length > MaxUrlLength || !Uri.TryCreate(value.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
            || string.IsNullOrEmpty(url.Host))
        {
            errors.Add("url", $"url is an absolute http or https URL of at most {MaxUrlLength} characters.");
            return null;
        }
        if (url.UserInfo.Length > 0)
        {
            errors.Add("url", "url carries no user name or password; each request is authenticated by its signature.");
            return null;
        }
        return url;
    }

    private static List<string> ValidateEvents(IReadOnlyList<string?>? events, FieldErrors errors)
    {
        if (events is null || events.Count == 0)
        {
            errors.Add("events", "events lists at least one of: " + string.Join(", ", WebhookEventTypes.All) + ".");
            return [];
        }
        var seen = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e is null || !WebhookEventTypes.All.Contains(e)) errors.Add($"events[{i}]", "Unknown event type; one of: " + string.Join(", ", WebhookEventTypes.All) + ".");
            else if (seen.Contains(e)) errors.Add($"events[{i}]", "The event type is listed twice.");
            else seen.Add(e);
        }
        return seen;
    }
}
