using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Organizations;

/// <summary>
/// Deleting an organization's rows: the schema's ON DELETE CASCADE from organizations(id) reaches every table that
/// belongs to an organization; what does not cascade (audit views, tombstones, the partners' overrides) is handled here.
/// </summary>
internal sealed class OrganizationErasureRepository(IDbScope scope) : IOrganizationErasureStore
{
    public async Task<ErasureInventory> InventoryAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var read = await db.BeginReadAsync();
        var args = new { organizationId };
        var counts = await db.SingleAsync<CountsRow>(
            """
            SELECT
              (SELECT COUNT(*) FROM members WHERE organization_id = @organizationId) AS members,
              (SELECT COUNT(*) FROM api_keys WHERE organization_id = @organizationId) AS api_keys,
              (SELECT COUNT(*) FROM populations WHERE organization_id = @organizationId) AS populations,
              (SELECT COUNT(*) FROM overlap_history WHERE organization_id = @organizationId) AS history_points,
              (SELECT COUNT(*) FROM webhooks WHERE organization_id = @organizationId) AS webhooks,
              (SELECT COUNT(*) FROM schedules WHERE organization_id = @organizationId) AS schedules,
              (SELECT COUNT(*) FROM data_requests WHERE requester_organization_id = @organizationId OR owner_organization_id = @organizationId) AS data_requests,
              (SELECT COUNT(*) FROM attributions WHERE claimant_organization_id = @organizationId OR partner_organization_id = @organizationId) AS attributions,
              (SELECT COUNT(*) FROM webhook_deliveries WHERE organization_id = @organizationId AND status = 'pending') AS pending_webhook_deliveries
            """, args);
        var versions = await db.QueryAsync<VersionCountRow>(
            """
            SELECT v.id, v.record_count, (SELECT COUNT(*) FROM segments s WHERE s.version_id = v.id) AS segments,
                   (SELECT COUNT(*) FROM version_columns c WHERE c.version_id = v.id) AS column_parts
            FROM population_versions v JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId
            """, args);
        await read.CommitAsync();
        return new ErasureInventory((int)counts.Members, (int)counts.ApiKeys, (int)counts.Populations, versions.Count,
            versions.Sum(v => v.Segments), versions.Sum(v => v.RecordCount), (int)counts.HistoryPoints, (int)counts.Webhooks, (int)counts.Schedules,
            versions.Select(v => v.Id).ToList()) {
                DataRequests = (int)counts.DataRequests, Attributions = (int)counts.Attributions, PendingWebhookDeliveries = (int)counts.PendingWebhookDeliveries,
                ColumnParts = versions.Sum(v => v.ColumnParts),
            };
    }

    public async Task<int> TombstonePartnershipsAsync(string organizationId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new { organizationId, at = Time.ToUnixMs(at) };
        // The partners' overrides for these partnerships name populations that are about to go: they go too.
        await db.ExecuteAsync(
            """
            DELETE FROM sharing_rules WHERE partnership_id IN (
                SELECT id FROM partnerships WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)
            """, args);
        var kept = await db.ExecuteAsync(
            """
            INSERT INTO partnership_tombstones (id, inviter_organization_id, invitee_organization_id, deleted_organization_id, status_before,
                                                created_at, responded_at, terminated_at)
            SELECT id, inviter_organization_id, invitee_organization_id, @organizationId, status, created_at, responded_at, COALESCE(terminated_at, @at)
            FROM partnerships
            WHERE (inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)
            ON CONFLICT (id) DO NOTHING
            """, args);
        // A tombstone is kept for the side that is left; once that side goes too, nobody is left to read it.
        await db.ExecuteAsync(
            """
            DELETE FROM partnership_tombstones
            WHERE deleted_organization_id <> @organizationId
              AND (inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)
            """, args);
        await tx.CommitAsync();
        return kept;
    }

    public async Task LockOrganizationAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @organizationId{db.Dialect.ForUpdate}", new { organizationId });
    }

    public async Task<bool> DeleteOrganizationAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new { organizationId };
        // The organization's own audit chain goes (its events stay in the whole log, which is append-only); the chains
        // of its partners keep their entries about it.
        await db.ExecuteAsync("DELETE FROM audit_views WHERE organization_id = @organizationId", args);
        await db.ExecuteAsync("DELETE FROM audit_view_heads WHERE organization_id = @organizationId", args);
        await db.ExecuteAsync("DELETE FROM audit_checkpoints WHERE organization_id = @organizationId", args);
        var deleted = await db.ExecuteAsync("DELETE FROM organizations WHERE id = @organizationId", args);
        await tx.CommitAsync();
        return deleted == 1;
    }

    public async Task<IReadOnlyList<string>> ListOrganizationIdsAsync(CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.QueryAsync<string>("SELECT id FROM organizations ORDER BY id");
    }

    private sealed class CountsRow
    {
        public long Members { get; init; }
        public long ApiKeys { get; init; }
        public long Populations { get; init; }
        public long HistoryPoints { get; init; }
        public long Webhooks { get; init; }
        public long Schedules { get; init; }
        public long DataRequests { get; init; }
        public long Attributions { get; init; }
        public long PendingWebhookDeliveries { get; init; }
    }

    private sealed class VersionCountRow
    {
        public string Id { get; init; } = "";
        public long RecordCount { get; init; }
        public long Segments { get; init; }
        public long ColumnParts { get; init; }
    }
}
