namespace OverlapEscrow.Data.Webhooks;

/// <summary>A webhook subscription; <see cref="Events"/> is a JSON array of event types, the secret is sealed.</summary>
public sealed class WebhookRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Url { get; init; } = "";
    public string Description { get; init; } = "";
    public string Events { get; init; } = "[]";
    public byte[] SecretNonce { get; init; } = [];
    public byte[] Secret { get; init; } = [];
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
}

public static class DeliveryStatuses
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

/// <summary>One event to deliver to one webhook (a row of the outbox).</summary>
public sealed class DeliveryRow
{
    public string Id { get; init; } = "";
    public string WebhookId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string EventType { get; init; } = "";
    public string? Payload { get; init; }
    public string Status { get; init; } = DeliveryStatuses.Pending;
    public long Attempts { get; init; }
    public long CreatedAt { get; init; }
    public long? NextAttemptAt { get; init; }
    public long? CompletedAt { get; init; }
}

/// <summary>A claimed delivery with what sending it needs: the webhook's URL and sealed secret.</summary>
public sealed class DueDeliveryRow
{
    public string Id { get; init; } = "";
    public string WebhookId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string EventType { get; init; } = "";
    public string Payload { get; init; } = "";
    public long Attempts { get; init; }
    public string Url { get; init; } = "";
    public byte[] SecretNonce { get; init; } = [];
    public byte[] Secret { get; init; } = [];
}

/// <summary>One attempt of a delivery: the response status code, or why there was none.</summary>
public sealed class AttemptRow
{
    public string DeliveryId { get; init; } = "";
    public long Attempt { get; init; }
    public long At { get; init; }
    public long? StatusCode { get; init; }
    public string? Error { get; init; }
    public long DurationMs { get; init; }
}

/// <summary>How an attempt leaves its delivery: still pending (with the next due time), delivered, or failed for good.</summary>
public sealed record DeliveryUpdate(string Status, long? NextAttemptAt, long? CompletedAt);
