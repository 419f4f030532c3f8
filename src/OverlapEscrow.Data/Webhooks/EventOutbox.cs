using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Data.Webhooks;

/// <summary>
/// Writes an event as one outbox row per webhook of the organization subscribed to its type, in the transaction of
/// the change that caused it. The body (the Standard Webhooks envelope) is fixed by the publisher and stored only
/// sealed, per delivery id, under the receiving organization's key (payload_sealed; payload stays NULL): opened to be
/// sent unchanged on every attempt. An event whose organization has no subscribed webhook costs one indexed read.
/// </summary>
internal sealed class EventOutbox(IDbScope scope) : IEventOutbox
{
    public async Task<int> PublishAsync(string organizationId, string type, DateTimeOffset at, Func<string, CancellationToken, Task<SealedValue>> seal, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var subscribed = (await db.QueryAsync<(string Id, string Events)>(
                "SELECT id, events FROM webhooks WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId }))
            .Where(w => (JsonSerializer.Deserialize<string[]>(w.Events) ?? []).Contains(type))
            .Select(w => w.Id)
            .ToList();
        if (subscribed.Count == 0) return 0;
        var rows = new List<(string WebhookId, string Id, SealedValue Body)>();
        foreach (var webhookId in subscribed)
        {
            var id = Ids.New("msg");
            rows.Add((webhookId, id, await seal(id, ct)));
        }
        var now = Time.ToUnixMs(at);
        await using var tx = await db.BeginWriteAsync();
        if (db.Dialect == SqlDialect.Postgres)
        {
            // A webhook deleted since the read above would fail the deliveries' foreign key (a 500 for the change that
            // published): its row is held against deletion now (a delete under way is waited for, and then the row is
            // gone), and only the webhooks still there get the event.
            var there = (await db.QueryAsync<string>(
                $"SELECT id FROM webhooks WHERE {db.Dialect.In("id", "ids")} ORDER BY id FOR KEY SHARE", new { ids = subscribed.ToArray() })).ToHashSet(StringComparer.Ordinal);
            rows.RemoveAll(r => !there.Contains(r.WebhookId));
            if (rows.Count == 0) return 0;
        }
        foreach (var (webhookId, id, body) in rows)
            await db.ExecuteAsync(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_type, payload, payload_nonce, payload_sealed, payload_key_version,
                                                status, attempts, created_at, next_attempt_at)
                VALUES (@id, @webhookId, @organizationId, @type, NULL, @nonce, @sealed, @keyVersion, 'pending', 0, @now, @now)
                """, new { id, webhookId, organizationId, type, nonce = body.Nonce, @sealed = body.Ciphertext, keyVersion = body.KeyVersion, now });
        await tx.CommitAsync();
        return rows.Count;
    }
}
