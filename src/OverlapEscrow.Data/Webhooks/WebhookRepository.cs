using Dapper;

namespace OverlapEscrow.Data.Webhooks;

public sealed class WebhookRepository(IDbConnectionFactory db) : IWebhookRepository
{
    public async Task<bool> CreateAsync(WebhookRow webhook, int maxPerOrganization, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        // One statement: the count and the insert cannot interleave with another creation.
        var n = await connection.ExecuteAsync(
            """
            INSERT INTO webhooks (id, organization_id, url, description, events, secret_nonce, secret, created_at, created_by)
            SELECT @Id, @OrganizationId, @Url, @Description, @Events, @SecretNonce, @Secret, @CreatedAt, @CreatedBy
            WHERE (SELECT COUNT(*) FROM webhooks WHERE organization_id = @OrganizationId) < @maxPerOrganization
            """,
            new { webhook.Id, webhook.OrganizationId, webhook.Url, webhook.Description, webhook.Events, webhook.SecretNonce, webhook.Secret,
                  webhook.CreatedAt, webhook.CreatedBy, maxPerOrganization });
        return n == 1;
    }

    public async Task<IReadOnlyList<WebhookRow>> ListAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<WebhookRow>(
            "SELECT * FROM webhooks WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).AsList();
    }

    public async Task<WebhookRow?> GetAsync(string organizationId, string webhookId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<WebhookRow>(
            "SELECT * FROM webhooks WHERE id = @webhookId AND organization_id = @organizationId", new { organizationId, webhookId });
    }

    public async Task<bool> DeleteAsync(string organizationId, string webhookId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            "DELETE FROM webhooks WHERE id = @webhookId AND organization_id = @organizationId", new { organizationId, webhookId }) == 1;
    }

    public async Task EnqueueAsync(IReadOnlyList<DeliveryRow> deliveries, CancellationToken ct = default)
    {
        if (deliveries.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var d in deliveries)
            await connection.ExecuteAsync(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_type, payload, status, attempts, created_at, next_attempt_at)
                VALUES (@Id, @WebhookId, @OrganizationId, @EventType, @Payload, @Status, 0, @CreatedAt, @NextAttemptAt)
                """, d, tx);
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<DueDeliveryRow>> ClaimDueAsync(long now, long leaseUntil, string claimToken, int limit, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(
            """
            UPDATE webhook_deliveries SET lease_until = @leaseUntil, claim_token = @claimToken
            WHERE id IN (SELECT id FROM webhook_deliveries
                         WHERE status = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                         ORDER BY next_attempt_at, id LIMIT @limit)
            """, new { now, leaseUntil, claimToken, limit }, tx);
        var due = (await connection.QueryAsync<DueDeliveryRow>(
            """
            SELECT d.id, d.webhook_id, d.organization_id, d.event_type, d.payload, d.attempts, w.url, w.secret_nonce, w.secret
            FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            WHERE d.claim_token = @claimToken AND d.status = 'pending'
            ORDER BY d.next_attempt_at, d.id
            """, new { claimToken }, tx)).AsList();
        await tx.CommitAsync(ct);
        return due;
    }

    public async Task<bool> RecordAttemptAsync(AttemptRow attempt, string claimToken, DeliveryUpdate update, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var n = await connection.ExecuteAsync(
            """
            UPDATE webhook_deliveries
            SET attempts = @Attempt, status = @Status, next_attempt_at = @NextAttemptAt, completed_at = @CompletedAt,
                lease_until = NULL, claim_token = NULL,
                payload = CASE WHEN @Status = 'pending' THEN payload ELSE NULL END
            WHERE id = @DeliveryId AND claim_token = @claimToken AND status = 'pending'
            """,
            new { attempt.DeliveryId, attempt.Attempt, update.Status, update.NextAttemptAt, update.CompletedAt, claimToken }, tx);
        if (n != 1) return false;
        await connection.ExecuteAsync(
            """
            INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
            VALUES (@DeliveryId, @Attempt, @At, @StatusCode, @Error, @DurationMs)
            """, attempt, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<IReadOnlyList<DeliveryRow>> ListDeliveriesAsync(string organizationId, string webhookId, string? before, int limit, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        // Ids are time-ordered (UUID version 7), so id order is creation order.
        return (await connection.QueryAsync<DeliveryRow>(
            """
            SELECT id, webhook_id, organization_id, event_type, status, attempts, created_at, next_attempt_at, completed_at
            FROM webhook_deliveries
            WHERE webhook_id = @webhookId AND organization_id = @organizationId AND (@before IS NULL OR id < @before)
            ORDER BY id DESC LIMIT @limit
            """, new { organizationId, webhookId, before, limit })).AsList();
    }

    public async Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(IReadOnlyList<string> deliveryIds, CancellationToken ct = default)
    {
        if (deliveryIds.Count == 0) return [];
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<AttemptRow>(
            "SELECT * FROM webhook_attempts WHERE delivery_id IN @deliveryIds ORDER BY delivery_id, attempt",
            new { deliveryIds })).AsList();
    }
}
