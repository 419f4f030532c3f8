using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Webhooks;

internal static class DeliveryStatuses
{
    public static string ToText(DeliveryStatus status) => status.ToString().ToLowerInvariant();
    public static DeliveryStatus Parse(string text) => Enum.Parse<DeliveryStatus>(text, ignoreCase: true);
}

/// <summary>
/// A webhook subscription; <see cref="Events"/> is a JSON array of event types; the target (URL and description) and the
/// secret are sealed. A row written before targets were sealed has its URL in <see cref="Url"/> until a start seals it.
/// </summary>
internal sealed class WebhookRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Url { get; init; } = "";
    public string Description { get; init; } = "";
    public string Events { get; init; } = "[]";
    public byte[] SecretNonce { get; init; } = [];
    public byte[] Secret { get; init; } = [];
    public long SecretKeyVersion { get; init; }
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? PreviousSecretUntil { get; init; }
    public byte[]? TargetNonce { get; init; }
    public byte[]? TargetSealed { get; init; }
    public long? TargetKeyVersion { get; init; }

    public StoredWebhook ToDomain() => new(Id, OrganizationId,
        TargetNonce is null || TargetSealed is null ? null : new SealedValue(TargetNonce, TargetSealed, (int)(TargetKeyVersion ?? 1)),
        Url.Length == 0 ? null : new WebhookTarget(new Uri(Url), Description.Length == 0 ? null : Description),
        JsonSerializer.Deserialize<string[]>(Events) ?? [], new SealedValue(SecretNonce, Secret, (int)SecretKeyVersion), Time.FromUnixMs(CreatedAt), CreatedBy,
        Time.FromUnixMs(PreviousSecretUntil));
}

internal sealed class DeliveryRow
{
    public string Id { get; init; } = "";
    public string WebhookId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string EventType { get; init; } = "";
    public string? Payload { get; init; }
    public string Status { get; init; } = "";
    public long Attempts { get; init; }
    public long CreatedAt { get; init; }
    public long? NextAttemptAt { get; init; }
    public long? CompletedAt { get; init; }

    public WebhookDelivery ToDomain() => new(Id, WebhookId, OrganizationId, EventType, Payload, DeliveryStatuses.Parse(Status), (int)Attempts,
        Time.FromUnixMs(CreatedAt), Time.FromUnixMs(NextAttemptAt), Time.FromUnixMs(CompletedAt));
}

internal sealed class DueDeliveryRow
{
    public string Id { get; init; } = "";
    public string WebhookId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string EventType { get; init; } = "";
    public string? Payload { get; init; }
    public byte[]? PayloadNonce { get; init; }
    public byte[]? PayloadSealed { get; init; }
    public long? PayloadKeyVersion { get; init; }
    public long Attempts { get; init; }
    public string Url { get; init; } = "";
    public byte[]? TargetNonce { get; init; }
    public byte[]? TargetSealed { get; init; }
    public long? TargetKeyVersion { get; init; }
    public byte[] SecretNonce { get; init; } = [];
    public byte[] Secret { get; init; } = [];
    public long SecretKeyVersion { get; init; }
    public byte[]? PreviousSecretNonce { get; init; }
    public byte[]? PreviousSecret { get; init; }
    public long? PreviousSecretKeyVersion { get; init; }

    public DueDelivery ToDomain() => new(Id, WebhookId, OrganizationId, EventType, Payload, (int)Attempts,
        TargetNonce is null || TargetSealed is null ? null : new SealedValue(TargetNonce, TargetSealed, (int)(TargetKeyVersion ?? 1)),
        Url.Length == 0 ? null : new Uri(Url),
        new SealedValue(SecretNonce, Secret, (int)SecretKeyVersion),
        PreviousSecretNonce is null || PreviousSecret is null ? null : new SealedValue(PreviousSecretNonce, PreviousSecret, (int)(PreviousSecretKeyVersion ?? 1)),
        PayloadNonce is null || PayloadSealed is null ? null : new SealedValue(PayloadNonce, PayloadSealed, (int)(PayloadKeyVersion ?? 1)));
}

internal sealed class AttemptRow
{
    public string DeliveryId { get; init; } = "";
    public long Attempt { get; init; }
    public long At { get; init; }
    public long? StatusCode { get; init; }
    public string? Error { get; init; }
    public long DurationMs { get; init; }

    public DeliveryAttempt ToDomain() => new(DeliveryId, (int)Attempt, Time.FromUnixMs(At), (int?)StatusCode, Error, DurationMs);
}
