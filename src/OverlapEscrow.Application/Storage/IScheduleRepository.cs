using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Storage;

public enum ScheduleKind { Pull, Refresh }

public enum RunTrigger { Schedule, Manual, Push }

public enum RunStatus { Queued, Running, Succeeded, Failed }

/// <summary>
/// A sync schedule: when (cron in a time zone) and what (pull a snapshot into a population, or refresh overlaps).
/// A pull reads a URL (with an optional secret header, its value sealed under the organization's data key) or the
/// newest file matching a pattern in an allowed directory. <see cref="NextRunWall"/> is the next occurrence's
/// wall-clock time in the zone; the lease says which instance runs it now. A pull's runs are recorded under
/// <see cref="HashingSpec"/>, the hashing specification version its source is hashed under. A source URL is stored
/// sealed under the organization's data key (<see cref="SealedSourceUrl"/>); <see cref="SourceUrl"/> holds it once
/// opened (SyncSchedules opens it for its organization), or as stored for a row written before URLs were sealed.
/// </summary>
public sealed record Schedule(
    string Id,
    string OrganizationId,
    string Name,
    string Cron,
    string TimeZone,
    bool Enabled,
    ScheduleKind Kind,
    string? PopulationId,
    string? Format,
    string? OnError,
    string? SourceUrl,
    string? SecretHeaderName,
    SealedValue? SecretValue,
    string? SourceDirectory,
    string? SourcePattern,
    DateTimeOffset? NextRunAt,
    string? NextRunWall,
    string? LastRunId,
    RunStatus? LastRunStatus,
    DateTimeOffset? LastRunAt,
    string? LeaseOwner,
    DateTimeOffset? LeaseUntil,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int HashingSpec = 1,
    SealedValue? SealedSourceUrl = null);

/// <summary>One attempt of a run. <see cref="RetryOf"/> names the first attempt of the run it retries.</summary>
public sealed record SyncRun(
    string Id,
    string ScheduleId,
    string OrganizationId,
    RunTrigger Trigger,
    int Attempt,
    string? RetryOf,
    RunStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    long RowsRead,
    long RecordsApplied,
    long RowsRejected,
    string? ErrorTitle,
    string? ErrorDetail);

/// <summary>How an attempt ended.</summary>
public sealed record RunCompletion(RunStatus Status, DateTimeOffset FinishedAt, long RowsRead, long RecordsApplied, long RowsRejected, string? ErrorTitle, string? ErrorDetail);

/// <summary>
/// Moves a schedule past the occurrence being claimed: only if its next run is still <see cref="ExpectedNextRunAt"/>
/// (a compare-and-set, so two instances cannot both claim one occurrence).
/// </summary>
public sealed record ScheduleAdvance(DateTimeOffset ExpectedNextRunAt, DateTimeOffset? NextRunAt, string? NextRunWall);

public enum ScheduleWriteOutcome { Done, NotFound, NameTaken, Running, TooMany }

/// <summary>
/// Sync schedules and their run history. Every method a request can steer by id takes the caller's organization
/// and matches it in the query, so another tenant's id finds nothing (handlers answer 404). The methods marked
/// "runner" work across organizations: only the background runner calls them, never with a caller's input.
/// </summary>
public interface IScheduleRepository
{
    /// <summary>
    /// Adds a schedule: <see cref="ScheduleWriteOutcome.NameTaken"/> when the organization already has one of that name,
    /// <see cref="ScheduleWriteOutcome.TooMany"/> when it already has <paramref name="maxPerOrganization"/>.
    /// </summary>
    Task<ScheduleWriteOutcome> CreateAsync(Schedule schedule, int maxPerOrganization, CancellationToken ct);
    Task<IReadOnlyList<Schedule>> ListAsync(string organizationId, CancellationToken ct);
    Task<Schedule?> GetAsync(string organizationId, string scheduleId, CancellationToken ct);

    /// <summary>
    /// Replaces the definition (name, timing, action, source, secret, next run) of the organization's schedule;
    /// run history, last run and lease are kept.
    /// </summary>
    Task<ScheduleWriteOutcome> UpdateAsync(Schedule schedule, CancellationToken ct);

