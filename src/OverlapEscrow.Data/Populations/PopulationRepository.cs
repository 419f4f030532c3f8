using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Data.Populations;

internal sealed class PopulationRepository(IDbScope scope) : IPopulationRepository
{
    private const string SummarySelect =
        """
        SELECT p.id, p.organization_id, p.name, p.type, p.created_at, p.current_version_id,
               v.record_count, v.committed_at, v.hashing_spec
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

    public async Task<bool> CreateAsync(PopulationSummary population, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            INSERT INTO populations (id, organization_id, name, type, created_at)
            VALUES (@Id, @OrganizationId, @Name, @Type, @CreatedAt)
            ON CONFLICT (organization_id, name) DO NOTHING
            """, new { population.Id, population.OrganizationId, population.Name, population.Type, CreatedAt = Time.ToUnixMs(population.CreatedAt) });
        return n == 1;
    }

    public async Task<IReadOnlyList<PopulationSummary>> ListAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<PopulationSummaryRow>(
            SummarySelect + " WHERE p.organization_id = @organizationId ORDER BY p.name, p.id", new { organizationId })).Select(p => p.ToDomain()).ToList();
    }

    public async Task<(IReadOnlyList<PopulationSummary> First, IReadOnlyList<PopulationSummary> Second)> ListBothAsync(string firstOrganizationId,
        string secondOrganizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // Two named parameters rather than a list: the same SQL text on every call, so a kept connection runs its compiled
        // statement (a list is expanded by Dapper per call).
        var rows = await db.QueryAsync<PopulationSummaryRow>(
            SummarySelect + " WHERE p.organization_id IN (@firstOrganizationId, @secondOrganizationId) ORDER BY p.name, p.id",
            new { firstOrganizationId, secondOrganizationId });
        return (rows.Where(r => r.OrganizationId == firstOrganizationId).Select(r => r.ToDomain()).ToList(),
            rows.Where(r => r.OrganizationId == secondOrganizationId).Select(r => r.ToDomain()).ToList());
    }

    public async Task<PopulationSummary?> GetAsync(string organizationId, string populationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<PopulationSummaryRow>(
            SummarySelect + " WHERE p.id = @populationId AND p.organization_id = @organizationId", new { organizationId, populationId }))?.ToDomain();
    }

    public async Task BeginVersionAsync(string versionId, string populationId, VersionKind kind, DateTimeOffset at, CancellationToken ct,
        int hashingSpec = HashingSpecs.Oldest)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            """
            INSERT INTO population_versions (id, population_id, kind, status, created_at, touched_at, hashing_spec)
            VALUES (@versionId, @populationId, @kind, 'pending', @at, @at, @hashingSpec)
            """, new { versionId, populationId, kind = VersionText.Of(kind), at = Time.ToUnixMs(at), hashingSpec });
    }

    public async Task RecordTokenKeysAsync(string versionId, IReadOnlyList<int> tokenKeyVersions, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("UPDATE population_versions SET token_keys = @keys WHERE id = @versionId",
            new { versionId, keys = string.Join(' ', tokenKeyVersions.Order()) });
    }

    public async Task<IReadOnlyList<int>> TokenKeysOfChainAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var lists = await db.QueryAsync<string?>(
            ChainCte + " SELECT token_keys FROM population_versions WHERE id IN (SELECT id FROM chain)", new { versionId });
        IEnumerable<int>? common = null;
        foreach (var list in lists)
        {
            var keys = ParseTokenKeys(list);
            common = common is null ? keys : common.Intersect(keys);
        }
        return (common ?? []).Order().ToList();
    }

    public async Task<IReadOnlyList<(string OrganizationId, string PopulationId)>> PopulationsNotKeyedUnderAsync(int tokenKeyVersion, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<(string OrganizationId, string PopulationId, string VersionId)>(
            "SELECT organization_id, id, current_version_id FROM populations WHERE current_version_id IS NOT NULL ORDER BY organization_id, id");
        var missing = new List<(string, string)>();
        foreach (var (organizationId, populationId, versionId) in rows)
        {
            var lists = await db.QueryAsync<string?>(
                ChainCte + " SELECT token_keys FROM population_versions WHERE id IN (SELECT id FROM chain)", new { versionId });
            if (lists.Any(l => !ParseTokenKeys(l).Contains(tokenKeyVersion))) missing.Add((organizationId, populationId));
        }
        return missing;
    }

    /// <summary>A version's token keys; NULL is "1", the only key before token-key versions existed.</summary>
    private static int[] ParseTokenKeys(string? list) =>
        list is null ? [1] : list.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(k => int.Parse(k, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public async Task<bool> TouchAsync(string versionId, DateTimeOffset touchedAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            "UPDATE population_versions SET touched_at = @touchedAt WHERE id = @versionId AND status = 'pending'",
            new { versionId, touchedAt = Time.ToUnixMs(touchedAt) }) == 1;
    }

    public Task<bool> AppendSegmentAsync(Segment segment, DateTimeOffset touchedAt, CancellationToken ct) =>
        AppendSegmentAsync(segment.VersionId, segment.Seq, segment.RecordCount, segment.Data, touchedAt, ct);

    public Task<bool> AppendSegmentAsync(string versionId, long seq, int recordCount, SealedMemory data, DateTimeOffset touchedAt, CancellationToken ct) =>
        AppendSegmentsAsync(versionId, [new PendingSegment(seq, recordCount, data)], touchedAt, ct);

    public async Task<bool> AppendSegmentsAsync(string versionId, IReadOnlyList<PendingSegment> segments, DateTimeOffset touchedAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var n = await db.ExecuteAsync(
            """
            UPDATE population_versions
            SET segment_count = segment_count + @segments, change_count = change_count + @records, touched_at = @touchedAt
            WHERE id = @versionId AND status = 'pending'
            """, new { versionId, segments = (long)segments.Count, records = segments.Sum(s => (long)s.RecordCount), touchedAt = Time.ToUnixMs(touchedAt) });
        if (n != 1) return false;
        // The sealed bytes go in from the caller's buffers (an upload reuses them for its next segments), not from arrays of their own.
        foreach (var (seq, recordCount, data) in segments)
            await db.ExecuteWithBlobAsync(
                "INSERT INTO segments (version_id, seq, record_count, nonce, data, key_version) VALUES (@versionId, @seq, @recordCount, @nonce, @data, @keyVersion)",
                [("versionId", versionId), ("seq", seq), ("recordCount", recordCount), ("nonce", data.Nonce), ("keyVersion", data.KeyVersion)], "data", data.Ciphertext);
        await tx.CommitAsync();
        return true;
    }

    public async Task<PopulationVersion?> CommitAsync(string versionId, long recordCount, DateTimeOffset committedAt, IdempotencyCompletion? idempotency,
        string? expectedCurrentVersionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (idempotency is not null)
        {
            // Only the upload still holding the key commits: a retry that took over an expired lease and finished
            // first has completed the key, and this upload then applies nothing (the key's promise: once).
            var held = await db.ExecuteAsync(
                """
                UPDATE idempotency_keys SET status = 'completed', version_id = @versionId,
                       response_status = @StatusCode, response_body = @Body
                WHERE organization_id = @OrganizationId AND key = @Key AND status = 'in_progress' AND claim_token = @ClaimToken
                """, new { versionId, idempotency.Response.StatusCode, idempotency.Response.Body, idempotency.Hold.OrganizationId, idempotency.Hold.Key, idempotency.Hold.ClaimToken });
            if (held != 1) return null;
        }
        // The version's row is locked while it is made current, so a sweep of abandoned uploads cannot delete it between
        // this check and the commit (its delete waits for this lock; neither lock here keeps a foreign-key check waiting).
        var version = await db.FirstOrDefaultAsync<VersionRow>(
            $"SELECT * FROM population_versions WHERE id = @versionId AND status = 'pending'{db.Dialect.ForNoKeyUpdate}", new { versionId });
        if (version is null) return null;
        // The population's row is locked: two commits of one population (two deltas on the same base, say) take turns,
        // and the second reads the current version the first set. Only to take turns: a refresh that inserts rows
        // referencing the population (releases, history points) while holding the audit's head, which this commit's
        // audit event then waits for, must not wait for this lock in turn (a deadlock on PostgreSQL).
        var currentId = await db.ScalarAsync<string?>(
            $"SELECT current_version_id FROM populations WHERE id = @PopulationId{db.Dialect.ForNoKeyUpdate}", new { version.PopulationId });
        if (expectedCurrentVersionId is not null && currentId != expectedCurrentVersionId) return null;

        string? baseId = null;
        long depth = 0;
        var hashingSpec = (int)version.HashingSpec;
        if (version.Kind == "delta" && currentId is not null)
        {
            baseId = currentId;
            var onBase = await db.SingleAsync<(long Depth, long HashingSpec)>(
                "SELECT depth, hashing_spec FROM population_versions WHERE id = @currentId", new { currentId });
            depth = 1 + onBase.Depth;
            hashingSpec = HashingSpecs.Layered(hashingSpec, (int)onBase.HashingSpec);
        }
        var committedRows = await db.ExecuteAsync(
            """
            UPDATE population_versions
            SET status = 'committed', base_version_id = @baseId, depth = @depth, record_count = @recordCount, committed_at = @committedAt,
                hashing_spec = @hashingSpec
            WHERE id = @versionId AND status = 'pending'
            """, new { versionId, baseId, depth, recordCount, committedAt = Time.ToUnixMs(committedAt), hashingSpec });
        if (committedRows != 1) return null;
        await db.ExecuteAsync("UPDATE populations SET current_version_id = @versionId WHERE id = @PopulationId", new { versionId, version.PopulationId });
        // Superseded versions go now: the data of a replaced snapshot or of deleted records is not kept around.
        await db.ExecuteAsync(
            ChainCte + """
            DELETE FROM population_versions
            WHERE population_id = @PopulationId AND status = 'committed' AND id NOT IN (SELECT id FROM chain)
            """, new { versionId, version.PopulationId });
        var committed = await db.SingleAsync<VersionRow>("SELECT * FROM population_versions WHERE id = @versionId", new { versionId });
        await tx.CommitAsync();
        return committed.ToDomain();
    }

    public async Task SetRecordCountAsync(string versionId, long recordCount, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("UPDATE population_versions SET record_count = @recordCount WHERE id = @versionId", new { versionId, recordCount });
    }

    public async Task AbandonAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("DELETE FROM population_versions WHERE id = @versionId AND status = 'pending'", new { versionId });
    }

    public async Task<int> DeleteAbandonedAsync(DateTimeOffset touchedBefore, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            "DELETE FROM population_versions WHERE status = 'pending' AND touched_at < @touchedBefore", new { touchedBefore = Time.ToUnixMs(touchedBefore) });
    }

    public async Task<IReadOnlyList<VersionSegments>> ReadChainAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // One snapshot read: a concurrent commit that deletes superseded versions cannot cut the chain halfway, and
        // the read never holds the write lock that uploads need.
        await using var read = await db.BeginReadAsync();
        var versions = await db.QueryAsync<VersionRow>(
            ChainCte + " SELECT * FROM population_versions WHERE id IN (SELECT id FROM chain) ORDER BY depth", new { versionId });
        var result = new List<VersionSegments>(versions.Count);
        foreach (var version in versions)
        {
            var segments = await db.QueryAsync<SegmentRow>("SELECT * FROM segments WHERE version_id = @Id ORDER BY seq", new { version.Id });
            result.Add(new VersionSegments(version.ToDomain(),
                segments.Select(s => new Segment(s.VersionId, s.Seq, (int)s.RecordCount, new SealedValue(s.Nonce, s.Data, (int)s.KeyVersion))).ToList()));
        }
        await read.CommitAsync();
        return result;
    }

    public async Task<PopulationVersion?> GetVersionAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<VersionRow>("SELECT * FROM population_versions WHERE id = @versionId", new { versionId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<Segment>> ReadSegmentsAsync(string versionId, long fromSeq, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var segments = await db.QueryAsync<SegmentRow>(
            "SELECT * FROM segments WHERE version_id = @versionId AND seq >= @fromSeq ORDER BY seq LIMIT @limit", new { versionId, fromSeq, limit });
        return segments.Select(s => new Segment(s.VersionId, s.Seq, (int)s.RecordCount, new SealedValue(s.Nonce, s.Data, (int)s.KeyVersion))).ToList();
    }

    public async Task<IdempotencyClaim> ClaimIdempotencyKeyAsync(string organizationId, string key, string populationId, VersionKind mode,
        DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = new
        {
            organizationId, key, populationId, mode = VersionText.Of(mode), claimToken = Guid.NewGuid().ToString("N"),
            now = Time.ToUnixMs(now), leaseUntil = Time.ToUnixMs(leaseUntil),
        };
        // The key's row is locked while it is judged, so two claims of one key cannot both take it.
        var existing = await db.FirstOrDefaultAsync<IdempotencyRow>(
            $"SELECT * FROM idempotency_keys WHERE organization_id = @organizationId AND key = @key{db.Dialect.ForUpdate}", args);
        if (existing is null)
        {
            var inserted = await db.ExecuteAsync(
                """
                INSERT INTO idempotency_keys (organization_id, key, population_id, mode, status, claim_token, lease_until, created_at)
                VALUES (@organizationId, @key, @populationId, @mode, 'in_progress', @claimToken, @leaseUntil, @now)
                ON CONFLICT (organization_id, key) DO NOTHING
                """, args);
            // Another claim inserted the key first (its transaction committed meanwhile): that upload holds it.
            if (inserted != 1) return new IdempotencyClaim(ClaimOutcome.InProgress);
        }
        else
        {
            if (existing.PopulationId != populationId || existing.Mode != args.mode) return new IdempotencyClaim(ClaimOutcome.Mismatch);
            if (existing.Status == "completed")
                return new IdempotencyClaim(ClaimOutcome.Completed, new IdempotentResponse((int)existing.ResponseStatus!, existing.ResponseBody!));
            if (existing.LeaseUntil > args.now) return new IdempotencyClaim(ClaimOutcome.InProgress);
            await db.ExecuteAsync(
                "UPDATE idempotency_keys SET claim_token = @claimToken, lease_until = @leaseUntil WHERE organization_id = @organizationId AND key = @key",
                args);
        }
        await tx.CommitAsync();
        return new IdempotencyClaim(ClaimOutcome.Claimed, ClaimToken: args.claimToken);
    }

    public async Task<bool> RenewIdempotencyLeaseAsync(IdempotencyHold hold, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE idempotency_keys SET lease_until = @leaseUntil
            WHERE organization_id = @OrganizationId AND key = @Key AND claim_token = @ClaimToken AND status = 'in_progress'
            """, new { hold.OrganizationId, hold.Key, hold.ClaimToken, leaseUntil = Time.ToUnixMs(leaseUntil) }) == 1;
    }

    public async Task SetIdempotentResponseAsync(IdempotencyHold hold, IdempotentResponse response, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            """
            UPDATE idempotency_keys SET response_status = @StatusCode, response_body = @Body
            WHERE organization_id = @OrganizationId AND key = @Key AND claim_token = @ClaimToken AND status = 'completed'
            """, new { hold.OrganizationId, hold.Key, hold.ClaimToken, response.StatusCode, response.Body });
    }

    public async Task ReleaseIdempotencyKeyAsync(IdempotencyHold hold, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
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
