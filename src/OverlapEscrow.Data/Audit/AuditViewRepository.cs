using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Audit;

/// <summary>Each organization's chain over the audit events it may read, and the signed checkpoints (see <see cref="IAuditViewStore"/>).</summary>
internal sealed class AuditViewRepository(IDbScope scope) : IAuditViewStore
{
    public async Task<long> ViewProgressAsync(CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ScalarAsync<long>("SELECT seq FROM audit_view_progress WHERE id = 1");
    }

    public async Task<IReadOnlyList<AuditEvent>> EventsAfterAsync(long seq, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AuditEventRow>("SELECT * FROM audit_events WHERE seq > @seq ORDER BY seq LIMIT @limit", new { seq, limit }))
            .Select(e => e.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<AuditEvent>> EventsAsync(IReadOnlyList<long> seqs, CancellationToken ct)
    {
        if (seqs.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AuditEventRow>($"SELECT * FROM audit_events WHERE {db.Dialect.In("seq", "seqs")} ORDER BY seq", new { seqs = seqs.ToArray() }))
            .Select(e => e.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<PartnershipSides>> PartnershipSidesAsync(IReadOnlyList<string> partnershipIds, CancellationToken ct)
    {
        if (partnershipIds.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<(string Id, string Inviter, string Invitee)>(
            $"""
            SELECT id, inviter_organization_id, invitee_organization_id FROM partnerships WHERE {db.Dialect.In("id", "partnershipIds")}
            UNION ALL
            SELECT id, inviter_organization_id, invitee_organization_id FROM partnership_tombstones WHERE {db.Dialect.In("id", "partnershipIds")}
            """, new { partnershipIds = partnershipIds.ToArray() })).Select(p => new PartnershipSides(p.Id, p.Inviter, p.Invitee)).ToList();
    }

    public async Task<IReadOnlyList<string>> ExistingOrganizationsAsync(IReadOnlyList<string> organizationIds, CancellationToken ct)
    {
        if (organizationIds.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        return await db.QueryAsync<string>($"SELECT id FROM organizations WHERE {db.Dialect.In("id", "organizationIds")}", new { organizationIds = organizationIds.ToArray() });
    }

    public async Task<IReadOnlyList<AuditViewHead>> HeadsAsync(IReadOnlyList<string> organizationIds, CancellationToken ct)
    {
        if (organizationIds.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<(string OrganizationId, long Position, byte[] Hash)>(
            $"SELECT organization_id, position, hash FROM audit_view_heads WHERE {db.Dialect.In("organization_id", "organizationIds")}", new { organizationIds = organizationIds.ToArray() }))
            .Select(h => new AuditViewHead(h.OrganizationId, h.Position, h.Hash)).ToList();
    }

    public async Task<bool> AppendViewsAsync(long expectedProgress, long newProgress, IReadOnlyList<AuditViewEntry> entries, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var progress = await db.ScalarAsync<long>($"SELECT seq FROM audit_view_progress WHERE id = 1{db.Dialect.ForUpdate}");
        if (progress != expectedProgress) return false;
        foreach (var e in entries)
        {
            await db.ExecuteAsync(
                """
                INSERT INTO audit_views (organization_id, position, seq, record, prev_hash, hash)
                VALUES (@OrganizationId, @Position, @Seq, @Record, @PrevHash, @Hash)
                """, e);
            await db.ExecuteAsync(
                """
                INSERT INTO audit_view_heads (organization_id, position, hash) VALUES (@OrganizationId, @Position, @Hash)
                ON CONFLICT (organization_id) DO UPDATE SET position = excluded.position, hash = excluded.hash
                """, e);
        }
        await db.ExecuteAsync("UPDATE audit_view_progress SET seq = @newProgress WHERE id = 1", new { newProgress });
        await tx.CommitAsync();
        return true;
    }

    public async Task<IReadOnlyList<AuditViewEntry>> ListViewAsync(string organizationId, long afterPosition, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<ViewRow>(
            "SELECT * FROM audit_views WHERE organization_id = @organizationId AND position > @afterPosition ORDER BY position LIMIT @limit",
            new { organizationId, afterPosition, limit })).Select(v => v.ToDomain()).ToList();
    }

    public async Task<AuditViewEntry?> GetViewEntryAsync(string organizationId, long position, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<ViewRow>(
            "SELECT * FROM audit_views WHERE organization_id = @organizationId AND position = @position", new { organizationId, position }))?.ToDomain();
    }

    public async Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            """
            INSERT INTO audit_checkpoints (organization_id, at, size, head, statement, signature, key_id)
            VALUES (@OrganizationId, @at, @Size, @Head, @Statement, @Signature, @KeyId)
            """,
            new
            {
                checkpoint.OrganizationId, at = Time.ToUnixMs(checkpoint.At), checkpoint.Size, checkpoint.Head,
                checkpoint.Signed.Statement, checkpoint.Signed.Signature, checkpoint.Signed.KeyId,
            });
    }

    public async Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(string? organizationId, long afterId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<CheckpointRow>(
            """
            SELECT * FROM audit_checkpoints
            WHERE (organization_id = @organizationId OR (@organizationId IS NULL AND organization_id IS NULL)) AND id > @afterId
            ORDER BY id LIMIT @limit
            """, new { organizationId, afterId, limit })).Select(c => c.ToDomain()).ToList();
    }

    public async Task<AuditCheckpoint?> LatestCheckpointAsync(string? organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<CheckpointRow>(
            """
            SELECT * FROM audit_checkpoints
            WHERE organization_id = @organizationId OR (@organizationId IS NULL AND organization_id IS NULL)
            ORDER BY id DESC LIMIT 1
            """, new { organizationId }))?.ToDomain();
    }

    private sealed class ViewRow
    {
        public string OrganizationId { get; init; } = "";
        public long Position { get; init; }
        public long Seq { get; init; }
        public string Record { get; init; } = "";
        public byte[] PrevHash { get; init; } = [];
        public byte[] Hash { get; init; } = [];

        public AuditViewEntry ToDomain() => new(OrganizationId, Position, Seq, Record, PrevHash, Hash);
    }

    private sealed class CheckpointRow
    {
        public long Id { get; init; }
        public string? OrganizationId { get; init; }
        public long At { get; init; }
        public long Size { get; init; }
        public byte[] Head { get; init; } = [];
        public string Statement { get; init; } = "";
        public string Signature { get; init; } = "";
        public string KeyId { get; init; } = "";

        public AuditCheckpoint ToDomain() => new(Id, OrganizationId, Time.FromUnixMs(At), Size, Head, new SignedStatement(Statement, Signature, KeyId));
    }
}
