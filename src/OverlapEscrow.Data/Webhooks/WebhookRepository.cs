using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Webhooks;

internal sealed class WebhookRepository(IDbScope scope) : IWebhookRepository
{
    public async Task<bool> CreateAsync(StoredWebhook webhook, int maxPerOrganization, CancellationToken ct)
    {
        // Only a sealed target is written: plaintext URLs belong to rows older than sealing.
        var target = webhook.SealedTarget ?? throw new ArgumentException("A new webhook's target is sealed.", nameof(webhook));
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // The organization's row is locked first, so two creations cannot both pass the count.
        await db.ScalarAsync<string>($"SELECT id FROM organizations WHERE id = @OrganizationId{db.Dialect.ForNoKeyUpdate}", new { webhook.OrganizationId });
        var n = await db.ExecuteAsync(
            """
            INSERT INTO webhooks (id, organization_id, url, description, target_nonce, target_sealed, target_key_version, events,
                                  secret_nonce, secret, secret_key_version, created_at, created_by)
            SELECT @Id, @OrganizationId, '', '', @TargetNonce, @TargetSealed, @TargetKeyVersion, @Events,
                   @SecretNonce, @Secret, @SecretKeyVersion, @CreatedAt, @CreatedBy
            WHERE (SELECT COUNT(*) FROM webhooks WHERE organization_id = @OrganizationId) < @maxPerOrganization
            """,
            new
            {
                webhook.Id, webhook.OrganizationId,
                TargetNonce = target.Nonce, TargetSealed = target.Ciphertext, TargetKeyVersion = target.KeyVersion,
                Events = JsonSerializer.Serialize(webhook.Events), SecretNonce = webhook.Secret.Nonce, Secret = webhook.Secret.Ciphertext,
                SecretKeyVersion = webhook.Secret.KeyVersion, CreatedAt = Time.ToUnixMs(webhook.CreatedAt), webhook.CreatedBy, maxPerOrganization,
            });
        await tx.CommitAsync();
        return n == 1;
    }

    public async Task<IReadOnlyList<StoredWebhook>> ListAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<WebhookRow>(
            "SELECT * FROM webhooks WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).Select(w => w.ToDomain()).ToList();
    }

