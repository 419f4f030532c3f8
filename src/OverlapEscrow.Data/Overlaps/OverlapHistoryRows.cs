namespace OverlapEscrow.Data.Overlaps;

/// <summary>
/// One point of a cell's history as one side (the viewer) sees it. <see cref="Level"/> is the owner's sharing level
/// when it was recorded; <see cref="PartnerCount"/> only decides whether a counts-level point may be shown.
/// <see cref="RecordIds"/> is the viewer's own overlapping record ids, sealed under the viewer's data key; null when
/// not read, when the point was recorded below the overlaps level, or when cleared after the retention period.
/// </summary>
public sealed class OverlapPointRow
{
    public string Id { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string PopulationId { get; init; } = "";
    public string PartnerPopulationId { get; init; } = "";
    public long At { get; init; }
    public string Level { get; init; } = "";
    public long Count { get; init; }
    public long PartnerCount { get; init; }
    public byte[]? RecordIdsNonce { get; init; }
    public byte[]? RecordIds { get; init; }
}

/// <summary>A cell of a partnership as one organization sees it: its population and the partner's.</summary>
public sealed record OverlapCellKey(string PopulationId, string PartnerPopulationId);
