using System.Text.Json;
using OverlapEscrow.Application.Events;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Data.Webhooks;

/// <summary>
/// Writes an event as one outbox row per webhook of the organization subscribed to its type, in the transaction of
/// the change that caused it. The body (the Standard Webhooks envelope) is fixed here and sent unchanged on every
/// attempt. An event whose organization has no subscribed webhook costs one indexed read.
/// </summary>
internal sealed class EventOutbox(IDbScope scope) : IEventOutbox
{
    public async Task<int> PublishAsync(string organizationId, string type, object payload, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var subscribed = (await db.QueryAsync<(string Id, string Events)>(
                "SELECT id, events FROM webhooks WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId }))
            .Where(w => (JsonSerializer.Deserialize<string[]>(w.Events) ?? []).Contains(type))
            .Select(w => w.Id)
            .ToList();
        if (subscribed.Count == 0) return 0;
        var body = new WebhookEnvelope(type, at, payload).Serialize();
        var now = Time.ToUnixMs(at);
        await using var tx = await db.BeginWriteAsync();
        foreach (var webhookId in subscribed)
            await db.ExecuteAsync(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_type, payload, status, attempts, created_at, next_attempt_at)
                VALUES (@id, @webhookId, @organizationId, @type, @body, 'pending', 0, @now, @now)
                """, new { id = Ids.New("msg"), webhookId, organizationId, type, body, now });
        await tx.CommitAsync();
        return subscribed.Count;
    }
}