    public async Task<StoredWebhook?> GetAsync(string organizationId, string webhookId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<WebhookRow>(
            "SELECT * FROM webhooks WHERE id = @webhookId AND organization_id = @organizationId", new { organizationId, webhookId }))?.ToDomain();
    }

    public async Task<bool> RotateSecretAsync(string organizationId, string webhookId, SealedValue newSecret, DateTimeOffset previousUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // One statement: the current secret becomes the previous one as the new one takes its place.
        return await db.ExecuteAsync(
            """
            UPDATE webhooks
            SET previous_secret_nonce = secret_nonce, previous_secret = secret, previous_secret_key_version = secret_key_version,
                previous_secret_until = @previousUntil,
                secret_nonce = @Nonce, secret = @Ciphertext, secret_key_version = @KeyVersion
            WHERE id = @webhookId AND organization_id = @organizationId
            """,
            new { organizationId, webhookId, newSecret.Nonce, newSecret.Ciphertext, newSecret.KeyVersion, previousUntil = Time.ToUnixMs(previousUntil) }) == 1;
    }

    public async Task<bool> DeleteAsync(string organizationId, string webhookId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            "DELETE FROM webhooks WHERE id = @webhookId AND organization_id = @organizationId", new { organizationId, webhookId }) == 1;
    }

    public async Task<IReadOnlyList<DueDelivery>> ClaimDueAsync(DateTimeOffset now, DateTimeOffset leaseUntil, string claimToken, int limit, int perOrganization,
        CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new { now = Time.ToUnixMs(now), leaseUntil = Time.ToUnixMs(leaseUntil), claimToken, limit, perOrganization };
        // The due rows are picked (each organization's oldest, so one organization's backlog cannot fill the batch),
        // locked (skipping rows another worker is claiming: PostgreSQL locks no rows of a query with a window function,
        // hence the outer query, which checks the lease again once it holds the lock), then leased.
        const string Due = "status = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)";
        var ids = await db.QueryAsync<string>(
            $"""
            SELECT id FROM webhook_deliveries
            WHERE id IN (
                SELECT due.id FROM (
                    SELECT id, organization_id, next_attempt_at, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY next_attempt_at, id) AS organization_rank
                    FROM webhook_deliveries WHERE {Due}
                ) due
                -- Those of the organization other workers hold leased count too: the limit is the organization's, across
                -- instances. Counted once per organization (a count per due row was quadratic: with 50,000 deliveries
                -- pending behind a receiver that refused them, the claim outlived its 30 s timeout and nothing was sent).
                LEFT JOIN (SELECT organization_id, COUNT(*) AS leased FROM webhook_deliveries
                           WHERE status = 'pending' AND lease_until > @now GROUP BY organization_id) held
                  ON held.organization_id = due.organization_id
                WHERE due.organization_rank + COALESCE(held.leased, 0) <= @perOrganization
                ORDER BY due.next_attempt_at, due.id LIMIT @limit)
              AND {Due}
            ORDER BY next_attempt_at, id{db.Dialect.ForUpdateSkipLocked}
            """, args);
        if (ids.Count > 0)
            await db.ExecuteAsync(
                $"UPDATE webhook_deliveries SET lease_until = @leaseUntil, claim_token = @claimToken WHERE {db.Dialect.In("id", "ids")} AND status = 'pending'",
                new { args.leaseUntil, claimToken, ids });
        var due = await db.QueryAsync<DueDeliveryRow>(
            """
            SELECT d.id, d.webhook_id, d.organization_id, d.event_type, d.payload, d.payload_nonce, d.payload_sealed, d.payload_key_version, d.attempts,
                   w.url, w.target_nonce, w.target_sealed, w.target_key_version, w.secret_nonce, w.secret, w.secret_key_version,
                   CASE WHEN w.previous_secret_until > @now THEN w.previous_secret_nonce END AS previous_secret_nonce,
                   CASE WHEN w.previous_secret_until > @now THEN w.previous_secret END AS previous_secret,
                   w.previous_secret_key_version
            FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
            WHERE d.claim_token = @claimToken AND d.status = 'pending'
            ORDER BY d.next_attempt_at, d.id
            """, new { claimToken, args.now });
        await tx.CommitAsync();
        return due.Select(d => d.ToDomain()).ToList();
    }

    public async Task<bool> RenewLeaseAsync(string deliveryId, string claimToken, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            "UPDATE webhook_deliveries SET lease_until = @leaseUntil WHERE id = @deliveryId AND claim_token = @claimToken AND status = 'pending'",
            new { deliveryId, claimToken, leaseUntil = Time.ToUnixMs(leaseUntil) }) == 1;
    }

    public async Task<bool> RecordAttemptAsync(DeliveryAttempt attempt, string claimToken, DeliveryUpdate update, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var status = DeliveryStatuses.ToText(update.Status);
        var n = await db.ExecuteAsync(
            """
            UPDATE webhook_deliveries
            SET attempts = @Attempt, status = @status, next_attempt_at = @next, completed_at = @completed,
                lease_until = NULL, claim_token = NULL,
                payload = CASE WHEN @status = 'pending' THEN payload ELSE NULL END,
                payload_nonce = CASE WHEN @status = 'pending' THEN payload_nonce ELSE NULL END,
                payload_sealed = CASE WHEN @status = 'pending' THEN payload_sealed ELSE NULL END,
                payload_key_version = CASE WHEN @status = 'pending' THEN payload_key_version ELSE NULL END
            WHERE id = @DeliveryId AND claim_token = @claimToken AND status = 'pending'
            """,
            new { attempt.DeliveryId, attempt.Attempt, status, next = Time.ToUnixMs(update.NextAttemptAt), completed = Time.ToUnixMs(update.CompletedAt), claimToken });
        if (n != 1) return false;
        await db.ExecuteAsync(
            """
            INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
            VALUES (@DeliveryId, @Attempt, @At, @StatusCode, @Error, @DurationMs)
            """, new { attempt.DeliveryId, attempt.Attempt, At = Time.ToUnixMs(attempt.At), attempt.StatusCode, attempt.Error, attempt.DurationMs });
        await tx.CommitAsync();
        return true;
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ListDeliveriesAsync(string organizationId, string webhookId, string? before, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // Ids are time-ordered (UUID version 7), so id order is creation order.
        return (await db.QueryAsync<DeliveryRow>(
            """
            SELECT id, webhook_id, organization_id, event_type, status, attempts, created_at, next_attempt_at, completed_at
            FROM webhook_deliveries
            WHERE webhook_id = @webhookId AND organization_id = @organizationId AND (@before IS NULL OR id < @before)
            ORDER BY id DESC LIMIT @limit
            """, new { organizationId, webhookId, before, limit })).Select(d => d.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<DeliveryAttempt>> ListAttemptsAsync(IReadOnlyList<string> deliveryIds, CancellationToken ct)
    {
        if (deliveryIds.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AttemptRow>(
            $"SELECT * FROM webhook_attempts WHERE {db.Dialect.In("delivery_id", "deliveryIds")} ORDER BY delivery_id, attempt",
            new { deliveryIds = deliveryIds.ToArray() })).Select(a => a.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<UnsealedDelivery>> ListUnsealedAsync(string? afterId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<(string Id, string OrganizationId, string Payload)>(
            """
            SELECT id, organization_id, payload FROM webhook_deliveries
            WHERE status = 'pending' AND payload IS NOT NULL AND payload_sealed IS NULL AND id > @afterId
            ORDER BY id LIMIT @limit
            """, new { afterId = afterId ?? "", limit })).Select(r => new UnsealedDelivery(r.Id, r.OrganizationId, r.Payload)).ToList();
    }

    public async Task<bool> SealLegacyAsync(string deliveryId, string payload, SealedValue body, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE webhook_deliveries SET payload = NULL, payload_nonce = @nonce, payload_sealed = @sealed, payload_key_version = @keyVersion
            WHERE id = @deliveryId AND status = 'pending' AND payload = @payload AND payload_sealed IS NULL
            """, new { deliveryId, payload, nonce = body.Nonce, @sealed = body.Ciphertext, keyVersion = body.KeyVersion }) == 1;
    }

    public async Task<IReadOnlyList<UnsealedTarget>> ListUnsealedTargetsAsync(string? afterId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<(string Id, string OrganizationId, string Url, string Description)>(
            "SELECT id, organization_id, url, description FROM webhooks WHERE url <> '' AND target_sealed IS NULL AND id > @afterId ORDER BY id LIMIT @limit",
            new { afterId = afterId ?? "", limit }))
            .Select(w => new UnsealedTarget(w.Id, w.OrganizationId, w.Url, w.Description.Length == 0 ? null : w.Description)).ToList();
    }

    public async Task<bool> SealLegacyTargetAsync(string webhookId, string url, SealedValue target, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE webhooks SET url = '', description = '', target_nonce = @nonce, target_sealed = @sealed, target_key_version = @keyVersion
            WHERE id = @webhookId AND url = @url AND target_sealed IS NULL
            """, new { webhookId, url, nonce = target.Nonce, @sealed = target.Ciphertext, keyVersion = target.KeyVersion }) == 1;
    }
}
