using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using Polly;
using Polly.Retry;

namespace OverlapEscrow.Application.Schedules;

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
    ITransactions transactions,
    SyncActions actions,
    IEventPublisher events,
    TimeProvider time,
    IOptions<ScheduleOptions> options,
    ILogger<ScheduleRunner> logger)
{
    private const int CandidatesPerPoll = 100;

    private readonly ScheduleOptions _o = options.Value;
    // Neither needs disposing (no wait handle, no timer), and the host may stop this service after disposing it.
    private readonly OrganizationSlots _slots = new(options.Value.MaxConcurrentRuns, options.Value.MaxConcurrentRunsPerOrganization);
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
    /// Runs the schedule's queued run in the background now if its lease and a run slot for its organization are
    /// free. Otherwise the queued run waits: the lease's holder runs it when done, or the next poll does.
    /// </summary>
    public void RunQueuedSoon(string organizationId, string scheduleId) => Track(Task.Run(async () =>
    {
        if (_slots.TryTake(organizationId) is not { } slot) return; // busy: the next poll picks it up
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
            slot.Dispose();
            return;
        }
        await RunLeasedAsync(lease, slot, scheduled: false, CancellationToken.None);
    }));

    /// <summary>Polls for due schedules until stopped (the host's background service).</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
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

    /// <summary>Stops the runs this instance started and waits for them to record how they ended (the host's shutdown).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
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
        var started = new List<Task>();
        foreach (var schedule in await schedules.ListRunnableAsync(now, CandidatesPerPoll, _o.MaxConcurrentRunsPerOrganization, linked.Token))
        {
            if (_slots.AllTaken) break; // the rest stays due for the next poll
            if (_slots.TryTake(schedule.OrganizationId) is not { } slot) continue; // its organization's share is running
            var scheduled = schedule.Enabled && schedule.NextRunAt <= now;
            ScheduleLease? lease;
            try
            {
                lease = await ScheduleLease.TryAcquireAsync(schedules, schedule.Id, time, LeaseDuration,
                    scheduled ? Advance(schedule, now) : null, logger, linked.Token);
            }
            catch
            {
                slot.Dispose();
                throw;
            }
            if (lease is null)
            {
                slot.Dispose(); // another instance (or call) has it
                continue;
            }
            started.Add(Track(RunLeasedAsync(lease, slot, scheduled, runs)));
        }
        return started;
    }

    /// <summary>
    /// The schedule's move to its next occurrence: the first wall-clock occurrence after the one being claimed
    /// whose instant is still ahead. Missed occurrences are thereby skipped, so a schedule that was due several
    /// times while the service was down runs once.
    /// </summary>
    private ScheduleAdvance Advance(Schedule schedule, DateTimeOffset now)
    {
        try
        {
            var cron = CronSchedule.Create(schedule.Cron, schedule.TimeZone);
            var previous = schedule.NextRunWall is { } wall ? Occurrence.ParseWall(wall) : cron.WallClock(schedule.NextRunAt!.Value);
            var next = cron.NextAfter(previous, now);
            return new ScheduleAdvance(schedule.NextRunAt!.Value, next.At, next.WallText);
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
    private async Task RunLeasedAsync(ScheduleLease lease, OrganizationSlot slot, bool scheduled, CancellationToken stop)
    {
        try
        {
            await using (lease)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(lease.Lost, _stopping.Token, stop);
                var ct = linked.Token;
                // Rows still running under a free lease belong to an instance that stopped mid-run.
                var interrupted = await schedules.FailInterruptedRunsAsync(lease.ScheduleId, time.GetUtcNow(),
                    "Interrupted", "The instance running this attempt stopped before recording how it ended.", ct);
                if (interrupted > 0) logger.LogWarning("Marked {Count} interrupted runs of schedule {ScheduleId} as failed", interrupted, lease.ScheduleId);

                if (scheduled) await RunWithRetriesAsync(lease.ScheduleId, slot, RunTrigger.Schedule, null, ct);
                while (await schedules.NextQueuedAsync(lease.ScheduleId, ct) is { } queued)
                    await RunWithRetriesAsync(lease.ScheduleId, slot, queued.Trigger, queued.Id, ct);
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
            slot.Dispose();
        }
    }

    private sealed record AttemptRecord(Schedule Schedule, string RunId, RunTrigger Trigger, int Attempt, AttemptOutcome Outcome);

    /// <summary>
    /// A run's attempts. Between them the run keeps its lease (no other instance starts the schedule) but lends its
    /// slot to other runs, and takes one again for its next attempt.
    /// </summary>
    private async Task RunWithRetriesAsync(string scheduleId, OrganizationSlot slot, RunTrigger trigger, string? queuedRunId, CancellationToken ct)
    {
        var attempt = 0;
        string? firstRunId = null;
        await Pipeline().ExecuteAsync(async token =>
        {
            attempt++;
            await slot.TakeBackAsync(token);
            // Read afresh for every attempt: an edit made meanwhile applies to the next attempt.
            var schedule = await schedules.FindAsync(scheduleId, token);
            if (schedule is null) return null;
            var runId = attempt == 1 && queuedRunId is not null ? queuedRunId : Ids.New("run");
            firstRunId ??= runId;
            var started = time.GetUtcNow();
            await schedules.StartRunAsync(new SyncRun(runId, scheduleId, schedule.OrganizationId, trigger, attempt, attempt == 1 ? null : firstRunId,
                RunStatus.Running, started, started, null, 0, 0, 0, null, null), token);
            var outcome = await AttemptAsync(schedule, runId, token);
            var record = new AttemptRecord(schedule, runId, trigger, attempt, outcome);
            // The last attempt's outcome and its event are one transaction; earlier attempts are retried, not announced.
            var last = !outcome.Retryable || attempt >= _o.MaxAttempts;
            await FinishAsync(record, publish: last);
            logger.LogInformation("Run {RunId} of schedule {ScheduleId} (attempt {Attempt}) {Status}", runId, scheduleId, attempt, outcome.Status);
            if (!last) slot.Lend(); // for the retry's wait
            return record;
        }, ct);
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
    private async Task<AttemptOutcome> AttemptAsync(Schedule schedule, string runId, CancellationToken ct)
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
            await schedules.FinishRunAsync(schedule.Id, runId, AttemptOutcome.Failed("Interrupted", detail, retryable: false).Completion(time.GetUtcNow()), CancellationToken.None);
            throw;
        }
    }

    /// <summary>Records how an attempt ended and, for the run's last attempt, its sync event, in one transaction.</summary>
    private async Task FinishAsync(AttemptRecord run, bool publish)
    {
        await using var uow = await transactions.BeginAsync(CancellationToken.None);
        await uow.Schedules.FinishRunAsync(run.Schedule.Id, run.RunId, run.Outcome.Completion(time.GetUtcNow()), CancellationToken.None);
        if (publish)
            await events.PublishAsync(uow, run.Schedule.OrganizationId, SyncEvent.TypeFor(run.Outcome.Status),
                SyncEvent.From(run.Schedule, run.RunId, run.Trigger, run.Attempt, run.Outcome), time.GetUtcNow(), CancellationToken.None);
        await uow.CommitAsync(CancellationToken.None);
    }
}

/// <summary>The payload of sync.succeeded and sync.failed: the schedule, the run and its counts; nothing of any partner.</summary>
public sealed record SyncEvent(
    string ScheduleId,
    string ScheduleName,
    string RunId,
    RunTrigger Trigger,
    RunStatus Status,
    int Attempt,
    long RowsRead,
    long RecordsApplied,
    long RowsRejected,
    string? ErrorTitle)
{
    public const string Succeeded = "sync.succeeded";
    public const string Failed = "sync.failed";

    public static string TypeFor(RunStatus status) => status == RunStatus.Succeeded ? Succeeded : Failed;

    public static SyncEvent From(Schedule schedule, string runId, RunTrigger trigger, int attempt, AttemptOutcome outcome) =>
        new(schedule.Id, schedule.Name, runId, trigger, outcome.Status, attempt, outcome.RowsRead, outcome.RecordsApplied, outcome.RowsRejected, outcome.ErrorTitle);
}
