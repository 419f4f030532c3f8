namespace OverlapEscrow.Domain.Populations;

public enum VersionKind { Snapshot, Delta }

public enum VersionStatus { Pending, Committed }

/// <summary>
/// One version of a population. A snapshot holds all records; a delta holds changes over its base, assigned at
/// commit (so concurrent deltas apply in commit order). Immutable once committed. <see cref="ChangeCount"/> is the
/// number of records written into it; <see cref="RecordCount"/> the records of the population at this version.
/// </summary>
public sealed record PopulationVersion(
    string Id,
    string PopulationId,
    VersionKind Kind,
    VersionStatus Status,
    string? BaseVersionId,
    int Depth,
    long SegmentCount,
    long ChangeCount,
    long RecordCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset TouchedAt,
    DateTimeOffset? CommittedAt);
