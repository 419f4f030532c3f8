using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Schedules;

namespace OverlapEscrow.Api.Schedules;

/// <summary>
/// Records an upload sent with the X-Sync-Schedule header as a run of that schedule (trigger "push"): the CLI of
/// an organization that pushes its exports gets the same run history and sync events as a pull. The push holds
/// the schedule's lease while it uploads, so it never overlaps another run of the schedule.
/// </summary>
public sealed class PushRuns(
    IScheduleRepository schedules,
    IAuthorizationService authorization,
    IEscrowEvents events,
    TimeProvider time,
    IOptions<ScheduleOptions> options,
    ILogger<PushRuns> logger)
{
    public const string Header = "X-Sync-Schedule";

    /// <summary>
    /// Checks the caller may record runs of the schedule, runs <paramref name="upload"/> under the schedule's
    /// lease and records it. Returns a problem instead when the schedule is not the caller's (404), the caller
    /// lacks schedules:write (403), the schedule pulls into another population (400) or is running (409).
    /// </summary>
    public async Task<(ProblemHttpResult? Problem, UploadOutcome? Outcome)> RunAsync(HttpContext http, CurrentUser user, string scheduleId,
        string populationId, Func<CancellationToken, Task<UploadOutcome>> upload, CancellationToken ct)
    {
        // Writing a schedule's history is a schedules:write action; a key that may only upload cannot add runs.
        if (!(await authorization.AuthorizeAsync(http.User, Policies.SchedulesWrite)).Succeeded)
            return (Problems.Forbidden($"Recording an upload as a run ({Header}) needs the schedules:write permission."), null);
        var schedule = await schedules.GetAsync(user.OrganizationId, scheduleId, ct);
        if (schedule is null) return (Problems.NotFound("schedule"), null);
        if (schedule.PopulationId is not null && schedule.PopulationId != populationId)
            return (Problems.Invalid(Header, "The schedule pulls into another population; push to that one, or use another schedule."), null);

        var lease = await ScheduleLease.TryAcquireAsync(schedules, schedule.Id, time, TimeSpan.FromSeconds(options.Value.LeaseSeconds), null, logger, ct);
        if (lease is null) return (Problems.Conflict("A run of this schedule is in progress; push again when it has finished."), null);
        await using (lease)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
            var runId = Ids.New("run");
            var started = Time.ToUnixMs(time.GetUtcNow());
            await schedules.StartRunAsync(new SyncRunRow
            {
                Id = runId, ScheduleId = schedule.Id, OrganizationId = schedule.OrganizationId, TriggerType = RunTriggers.Push, Attempt = 1,
                Status = RunStatuses.Running, CreatedAt = started, StartedAt = started,
            }, ct);
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
                return (null, outcome);
            }
            await FinishAsync(schedule, runId, AttemptOutcome.FromUpload(outcome));
            return (null, outcome);
        }
    }

    private async Task FinishAsync(ScheduleRow schedule, string runId, AttemptOutcome outcome)
    {
        await schedules.FinishRunAsync(schedule.Id, runId, new RunCompletion(outcome.Status, Time.ToUnixMs(time.GetUtcNow()),
            outcome.RowsRead, outcome.RecordsApplied, outcome.RowsRejected, outcome.ErrorTitle, outcome.ErrorDetail), CancellationToken.None);
        try
        {
            await events.PublishAsync(schedule.OrganizationId, SyncEvent.TypeFor(outcome.Status),
                SyncEvent.From(schedule, runId, RunTriggers.Push, 1, outcome), CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogWarning("Publishing the outcome of run {RunId} failed: {ExceptionType}", runId, e.GetType().Name);
        }
    }
}
