using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// A webhook's target (URL and description) sealed under its organization's data key, bound to the webhook id: receivers
/// often put a token in the URL, and an erasure of the organization leaves it unreadable in every backup. It is opened to
/// show the webhook to its organization and to send a delivery, nowhere else.
/// </summary>
public static class WebhookTargets
{
    public const string Label = "oe-webhook-target-v1";

    private sealed record Stored(string Url, string? Description);

    public static SealedValue Seal(IOrganizationCipher cipher, string webhookId, WebhookTarget target) =>
        Seal(cipher, webhookId, target.Url.AbsoluteUri, target.Description);

    /// <summary>A target as text: a URL stored in plaintext before targets were sealed is sealed exactly as it was stored.</summary>
    public static SealedValue Seal(IOrganizationCipher cipher, string webhookId, string url, string? description) =>
        cipher.Seal(Label, webhookId, JsonSerializer.SerializeToUtf8Bytes(new Stored(url, description)));

    public static WebhookTarget Open(IOrganizationCipher cipher, string webhookId, SealedValue target)
    {
        var stored = JsonSerializer.Deserialize<Stored>(cipher.Open(Label, webhookId, target))
                     ?? throw new InvalidDataException("A webhook's sealed target is empty.");
        return new WebhookTarget(new Uri(stored.Url), stored.Description);
    }

    /// <summary>The target of a stored webhook: opened when sealed, as stored when it predates sealing.</summary>
    public static WebhookTarget Of(IOrganizationCipher cipher, StoredWebhook webhook) =>
        webhook.SealedTarget is { } target ? Open(cipher, webhook.Id, target)
        : webhook.PlainTarget ?? throw new InvalidDataException("A webhook has no target.");

    /// <summary>The webhook as its organization sees it.</summary>
    public static Webhook Opened(IOrganizationCipher cipher, StoredWebhook webhook)
    {
        var target = Of(cipher, webhook);
        return new Webhook(webhook.Id, webhook.OrganizationId, target.Url, target.Description, webhook.Events, webhook.Secret, webhook.CreatedAt,
            webhook.CreatedBy, webhook.PreviousSecretUntil);
    }
}
