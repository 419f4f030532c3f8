using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// Records an upload sent with the X-Sync-Schedule header as a run of that schedule (trigger "push"): the CLI of
/// an organization that pushes its exports gets the same run history and sync events as a pull. The push holds
/// the schedule's lease while it uploads, so it never overlaps another run of the schedule. The caller must hold
/// the permission to write schedules (checked by the host before calling).
/// </summary>
public sealed class PushRuns(
    IScheduleRepository schedules,
    ITransactions transactions,
    IEventPublisher events,
    TimeProvider time,
    IOptions<ScheduleOptions> options,
    ILogger<PushRuns> logger)
{
    public const string Header = "X-Sync-Schedule";

    /// <summary>
    /// Runs <paramref name="upload"/> under the schedule's lease and records it. Fails instead when the schedule is not
    /// the caller's (not found), pulls into another population (invalid) or is running (conflict).
    /// </summary>
    public async Task<Outcome<UploadOutcome>> RunAsync(Caller caller, string scheduleId, string populationId,
        Func<CancellationToken, Task<UploadOutcome>> upload, CancellationToken ct)
    {
        var schedule = await schedules.GetAsync(caller.OrganizationId, scheduleId, ct);
        if (schedule is null) return new Failure.NotFound("schedule");
        if (schedule.PopulationId is not null && schedule.PopulationId != populationId)
            return Failure.Invalid.Of(Header, "The schedule pulls into another population; push to that one, or use another schedule.");

        var lease = await ScheduleLease.TryAcquireAsync(schedules, schedule.Id, time, TimeSpan.FromSeconds(options.Value.LeaseSeconds), null, logger, ct);
        if (lease is null) return new Failure.Conflict("A run of this schedule is in progress; push again when it has finished.");
        await using (lease)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
            var runId = Ids.New("run");
            var started = time.GetUtcNow();
            await schedules.StartRunAsync(new SyncRun(runId, schedule.Id, schedule.OrganizationId, RunTrigger.Push, 1, null, RunStatus.Running,
                started, started, null, 0, 0, 0, null, null), ct);
            UploadOutcome outcome;
            try
            {
                outcome = await upload(linked.Token);
            }
            catch (Exception e)
            {
                var failed = e is OperationCanceledException
                    ? AttemptOutcome.Failed("Interrupted", "The upload was cancelled before it was committed; nothing was applied.", retryable: false)
                    : AttemptOutcome.Failed("The upload failed unexpectedly", $"The escrow hit an internal error ({e.GetType().Name}).", retryable: false);
                await FinishAsync(schedule, runId, failed);
                throw;
            }
            if (outcome is UploadOutcome.Replayed)
            {
                // The same Idempotency-Key was completed before: that upload is the run, already recorded.
                await schedules.DeleteRunAsync(runId, CancellationToken.None);
                return outcome;
            }
            await FinishAsync(schedule, runId, AttemptOutcome.FromUpload(outcome));
            return outcome;
        }
    }

    private async Task FinishAsync(Schedule schedule, string runId, AttemptOutcome outcome)
    {
        try
        {
            var now = time.GetUtcNow();
            await using var uow = await transactions.BeginAsync(CancellationToken.None);
            await uow.Schedules.FinishRunAsync(schedule.Id, runId, outcome.Completion(now), CancellationToken.None);
            await events.PublishAsync(uow, schedule.OrganizationId, SyncEvent.TypeFor(outcome.Status),
                SyncEvent.From(schedule, runId, RunTrigger.Push, 1, outcome), now, CancellationToken.None);
            await uow.CommitAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning("Recording the outcome of run {RunId} failed: {ExceptionType}", runId, e.GetType().Name);
        }
    }
}
