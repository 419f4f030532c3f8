using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Data.Overlaps;

internal sealed class OverlapPointRow
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
    public long? RecordIdsKeyVersion { get; init; }

    public HistoryPoint ToDomain() => new(Id, PartnershipId, OrganizationId, PopulationId, PartnerPopulationId, Time.FromUnixMs(At),
        Enum.Parse<SharingLevel>(Level, ignoreCase: true), (int)Count, (int)PartnerCount,
        RecordIds is null || RecordIdsNonce is null ? null : new SealedValue(RecordIdsNonce, RecordIds, (int)(RecordIdsKeyVersion ?? 1)));
}
