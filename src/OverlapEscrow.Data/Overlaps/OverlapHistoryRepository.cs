using Dapper;

namespace OverlapEscrow.Data.Overlaps;

public sealed class OverlapHistoryRepository(IDbConnectionFactory db) : IOverlapHistoryRepository
{
    private const string Columns = "id, partnership_id, organization_id, population_id, partner_population_id, at, level, count, partner_count";

    private const string Cell =
        "partnership_id = @partnershipId AND organization_id = @organizationId AND population_id = @populationId AND partner_population_id = @partnerPopulationId";

    public async Task<OverlapPointRow?> GetLatestAsync(string partnershipId, string organizationId, string populationId, string partnerPopulationId,
        long atOrBefore, bool withRecordIds, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var columns = withRecordIds ? Columns + ", record_ids_nonce, record_ids" : Columns;
        return await connection.QueryFirstOrDefaultAsync<OverlapPointRow>(
            $"SELECT {columns} FROM overlap_history WHERE {Cell} AND at <= @atOrBefore ORDER BY at DESC, id DESC LIMIT 1",
            new { partnershipId, organizationId, populationId, partnerPopulationId, atOrBefore });
    }

    public async Task<bool> AppendAsync(OverlapPointRow point, long keepRecordIdsFrom, string? expectedLatestId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        // A write transaction: the check below and the insert cannot interleave with another appender's.
        await using var tx = await connection.BeginTransactionAsync(ct);
        var cell = new { partnershipId = point.PartnershipId, organizationId = point.OrganizationId, populationId = point.PopulationId,
            partnerPopulationId = point.PartnerPopulationId, keepRecordIdsFrom };
        var latestId = await connection.ExecuteScalarAsync<string?>(
            $"SELECT id FROM overlap_history WHERE {Cell} ORDER BY at DESC, id DESC LIMIT 1", cell, tx);
        if (latestId != expectedLatestId) return false;
        await connection.ExecuteAsync(
            """
            INSERT INTO overlap_history (id, partnership_id, organization_id, population_id, partner_population_id, at, level, count, partner_count, record_ids_nonce, record_ids)
            VALUES (@Id, @PartnershipId, @OrganizationId, @PopulationId, @PartnerPopulationId, @At, @Level, @Count, @PartnerCount, @RecordIdsNonce, @RecordIds)
            """, point, tx);
        await connection.ExecuteAsync(
            $"""
            UPDATE overlap_history SET record_ids = NULL, record_ids_nonce = NULL
            WHERE {Cell} AND record_ids IS NOT NULL
              AND at < (SELECT MAX(at) FROM overlap_history WHERE {Cell} AND at <= @keepRecordIdsFrom)
            """, cell, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<IReadOnlyList<OverlapPointRow>> ListAsync(string partnershipId, string organizationId, long from, long to, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<OverlapPointRow>(
            $"""
            SELECT {Columns} FROM overlap_history h
            WHERE partnership_id = @partnershipId AND organization_id = @organizationId AND at <= @to
              AND (at >= @from OR at = (SELECT MAX(x.at) FROM overlap_history x
                                        WHERE x.partnership_id = h.partnership_id AND x.organization_id = h.organization_id
                                          AND x.population_id = h.population_id AND x.partner_population_id = h.partner_population_id
                                          AND x.at < @from))
            ORDER BY population_id, partner_population_id, at, id
            """, new { partnershipId, organizationId, from, to })).AsList();
    }

    public async Task<IReadOnlyList<OverlapCellKey>> ListCellsAsync(string partnershipId, string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<(string PopulationId, string PartnerPopulationId)>(
            """
            SELECT DISTINCT population_id, partner_population_id FROM overlap_history
            WHERE partnership_id = @partnershipId AND organization_id = @organizationId
            """, new { partnershipId, organizationId })).Select(c => new OverlapCellKey(c.PopulationId, c.PartnerPopulationId)).ToList();
    }

    public async Task DeleteCellsAsync(string partnershipId, string organizationId, IReadOnlyList<OverlapCellKey> cells, CancellationToken ct = default)
    {
        if (cells.Count == 0) return;
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var c in cells)
            await connection.ExecuteAsync($"DELETE FROM overlap_history WHERE {Cell}",
                new { partnershipId, organizationId, populationId = c.PopulationId, partnerPopulationId = c.PartnerPopulationId }, tx);
        await tx.CommitAsync(ct);
    }

    public async Task DeletePartnershipAsync(string partnershipId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync("DELETE FROM overlap_history WHERE partnership_id = @partnershipId", new { partnershipId });
    }
}
