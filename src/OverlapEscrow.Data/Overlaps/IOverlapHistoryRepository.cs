namespace OverlapEscrow.Data.Overlaps;

/// <summary>
/// The overlap history of partnership cells, per viewing organization. Every method takes the viewer's organization
/// and matches it in SQL: one side never reads the other side's points (which hold the other side's record ids).
/// </summary>
public interface IOverlapHistoryRepository
{
    /// <summary>The viewer's latest point of a cell at or before <paramref name="atOrBefore"/>; the sealed record ids only when asked for.</summary>
    Task<OverlapPointRow?> GetLatestAsync(string partnershipId, string organizationId, string populationId, string partnerPopulationId,
        long atOrBefore, bool withRecordIds, CancellationToken ct = default);

    /// <summary>
    /// Appends a point, and clears the sealed record ids of the cell's points older than <paramref name="keepRecordIdsFrom"/>
    /// except the latest of those (the baseline of a "new since" at the start of the retention period). Appends only
    /// if the cell's latest point is still <paramref name="expectedLatestId"/> (null: the cell has none), so two
    /// refreshers that saw the same change record it once; returns whether it appended.
    /// </summary>
    Task<bool> AppendAsync(OverlapPointRow point, long keepRecordIdsFrom, string? expectedLatestId, CancellationToken ct = default);

    /// <summary>
    /// The viewer's points of every cell of the partnership between two times, with, per cell, the latest point
    /// before <paramref name="from"/> (the value in force at <paramref name="from"/>); without record ids; by cell and time.
    /// </summary>
    Task<IReadOnlyList<OverlapPointRow>> ListAsync(string partnershipId, string organizationId, long from, long to, CancellationToken ct = default);

    /// <summary>The cells of the partnership that have points for the viewer.</summary>
    Task<IReadOnlyList<OverlapCellKey>> ListCellsAsync(string partnershipId, string organizationId, CancellationToken ct = default);

    /// <summary>Deletes the viewer's points of the given cells (cells their owner hides now).</summary>
    Task DeleteCellsAsync(string partnershipId, string organizationId, IReadOnlyList<OverlapCellKey> cells, CancellationToken ct = default);

    /// <summary>Deletes every point of the partnership, both sides (it was terminated).</summary>
    Task DeletePartnershipAsync(string partnershipId, CancellationToken ct = default);
}