    /// <summary>Deletes the schedule with its history, unless a run holds its lease now (<see cref="ScheduleWriteOutcome.Running"/>).</summary>
    Task<ScheduleWriteOutcome> DeleteAsync(string organizationId, string scheduleId, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Runner: schedules whose lease is free and that are due (enabled, next run not after now) or have a queued run,
    /// soonest first, at most <paramref name="perOrganization"/> of one organization's (so that one organization's
    /// many due schedules cannot fill the list and hide the others').
    /// </summary>
    Task<IReadOnlyList<Schedule>> ListRunnableAsync(DateTimeOffset now, int limit, int perOrganization, CancellationToken ct);

    /// <summary>Runner: a schedule by id, whatever its organization.</summary>
    Task<Schedule?> FindAsync(string scheduleId, CancellationToken ct);

    /// <summary>
    /// Takes the schedule's lease for <paramref name="owner"/> until <paramref name="leaseUntil"/>, with one
    /// conditional update: only when no lease is held or the holder's has expired. With <paramref name="advance"/>,
    /// also moves the next run on, and only if the next run is still the expected one. True when taken.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string scheduleId, string owner, DateTimeOffset now, DateTimeOffset leaseUntil, ScheduleAdvance? advance, CancellationToken ct);

    /// <summary>Extends a lease its owner still holds; false when another instance has taken it meanwhile.</summary>
    Task<bool> RenewLeaseAsync(string scheduleId, string owner, DateTimeOffset leaseUntil, CancellationToken ct);

    Task ReleaseLeaseAsync(string scheduleId, string owner, CancellationToken ct);

    /// <summary>
    /// Queues a manual run unless one is queued already; returns the queued run (new or existing). Null when the
    /// schedule is not the organization's.
    /// </summary>
    Task<SyncRun?> QueueRunAsync(string organizationId, string scheduleId, string runId, DateTimeOffset now, CancellationToken ct);

    /// <summary>Runner: the oldest queued run of a schedule.</summary>
    Task<SyncRun?> NextQueuedAsync(string scheduleId, CancellationToken ct);

    /// <summary>Records the start of an attempt: a queued run becomes running, or a new running row is inserted.</summary>
    Task StartRunAsync(SyncRun run, CancellationToken ct);

    /// <summary>Records how an attempt ended, and makes it the schedule's last run.</summary>
    Task FinishRunAsync(string scheduleId, string runId, RunCompletion completion, CancellationToken ct);

    /// <summary>Removes a running row that turned out not to be a run (an idempotent replay of a pushed upload).</summary>
    Task DeleteRunAsync(string runId, CancellationToken ct);

    /// <summary>
    /// Runner, holding the lease: marks attempts still running as failed. They belong to an instance whose lease
    /// ran out (it crashed or lost the database), so they will never be finished otherwise.
    /// </summary>
    Task<int> FailInterruptedRunsAsync(string scheduleId, DateTimeOffset now, string title, string detail, CancellationToken ct);

    /// <summary>The schedule's attempts, newest first, before the run <paramref name="beforeRunId"/> when given.</summary>
    Task<IReadOnlyList<SyncRun>> ListRunsAsync(string organizationId, string scheduleId, string? beforeRunId, int limit, CancellationToken ct);

    /// <summary>
    /// Schedules whose source URL is stored in plaintext (written before migration 2026-12-03-0021, or by an instance of
    /// an earlier build during an upgrade, beside an older sealed URL), by id after <paramref name="afterId"/>.
    /// </summary>
    Task<IReadOnlyList<Schedule>> ListUnsealedSourcesAsync(string? afterId, int limit, CancellationToken ct);

    /// <summary>Replaces such a URL by its sealed form (over any older sealed one), only while the stored URL is still <paramref name="url"/> (a compare-and-set); false otherwise.</summary>
    Task<bool> SealLegacySourceAsync(string scheduleId, string url, SealedValue sealedUrl, CancellationToken ct);
}
