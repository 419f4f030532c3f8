using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Schedules;
using Polly;
using Polly.Retry;

namespace OverlapEscrow.Api.Schedules;

/// <summary>
/// Runs schedules: every <see cref="ScheduleOptions.PollSeconds"/> (and once at start-up, which is when a run
/// missed while the service was down happens) it takes the lease of each due schedule and runs it. The lease is
/// taken together with moving the schedule to its next occurrence, in one conditional UPDATE, so an occurrence
/// is claimed by exactly one instance even when several share the database. A run is retried on failures that
/// can pass (a source that is down) with exponential backoff, each attempt its own history row; queued manual
/// runs ("run now") are run by whoever holds the lease next.
/// </summary>
public sealed class ScheduleRunner(
    IScheduleRepository schedules,
    SyncActions actions,
    IEscrowEvents events,
    TimeProvider time,
    IOptions<ScheduleOptions> options,
    ILogger<ScheduleRunner> logger) : BackgroundService
{
    private const int CandidatesPerPoll = 100;

    private readonly ScheduleOptions _o = options.Value;
    // Neither needs disposing (no wait handle, no timer), and the host may stop this service after disposing it.
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentRuns);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();

    private TimeSpan LeaseDuration => TimeSpan.FromSeconds(_o.LeaseSeconds);

    /// <summary>
    /// Starts every due schedule whose lease this instance obtains (up to its free run slots) and waits for those
    /// runs to end, retries included. Returns how many schedules it ran. The background loop calls the same
    /// claiming logic; tests call this directly with a manual clock. Cancelling <paramref name="ct"/> also stops the
    /// runs this call started.
    /// </summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        var started = await StartDueAsync(ct, ct);
        await Task.WhenAll(started);
        return started.Count;
    }

    /// <summary>
    /// Runs the schedule's queued run in the background now if its lease is free. If another run holds the lease,
    /// the queued run waits: the holder runs it when done, or the next poll does.
    /// </summary>
    public void RunQueuedSoon(string scheduleId) => Track(Task.Run(async () =>
    {
        if (!await _slots.WaitAsync(0)) return; // busy: the next poll picks it up
        ScheduleLease? lease = null;
        try
        {
            lease = await ScheduleLease.TryAcquireAsync(schedules, scheduleId, time, LeaseDuration, null, logger, _stopping.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Taking the lease of schedule {ScheduleId} failed: {ExceptionType}", scheduleId, e.GetType().Name);
        }
        if (lease is null)
        {
            _slots.Release();
            return;
        }
        await RunLeasedAsync(lease, scheduled: false, CancellationToken.None);
    }));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_o.PollSeconds == 0) return;
        await PollAsync(stoppingToken); // at start-up: a run missed while the service was down runs now, once
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_o.PollSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken)) await PollAsync(stoppingToken);
    }

    private async Task PollAsync(CancellationToken ct)
    {
        try
        {
            await StartDueAsync(ct, CancellationToken.None); // the runs stop with the service, not with this poll
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Looking for due schedules failed: {ExceptionType}", e.GetType().Name);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await base.StopAsync(cancellationToken);
        try
        {
            await Task.WhenAll(_inFlight.Keys).WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Shutdown timed out: the leases of unfinished runs expire, and their rows are marked interrupted by the next holder.
        }
    }

    private async Task<List<Task>> StartDueAsync(CancellationToken ct, CancellationToken runs)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        var now = time.GetUtcNow();
        var nowMs = Time.ToUnixMs(now);
        var started = new List<Task>();
        foreach (var schedule in await schedules.ListRunnableAsync(nowMs, CandidatesPerPoll, linked.Token))
        {
            if (!await _slots.WaitAsync(0, CancellationToken.None)) break; // the rest stays due for the next poll
            var scheduled = schedule.Enabled && schedule.NextRunAt <= nowMs;
            ScheduleLease? lease;
            try
            {
                lease = await ScheduleLease.TryAcquireAsync(schedules, schedule.Id, time, LeaseDuration,
                    scheduled ? Advance(schedule, now) : null, logger, linked.Token);
            }
            catch
            {
                _slots.Release();
                throw;
            }
            if (lease is null)
            {
                _slots.Release(); // another instance (or call) has it
                continue;
            }
            started.Add(Track(RunLeasedAsync(lease, scheduled, runs)));
        }
        return started;
    }

    /// <summary>
    /// The schedule's move to its next occurrence: the first wall-clock occurrence after the one being claimed
    /// whose instant is still ahead. Missed occurrences are thereby skipped, so a schedule that was due several
    /// times while the service was down runs once.
    /// </summary>
    private ScheduleAdvance Advance(ScheduleRow schedule, DateTimeOffset now)
    {
        try
        {
            var cron = CronSchedule.Create(schedule.Cron, schedule.TimeZone);
            var previous = schedule.NextRunWall is { } wall ? Occurrence.ParseWall(wall) : cron.WallClock(Time.FromUnixMs(schedule.NextRunAt!.Value));
            var next = cron.NextAfter(previous, now);
            return new ScheduleAdvance(schedule.NextRunAt!.Value, Time.ToUnixMs(next.At), next.WallText);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            // The zone vanished from the system's time zone data, say: run this occurrence, then stop until edited.
            logger.LogWarning("Schedule {ScheduleId} has no computable next occurrence: {ExceptionType}", schedule.Id, e.GetType().Name);
            return new ScheduleAdvance(schedule.NextRunAt!.Value, null, null);
        }
    }

    private Task Track(Task task)
    {
        _inFlight.TryAdd(task, 0);
        _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>Runs, under a lease already taken, the claimed occurrence (if <paramref name="scheduled"/>) and every queued run.</summary>
    private async Task RunLeasedAsync(ScheduleLease lease, bool scheduled, CancellationToken stop)
    {
        try
        {
            await using (lease)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(lease.Lost, _stopping.Token, stop);
                var ct = linked.Token;
                // Rows still running under a free lease belong to an instance that stopped mid-run.
                var interrupted = await schedules.FailInterruptedRunsAsync(lease.ScheduleId, Time.ToUnixMs(time.GetUtcNow()),
                    "Interrupted", "The instance running this attempt stopped before recording how it ended.", ct);
                if (interrupted > 0) logger.LogWarning("Marked {Count} interrupted runs of schedule {ScheduleId} as failed", interrupted, lease.ScheduleId);

                if (scheduled) await RunWithRetriesAsync(lease.ScheduleId, RunTriggers.Schedule, null, ct);
                while (await schedules.NextQueuedAsync(lease.ScheduleId, ct) is { } queued)
                    await RunWithRetriesAsync(lease.ScheduleId, queued.TriggerType, queued.Id, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping, or the lease was lost: the attempt's row says so.
        }
        catch (Exception e)
        {
            logger.LogError("Running schedule {ScheduleId} failed: {ExceptionType}", lease.ScheduleId, e.GetType().Name);
        }
        finally
        {
            _slots.Release();
        }
    }

    private sealed record AttemptRecord(ScheduleRow Schedule, string RunId, string TriggerType, int Attempt, AttemptOutcome Outcome);

    private async Task RunWithRetriesAsync(string scheduleId, string trigger, string? queuedRunId, CancellationToken ct)
    {
        var attempt = 0;
        string? firstRunId = null;
        var final = await Pipeline().ExecuteAsync(async token =>
        {
            attempt++;
            // Read afresh for every attempt: an edit made meanwhile applies to the next attempt.
            var schedule = await schedules.FindAsync(scheduleId, token);
            if (schedule is null) return null;
            var runId = attempt == 1 && queuedRunId is not null ? queuedRunId : Ids.New("run");
            firstRunId ??= runId;
            var started = Time.ToUnixMs(time.GetUtcNow());
            await schedules.StartRunAsync(new SyncRunRow
            {
                Id = runId, ScheduleId = scheduleId, OrganizationId = schedule.OrganizationId, TriggerType = trigger, Attempt = attempt,
                RetryOf = attempt == 1 ? null : firstRunId, Status = RunStatuses.Running, CreatedAt = started, StartedAt = started,
            }, token);
            var outcome = await AttemptAsync(schedule, runId, token);
            await schedules.FinishRunAsync(scheduleId, runId, Completion(outcome), CancellationToken.None);
            logger.LogInformation("Run {RunId} of schedule {ScheduleId} (attempt {Attempt}) {Status}", runId, scheduleId, attempt, outcome.Status);
            return new AttemptRecord(schedule, runId, trigger, attempt, outcome);
        }, ct);
        if (final is not null) await PublishAsync(final);
    }

    private ResiliencePipeline<AttemptRecord?> Pipeline()
    {
        // The injected TimeProvider drives the backoff delays, so tests advance a manual clock instead of sleeping.
        var builder = new ResiliencePipelineBuilder<AttemptRecord?> { TimeProvider = time };
        if (_o.MaxAttempts > 1)
            builder.AddRetry(new RetryStrategyOptions<AttemptRecord?>
            {
                MaxRetryAttempts = _o.MaxAttempts - 1,
                Delay = TimeSpan.FromSeconds(_o.RetryBaseDelaySeconds),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
                // Exceptions are cancellation or a database failure while recording: not retried.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Outcome.Retryable: true }),
            });
        return builder.Build();
    }

    /// <summary>One attempt, bounded in time. When the run must stop (lease lost, service stopping), its row says so first.</summary>
    private async Task<AttemptOutcome> AttemptAsync(ScheduleRow schedule, string runId, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(_o.AttemptTimeoutMinutes), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            return await actions.RunAsync(schedule, linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return AttemptOutcome.Failed("The run took too long", $"An attempt may take at most {_o.AttemptTimeoutMinutes} minutes; nothing was applied.", retryable: true);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            var detail = _stopping.IsCancellationRequested
                ? "The service stopped during the attempt, before it committed anything."
                : "The run was stopped (its lease was lost, or its caller cancelled it) before this attempt committed anything.";
            await schedules.FinishRunAsync(schedule.Id, runId, Completion(AttemptOutcome.Failed("Interrupted", detail, retryable: false)), CancellationToken.None);
            throw;
        }
    }

    private RunCompletion Completion(AttemptOutcome o) => new(o.Status, Time.ToUnixMs(time.GetUtcNow()), o.RowsRead, o.RecordsApplied, o.RowsRejected, o.ErrorTitle, o.ErrorDetail);

    private async Task PublishAsync(AttemptRecord run)
    {
        try
        {
            await events.PublishAsync(run.Schedule.OrganizationId, SyncEvent.TypeFor(run.Outcome.Status), SyncEvent.From(run.Schedule, run.RunId, run.TriggerType, run.Attempt, run.Outcome), CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning("Publishing the outcome of run {RunId} failed: {ExceptionType}", run.RunId, e.GetType().Name);
        }
    }
}

/// <summary>The payload of sync.succeeded and sync.failed: the schedule, the run and its counts; nothing of any partner.</summary>
public sealed record SyncEvent(
    string ScheduleId,
    string ScheduleName,
    string RunId,
    string Trigger,
    string Status,
    int Attempt,
    long RowsRead,
    long RecordsApplied,
    long RowsRejected,
    string? ErrorTitle)
{
    public const string Succeeded = "sync.succeeded";
    public const string Failed = "sync.failed";

    public static string TypeFor(string status) => status == RunStatuses.Succeeded ? Succeeded : Failed;

    public static SyncEvent From(ScheduleRow schedule, string runId, string trigger, int attempt, AttemptOutcome outcome) =>
        new(schedule.Id, schedule.Name, runId, trigger, outcome.Status, attempt, outcome.RowsRead, outcome.RecordsApplied, outcome.RowsRejected, outcome.ErrorTitle);
}
