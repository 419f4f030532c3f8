namespace OverlapEscrow.Data.Populations;

public class PopulationRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public string Type { get; init; } = "";
    public long CreatedAt { get; init; }
    public string? CurrentVersionId { get; init; }
}

/// <summary>A population with the figures of its current version (null ones when nothing is committed yet).</summary>
public sealed class PopulationSummaryRow : PopulationRow
{
    public long? RecordCount { get; init; }
    public long? CommittedAt { get; init; }
}

public static class VersionKinds
{
    public const string Snapshot = "snapshot";
    public const string Delta = "delta";
}

public static class VersionStatuses
{
    public const string Pending = "pending";
    public const string Committed = "committed";
}

public sealed class VersionRow
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
}

public sealed class SegmentRow
{
    public string VersionId { get; init; } = "";
    public long Seq { get; init; }
    public long RecordCount { get; init; }
    public byte[] Nonce { get; init; } = [];
    public byte[] Data { get; init; } = [];
}

/// <summary>A committed version with its encrypted segments, as read for materialization.</summary>
public sealed record VersionSegments(VersionRow Version, IReadOnlyList<SegmentRow> Segments);

/// <summary>The stored outcome of a completed upload, replayed for a retry with the same idempotency key.</summary>
public sealed record IdempotentResponse(int StatusCode, string Body);

public enum ClaimOutcome { Claimed, Completed, InProgress, Mismatch }

/// <summary>The result of claiming a key; <see cref="ClaimToken"/> identifies the holder when claimed.</summary>
public sealed record IdempotencyClaim(ClaimOutcome Outcome, IdempotentResponse? Response = null, string? ClaimToken = null);

/// <summary>A key held by one upload: the organization, the key, and the holder's claim token.</summary>
public sealed record IdempotencyHold(string OrganizationId, string Key, string ClaimToken);

public sealed record IdempotencyCompletion(IdempotencyHold Hold, IdempotentResponse Response);
