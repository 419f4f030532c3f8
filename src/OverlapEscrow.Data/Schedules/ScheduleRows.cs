namespace OverlapEscrow.Data.Schedules;

public static class ScheduleKinds
{
    public const string Pull = "pull";
    public const string Refresh = "refresh";
}

public static class RunTriggers
{
    public const string Schedule = "schedule";
    public const string Manual = "manual";
    public const string Push = "push";
}

public static class RunStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

public sealed class ScheduleRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public string Cron { get; init; } = "";
    public string TimeZone { get; init; } = "";
    public bool Enabled { get; init; }
    public string Kind { get; init; } = "";
    public string? PopulationId { get; init; }
    public string? Format { get; init; }
    public string? OnError { get; init; }
    public string? SourceUrl { get; init; }
    public string? SecretHeaderName { get; init; }
    public byte[]? SecretNonce { get; init; }
    public byte[]? SecretValue { get; init; }
    public string? SourceDirectory { get; init; }
    public string? SourcePattern { get; init; }
    public long? NextRunAt { get; init; }
    public string? NextRunWall { get; init; }
    public string? LastRunId { get; init; }
    public string? LastRunStatus { get; init; }
    public long? LastRunAt { get; init; }
    public string? LeaseOwner { get; init; }
    public long? LeaseUntil { get; init; }
    public string CreatedBy { get; init; } = "";
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
}

/// <summary>One attempt of a run. <see cref="RetryOf"/> names the first attempt of the run it retries.</summary>
public sealed class SyncRunRow
{
    public long Seq { get; init; }
    public string Id { get; init; } = "";
    public string ScheduleId { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string TriggerType { get; init; } = "";
    public int Attempt { get; init; }
    public string? RetryOf { get; init; }
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public long? StartedAt { get; init; }
    public long? FinishedAt { get; init; }
    public long RowsRead { get; init; }
    public long RecordsApplied { get; init; }
    public long RowsRejected { get; init; }
    public string? ErrorTitle { get; init; }
    public string? ErrorDetail { get; init; }
}

/// <summary>How an attempt ended.</summary>
public sealed record RunCompletion(string Status, long FinishedAt, long RowsRead, long RecordsApplied, long RowsRejected, string? ErrorTitle, string? ErrorDetail);

/// <summary>
/// Moves a schedule past the occurrence being claimed: only if its next run is still <see cref="ExpectedNextRunAt"/>
/// (a compare-and-set, so two instances cannot both claim one occurrence).
/// </summary>
public sealed record ScheduleAdvance(long ExpectedNextRunAt, long? NextRunAt, string? NextRunWall);

public enum ScheduleWriteOutcome { Done, NotFound, NameTaken, Running }
