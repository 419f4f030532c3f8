using System.Data.Common;
using Dapper;

namespace OverlapEscrow.Data.Populations;

public sealed class PopulationRepository(IDbConnectionFactory db) : IPopulationRepository
{
    private const string SummarySelect =
        """
        SELECT p.id, p.organization_id, p.name, p.type, p.created_at, p.current_version_id,
               v.record_count, v.committed_at
        FROM populations p LEFT JOIN population_versions v ON v.id = p.current_version_id
        """;

    private const string ChainCte =
        """
        WITH RECURSIVE chain(id, base) AS (
            SELECT id, base_version_id FROM population_versions WHERE id = @versionId
            UNION ALL
            SELECT v.id, v.base_version_id FROM population_versions v JOIN chain c ON v.id = c.base
        )
        """;

    public async Task<bool> CreateAsync(PopulationRow population, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var n = await connection.ExecuteAsync(
            """
            INSERT INTO populations (id, organization_id, name, type, created_at)
            VALUES (@Id, @OrganizationId, @Name, @Type, @CreatedAt)
            ON CONFLICT (organization_id, name) DO NOTHING
            """, population);
        return n == 1;
    }

    public async Task<IReadOnlyList<PopulationSummaryRow>> ListAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PopulationSummaryRow>(
            SummarySelect + " WHERE p.organization_id = @organizationId ORDER BY p.name, p.id", new { organizationId })).AsList();
    }

    public async Task<PopulationSummaryRow?> GetAsync(string organizationId, string populationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<PopulationSummaryRow>(
            SummarySelect + " WHERE p.id = @populationId AND p.organization_id = @organizationId",
            new { organizationId, populationId });
    }

    public async Task BeginVersionAsync(VersionRow pending, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO population_versions (id, population_id, kind, status, created_at, touched_at)
            VALUES (@Id, @PopulationId, @Kind, 'pending', @CreatedAt, @CreatedAt)
            """, pending);
    }

    public async Task<bool> TouchAsync(string versionId, long touchedAt, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            "UPDATE population_versions SET touched_at = @touchedAt WHERE id = @versionId AND status = 'pending'",
            new { versionId, touchedAt }) == 1;
    }

    public async Task<bool> AppendSegmentAsync(SegmentRow segment, long touchedAt, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var n = await connection.ExecuteAsync(
            """
            UPDATE population_versions
            SET segment_count = segment_count + 1, change_count = change_count + @RecordCount, touched_at = @touchedAt
            WHERE id = @VersionId AND status = 'pending'
            """, new { segment.VersionId, segment.RecordCount, touchedAt }, tx);
        if (n != 1) return false;
        await connection.ExecuteAsync(
            "INSERT INTO segments (version_id, seq, record_count, nonce, data) VALUES (@VersionId, @Seq, @RecordCount, @Nonce, @Data)",
            segment, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<VersionRow?> CommitAsync(string versionId, long recordCount, long committedAt, IdempotencyCompletion? idempotency,
        string? expectedCurrentVersionId = null, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (idempotency is not null)
        {
            // Only the upload still holding the key commits: a retry that took over an expired lease and finished
            // first has completed the key, and this upload then applies nothing (the key's promise: once).
            var held = await connection.ExecuteAsync(
                """
                UPDATE idempotency_keys SET status = 'completed', version_id = @versionId,
                       response_status = @StatusCode, response_body = @Body
                WHERE organization_id = @OrganizationId AND key = @Key AND status = 'in_progress' AND claim_token = @ClaimToken
                """, new { versionId, idempotency.Response.StatusCode, idempotency.Response.Body, idempotency.Hold.OrganizationId, idempotency.Hold.Key, idempotency.Hold.ClaimToken }, tx);
            if (held != 1) return null;
        }
        var version = await connection.QuerySingleOrDefaultAsync<VersionRow>(
            "SELECT * FROM population_versions WHERE id = @versionId AND status = 'pending'", new { versionId }, tx);
        if (version is null) return null;
        var currentId = await connection.ExecuteScalarAsync<string?>(
            "SELECT current_version_id FROM populations WHERE id = @PopulationId", new { version.PopulationId }, tx);
        if (expectedCurrentVersionId is not null && currentId != expectedCurrentVersionId) return null;

        string? baseId = null;
        long depth = 0;
        if (version.Kind == VersionKinds.Delta && currentId is not null)
        {
            baseId = currentId;
            depth = 1 + await connection.ExecuteScalarAsync<long>(
                "SELECT depth FROM population_versions WHERE id = @currentId", new { currentId }, tx);
        }
        await connection.ExecuteAsync(
            """
            UPDATE population_versions
            SET status = 'committed', base_version_id = @baseId, depth = @depth, record_count = @recordCount, committed_at = @committedAt
            WHERE id = @versionId
            """, new { versionId, baseId, depth, recordCount, committedAt }, tx);
        await connection.ExecuteAsync(
            "UPDATE populations SET current_version_id = @versionId WHERE id = @PopulationId",
            new { versionId, version.PopulationId }, tx);
        // Superseded versions go now: the data of a replaced snapshot or of deleted records is not kept around.
        await connection.ExecuteAsync(
            ChainCte + """
            DELETE FROM population_versions
            WHERE population_id = @PopulationId AND status = 'committed' AND id NOT IN (SELECT id FROM chain)
            """, new { versionId, version.PopulationId }, tx);
        await tx.CommitAsync(ct);
        return await connection.QuerySingleAsync<VersionRow>(
            "SELECT * FROM population_versions WHERE id = @versionId", new { versionId });
    }

    public async Task SetRecordCountAsync(string versionId, long recordCount, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            "UPDATE population_versions SET record_count = @recordCount WHERE id = @versionId", new { versionId, recordCount });
    }

    public async Task AbandonAsync(string versionId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            "DELETE FROM population_versions WHERE id = @versionId AND status = 'pending'", new { versionId });
    }

    public async Task<int> DeleteAbandonedAsync(long touchedBefore, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            "DELETE FROM population_versions WHERE status = 'pending' AND touched_at < @touchedBefore", new { touchedBefore });
    }

    public async Task<IReadOnlyList<VersionSegments>> ReadChainAsync(string versionId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        // One read transaction: a concurrent commit that deletes superseded versions cannot cut the chain halfway.
        // It is a deferred (snapshot) read, so it never holds the write lock that uploads need.
        await using var tx = await ReadTransaction.BeginAsync(connection, ct);
        var versions = (await connection.QueryAsync<VersionRow>(
            ChainCte + " SELECT * FROM population_versions WHERE id IN (SELECT id FROM chain) ORDER BY depth",
            new { versionId }, tx)).AsList();
        var result = new List<VersionSegments>(versions.Count);
        foreach (var version in versions)
        {
            var segments = await connection.QueryAsync<SegmentRow>(
                "SELECT * FROM segments WHERE version_id = @Id ORDER BY seq", new { version.Id }, tx);
            result.Add(new VersionSegments(version, segments.AsList()));
        }
        await tx.CommitAsync(ct);
        return result;
    }

    public async Task<IdempotencyClaim> ClaimIdempotencyKeyAsync(string organizationId, string key, string populationId, string mode,
        long now, long leaseUntil, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var existing = await connection.QuerySingleOrDefaultAsync<IdempotencyRow>(
            "SELECT * FROM idempotency_keys WHERE organization_id = @organizationId AND key = @key", new { organizationId, key }, tx);
        if (existing is not null)
        {
            if (existing.PopulationId != populationId || existing.Mode != mode) return new IdempotencyClaim(ClaimOutcome.Mismatch);
            if (existing.Status == "completed")
                return new IdempotencyClaim(ClaimOutcome.Completed, new IdempotentResponse((int)existing.ResponseStatus!, existing.ResponseBody!));
            if (existing.LeaseUntil > now) return new IdempotencyClaim(ClaimOutcome.InProgress);
        }
        var claimToken = Guid.NewGuid().ToString("N");
        await connection.ExecuteAsync(
            """
            INSERT INTO idempotency_keys (organization_id, key, population_id, mode, status, claim_token, lease_until, created_at)
            VALUES (@organizationId, @key, @populationId, @mode, 'in_progress', @claimToken, @leaseUntil, @now)
            ON CONFLICT (organization_id, key) DO UPDATE SET claim_token = @claimToken, lease_until = @leaseUntil
            """, new { organizationId, key, populationId, mode, claimToken, leaseUntil, now }, tx);
        await tx.CommitAsync(ct);
        return new IdempotencyClaim(ClaimOutcome.Claimed, ClaimToken: claimToken);
    }

    public async Task<bool> RenewIdempotencyLeaseAsync(IdempotencyHold hold, long leaseUntil, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteAsync(
            """
            UPDATE idempotency_keys SET lease_until = @leaseUntil
            WHERE organization_id = @OrganizationId AND key = @Key AND claim_token = @ClaimToken AND status = 'in_progress'
            """, new { hold.OrganizationId, hold.Key, hold.ClaimToken, leaseUntil }) == 1;
    }

    public async Task SetIdempotentResponseAsync(IdempotencyHold hold, IdempotentResponse response, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            """
            UPDATE idempotency_keys SET response_status = @StatusCode, response_body = @Body
            WHERE organization_id = @OrganizationId AND key = @Key AND claim_token = @ClaimToken AND status = 'completed'
            """, new { hold.OrganizationId, hold.Key, hold.ClaimToken, response.StatusCode, response.Body });
    }

    public async Task ReleaseIdempotencyKeyAsync(IdempotencyHold hold, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            """
            DELETE FROM idempotency_keys
            WHERE organization_id = @OrganizationId AND key = @Key AND claim_token = @ClaimToken AND status = 'in_progress'
            """, new { hold.OrganizationId, hold.Key, hold.ClaimToken });
    }

    private sealed class IdempotencyRow
    {
        public string PopulationId { get; init; } = "";
        public string Mode { get; init; } = "";
        public string Status { get; init; } = "";
        public long? ResponseStatus { get; init; }
        public string? ResponseBody { get; init; }
        public long LeaseUntil { get; init; }
    }
}
