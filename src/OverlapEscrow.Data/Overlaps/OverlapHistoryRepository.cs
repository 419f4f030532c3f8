using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Overlaps;

/// <summary>
/// History points per cell and viewing side. Each cell's latest point is also kept in overlap_history_heads, and an
/// append moves that head with a compare-and-set (or inserts it when the cell has none): two refreshers that saw the
/// same change cannot both append it, on any database. A cell's history is its points and its released counts-level
/// values (count_releases, written by the release step): listing, forgetting and deleting cells covers both.
/// </summary>
internal sealed class OverlapHistoryRepository(IDbScope scope) : IOverlapHistoryRepository
{
    private const string Columns = "id, partnership_id, organization_id, population_id, partner_population_id, at, level, count, partner_count";

    private const string Cell =
        "partnership_id = @partnershipId AND organization_id = @organizationId AND population_id = @populationId AND partner_population_id = @partnerPopulationId";

    private const string ReleaseCell =
        "partnership_id = @partnershipId AND viewer_organization_id = @organizationId AND viewer_population_id = @populationId " +
        "AND owner_population_id = @partnerPopulationId";

    public async Task<HistoryPoint?> GetLatestAsync(string partnershipId, string organizationId, string populationId, string partnerPopulationId,
        DateTimeOffset atOrBefore, bool withRecordIds, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var columns = withRecordIds ? Columns + ", record_ids_nonce, record_ids, record_ids_key_version" : Columns;
        return (await db.FirstOrDefaultAsync<OverlapPointRow>(
            $"SELECT {columns} FROM overlap_history WHERE {Cell} AND at <= @atOrBefore ORDER BY at DESC, id DESC LIMIT 1",
            new { partnershipId, organizationId, populationId, partnerPopulationId, atOrBefore = Time.ToUnixMs(atOrBefore) }))?.ToDomain();
    }

    public async Task<bool> AppendAsync(HistoryPoint point, DateTimeOffset keepRecordIdsFrom, string? expectedLatestId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var cell = new
        {
            partnershipId = point.PartnershipId, organizationId = point.OrganizationId, populationId = point.PopulationId,
            partnerPopulationId = point.PartnerPopulationId, keepRecordIdsFrom = Time.ToUnixMs(keepRecordIdsFrom), pointId = point.Id, expectedLatestId,
        };
        var moved = expectedLatestId is null
            ? await db.ExecuteAsync(
                """
                INSERT INTO overlap_history_heads (partnership_id, organization_id, population_id, partner_population_id, latest_point_id)
                VALUES (@partnershipId, @organizationId, @populationId, @partnerPopulationId, @pointId)
                ON CONFLICT DO NOTHING
                """, cell)
            : await db.ExecuteAsync($"UPDATE overlap_history_heads SET latest_point_id = @pointId WHERE {Cell} AND latest_point_id = @expectedLatestId", cell);
        if (moved != 1) return false;
        await db.ExecuteAsync(
            """
            INSERT INTO overlap_history (id, partnership_id, organization_id, population_id, partner_population_id, at, level, count, partner_count,
                                         record_ids_nonce, record_ids, record_ids_key_version)
            VALUES (@Id, @PartnershipId, @OrganizationId, @PopulationId, @PartnerPopulationId, @At, @Level, @Count, @PartnerCount,
                    @RecordIdsNonce, @RecordIds, @RecordIdsKeyVersion)
            """,
            new
            {
                point.Id, point.PartnershipId, point.OrganizationId, point.PopulationId, point.PartnerPopulationId, At = Time.ToUnixMs(point.At),
                Level = point.Level.ToString().ToLowerInvariant(), point.Count, point.PartnerCount,
                RecordIdsNonce = point.RecordIds?.Nonce, RecordIds = point.RecordIds?.Ciphertext, RecordIdsKeyVersion = point.RecordIds?.KeyVersion,
            });
        await db.ExecuteAsync(
            $"""
            UPDATE overlap_history SET record_ids = NULL, record_ids_nonce = NULL, record_ids_key_version = NULL
            WHERE {Cell} AND record_ids IS NOT NULL
              AND at < (SELECT MAX(at) FROM overlap_history WHERE {Cell} AND at <= @keepRecordIdsFrom)
            """, cell);
        await tx.CommitAsync();
        return true;
    }

    public async Task<IReadOnlyList<HistoryPoint>> ListAsync(string partnershipId, string organizationId, DateTimeOffset? from, DateTimeOffset to, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<OverlapPointRow>(
            $"""
            SELECT {Columns} FROM overlap_history h
            WHERE partnership_id = @partnershipId AND organization_id = @organizationId AND at <= @to
              AND (at >= @from OR at = (SELECT MAX(x.at) FROM overlap_history x
                                        WHERE x.partnership_id = h.partnership_id AND x.organization_id = h.organization_id
                                          AND x.population_id = h.population_id AND x.partner_population_id = h.partner_population_id
                                          AND x.at < @from))
            ORDER BY population_id, partner_population_id, at, id
            """, new { partnershipId, organizationId, from = from is { } f ? Time.ToUnixMs(f) : long.MinValue, to = Time.ToUnixMs(to) }))
            .Select(p => p.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<OverlapCellKey>> ListCellsAsync(string partnershipId, string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<(string PopulationId, string PartnerPopulationId)>(
            """
            SELECT population_id, partner_population_id FROM overlap_history_heads
            WHERE partnership_id = @partnershipId AND organization_id = @organizationId
            UNION
            SELECT viewer_population_id, owner_population_id FROM count_release_heads
            WHERE partnership_id = @partnershipId AND viewer_organization_id = @organizationId
            """, new { partnershipId, organizationId })).Select(c => new OverlapCellKey(c.PopulationId, c.PartnerPopulationId)).ToList();
    }

    public async Task DeleteCellsAsync(string partnershipId, string organizationId, IReadOnlyList<OverlapCellKey> cells, CancellationToken ct)
    {
        if (cells.Count == 0) return;
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        foreach (var c in cells)
        {
            var cell = new { partnershipId, organizationId, populationId = c.PopulationId, partnerPopulationId = c.PartnerPopulationId };
            await db.ExecuteAsync($"DELETE FROM overlap_history WHERE {Cell}", cell);
            await db.ExecuteAsync($"DELETE FROM overlap_history_heads WHERE {Cell}", cell);
            await db.ExecuteAsync($"DELETE FROM count_releases WHERE {ReleaseCell}", cell);
            await db.ExecuteAsync($"DELETE FROM count_release_heads WHERE {ReleaseCell}", cell);
        }
        await tx.CommitAsync();
    }

    public async Task DeletePartnershipAsync(string partnershipId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        await db.ExecuteAsync("DELETE FROM overlap_history WHERE partnership_id = @partnershipId", new { partnershipId });
        await db.ExecuteAsync("DELETE FROM overlap_history_heads WHERE partnership_id = @partnershipId", new { partnershipId });
        await db.ExecuteAsync("DELETE FROM count_releases WHERE partnership_id = @partnershipId", new { partnershipId });
        await db.ExecuteAsync("DELETE FROM count_release_heads WHERE partnership_id = @partnershipId", new { partnershipId });
        await tx.CommitAsync();
    }
}
