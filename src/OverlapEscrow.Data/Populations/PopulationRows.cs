using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Data.Populations;

/// <summary>A population with the figures of its current version (null ones when nothing is committed yet).</summary>
internal sealed class PopulationSummaryRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public string Type { get; init; } = "";
    public long CreatedAt { get; init; }
    public string? CurrentVersionId { get; init; }
    public long? RecordCount { get; init; }
    public long? CommittedAt { get; init; }
    public long? HashingSpec { get; init; }

    public PopulationSummary ToDomain() =>
        new(Id, OrganizationId, Name, Type, Time.FromUnixMs(CreatedAt), CurrentVersionId, RecordCount ?? 0, Time.FromUnixMs(CommittedAt), (int?)HashingSpec);
}

internal static class VersionText
{
    public static string Of(VersionKind kind) => kind == VersionKind.Snapshot ? "snapshot" : "delta";
    public static VersionKind Kind(string text) => text == "snapshot" ? VersionKind.Snapshot : VersionKind.Delta;
}

internal sealed class VersionRow
{
    public string Id { get; init; } = "";
    public string PopulationId { get; init; } = "";
    public string Kind { get; init; } = "";
    public string Status { get; init; } = "";
    public string? BaseVersionId { get; init; }
    public long Depth { get; init; }
    public long SegmentCount { get; init; }
    public long ChangeCount { get; init; }
    public long RecordCount { get; init; }
    public long CreatedAt { get; init; }
    public long TouchedAt { get; init; }
    public long? CommittedAt { get; init; }
    public long HashingSpec { get; init; } = 1;

    public PopulationVersion ToDomain() => new(Id, PopulationId, VersionText.Kind(Kind),
        Status == "committed" ? VersionStatus.Committed : VersionStatus.Pending, BaseVersionId, (int)Depth, SegmentCount, ChangeCount, RecordCount,
        Time.FromUnixMs(CreatedAt), Time.FromUnixMs(TouchedAt), Time.FromUnixMs(CommittedAt));
}

internal sealed class SegmentRow
{
    public string VersionId { get; init; } = "";
    public long Seq { get; init; }
    public long RecordCount { get; init; }
    public byte[] Nonce { get; init; } = [];
    public byte[] Data { get; init; } = [];
    public long KeyVersion { get; init; }
}
