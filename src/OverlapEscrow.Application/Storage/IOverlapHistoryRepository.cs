using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// One point of a cell's history as one side (the viewer) sees it. <see cref="Level"/> is the owner's sharing level
/// when it was recorded; <see cref="PartnerCount"/> only decides whether a counts-level point may be shown.
/// <see cref="RecordIds"/> is the viewer's own overlapping record ids, sealed under the viewer's data key; null when
/// not read, when the point was recorded below the overlaps level, or when cleared after the retention period.
/// </summary>
public sealed record HistoryPoint(
    string Id,
    string PartnershipId,
    string OrganizationId,
    string PopulationId,
    string PartnerPopulationId,
    DateTimeOffset At,
    SharingLevel Level,
    int Count,
    int PartnerCount,
    SealedValue? RecordIds);

/// <summary>A cell of a partnership as one organization sees it: its population and the partner's.</summary>
public sealed record OverlapCellKey(string PopulationId, string PartnerPopulationId);

/// <summary>
/// The overlap history of partnership cells, per viewing organization. Every method takes the viewer's organization
/// and matches it in the query: one side never reads the other side's points (which hold the other side's record ids).
/// </summary>
public interface IOverlapHistoryRepository
{
    /// <summary>The viewer's latest point of a cell at or before <paramref name="atOrBefore"/>; the sealed record ids only when asked for.</summary>
    Task<HistoryPoint?> GetLatestAsync(string partnershipId, string organizationId, string populationId, string partnerPopulationId,
        DateTimeOffset atOrBefore, bool withRecordIds, CancellationToken ct);

    /// <summary>
    /// Appends a point, and clears the sealed record ids of the cell's points older than <paramref name="keepRecordIdsFrom"/>
    /// except the latest of those (the baseline of a "new since" at the start of the retention period). Appends only
    /// if the cell's latest point is still <paramref name="expectedLatestId"/> (null: the cell has none), checked on the
    /// cell's locked head, so two refreshers that saw the same change record it once; returns whether it appended.
    /// </summary>
    Task<bool> AppendAsync(HistoryPoint point, DateTimeOffset keepRecordIdsFrom, string? expectedLatestId, CancellationToken ct);

    /// <summary>
    /// The viewer's points of every cell of the partnership between two times, with, per cell, the latest point
    /// before <paramref name="from"/> (the value in force at <paramref name="from"/>); without record ids; by cell and time.
    /// </summary>
    Task<IReadOnlyList<HistoryPoint>> ListAsync(string partnershipId, string organizationId, DateTimeOffset? from, DateTimeOffset to, CancellationToken ct);

    /// <summary>The cells of the partnership that have points or released counts-level values for the viewer.</summary>
    Task<IReadOnlyList<OverlapCellKey>> ListCellsAsync(string partnershipId, string organizationId, CancellationToken ct);

    /// <summary>Deletes the viewer's points and released counts-level values of the given cells (cells their owner hides now).</summary>
    Task DeleteCellsAsync(string partnershipId, string organizationId, IReadOnlyList<OverlapCellKey> cells, CancellationToken ct);

    /// <summary>Deletes every point and released counts-level value of the partnership, both sides (it was terminated).</summary>
    Task DeletePartnershipAsync(string partnershipId, CancellationToken ct);
}
