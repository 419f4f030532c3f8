namespace OverlapEscrow.Data.Schedules;

/// <summary>
/// Sync schedules and their run history. Every method a request can steer by id takes the caller's organization
/// and matches it in SQL, so another tenant's id finds nothing (handlers answer 404). The methods marked
/// "runner" work across organizations: only the background runner calls them, never with a caller's input.
/// </summary>
public interface IScheduleRepository
{
    /// <summary>False when the organization already has a schedule of that name.</summary>
    Task<bool> CreateAsync(ScheduleRow schedule, CancellationToken ct = default);
    Task<IReadOnlyList<ScheduleRow>> ListAsync(string organizationId, CancellationToken ct = default);
    Task<ScheduleRow?> GetAsync(string organizationId, string scheduleId, CancellationToken ct = default);

    /// <summary>
    /// Replaces the definition (name, timing, action, source, secret, next run) of the organization's schedule;
    /// run history, last run and lease are kept.
    /// </summary>
    Task<ScheduleWriteOutcome> UpdateAsync(ScheduleRow schedule, CancellationToken ct = default);

    /// <summary>Deletes the schedule with its history, unless a run holds its lease now (<see cref="ScheduleWriteOutcome.Running"/>).</summary>
    Task<ScheduleWriteOutcome> DeleteAsync(string organizationId, string scheduleId, long now, CancellationToken ct = default);

    /// <summary>Runner: schedules whose lease is free and that are due (enabled, next run not after now) or have a queued run.</summary>
    Task<IReadOnlyList<ScheduleRow>> ListRunnableAsync(long now, int limit, CancellationToken ct = default);

    /// <summary>Runner: a schedule by id, whatever its organization.</summary>
    Task<ScheduleRow?> FindAsync(string scheduleId, CancellationToken ct = default);

    /// <summary>
    /// Takes the schedule's lease for <paramref name="owner"/> until <paramref name="leaseUntil"/>, with one
    /// conditional UPDATE: only when no lease is held or the holder's has expired. With <paramref name="advance"/>,
    /// also moves the next run on, and only if the next run is still the expected one. True when taken.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string scheduleId, string owner, long now, long leaseUntil, ScheduleAdvance? advance, CancellationToken ct = default);

    /// <summary>Extends a lease its owner still holds; false when another instance has taken it meanwhile.</summary>
    Task<bool> RenewLeaseAsync(string scheduleId, string owner, long leaseUntil, CancellationToken ct = default);

    Task ReleaseLeaseAsync(string scheduleId, string owner, CancellationToken ct = default);

    /// <summary>
    /// Queues a manual run unless one is queued already; returns the queued run (new or existing). Null when the
    /// schedule is not the organization's.
    /// </summary>
    Task<SyncRunRow?> QueueRunAsync(string organizationId, string scheduleId, string runId, long now, CancellationToken ct = default);

    /// <summary>Runner: the oldest queued run of a schedule.</summary>
    Task<SyncRunRow?> NextQueuedAsync(string scheduleId, CancellationToken ct = default);

    /// <summary>
    /// Records the start of an attempt: a queued run becomes running, or a new running row is inserted.
    /// </summary>
    Task StartRunAsync(SyncRunRow run, CancellationToken ct = default);

    /// <summary>Records how an attempt ended, and makes it the schedule's last run.</summary>
    Task FinishRunAsync(string scheduleId, string runId, RunCompletion completion, CancellationToken ct = default);

    /// <summary>Removes a running row that turned out not to be a run (an idempotent replay of a pushed upload).</summary>
    Task DeleteRunAsync(string runId, CancellationToken ct = default);

    /// <summary>
    /// Runner, holding the lease: marks attempts still running as failed. They belong to an instance whose lease
    /// ran out (it crashed or lost the database), so they will never be finished otherwise.
    /// </summary>
    Task<int> FailInterruptedRunsAsync(string scheduleId, long now, string title, string detail, CancellationToken ct = default);

    /// <summary>The schedule's attempts, newest first, before the run <paramref name="beforeRunId"/> when given.</summary>
    Task<IReadOnlyList<SyncRunRow>> ListRunsAsync(string organizationId, string scheduleId, string? beforeRunId, int limit, CancellationToken ct = default);
}
