using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Schedules;

/// <summary>How one attempt ended, as the run history records it.</summary>
public sealed record AttemptOutcome(RunStatus Status, long RowsRead, long RecordsApplied, long RowsRejected, string? ErrorTitle, string? ErrorDetail, bool Retryable)
{
    public static AttemptOutcome Succeeded(long rowsRead, long recordsApplied, long rowsRejected) =>
        new(RunStatus.Succeeded, rowsRead, recordsApplied, rowsRejected, null, null, false);

    public static AttemptOutcome Failed(string title, string detail, bool retryable, long rowsRead = 0, long rowsRejected = 0) =>
        new(RunStatus.Failed, rowsRead, 0, rowsRejected, title, detail, retryable);

    /// <summary>An upload's outcome as a run outcome; the problem's title and detail, never its row errors.</summary>
    public static AttemptOutcome FromUpload(UploadOutcome outcome) => outcome switch
    {
        UploadOutcome.Committed c => Succeeded(c.Result.RowsRead, c.Result.RecordsApplied, c.Result.RowsRejected),
        UploadOutcome.RowsRejected r => Failed("Some rows are invalid; nothing was applied",
            r.ErrorCountComplete ? $"{r.ErrorCount} of {r.RowsRead} rows are invalid." : $"Reading stopped after {r.ErrorCount} invalid rows (of {r.RowsRead} read).",
            retryable: false, rowsRead: r.RowsRead, rowsRejected: r.ErrorCount),
        UploadOutcome.Refused f => Failed(f.Title, f.Detail, retryable: f.StatusCode == 429, rowsRead: f.RowsRead), // too many uploads at once: passes
        UploadOutcome.Replayed => Succeeded(0, 0, 0),
        _ => throw new InvalidOperationException("Unknown upload outcome."),
    };

    /// <summary>The outcome as the run history records it, finished at <paramref name="at"/>.</summary>
    public RunCompletion Completion(DateTimeOffset at) => new(Status, at, RowsRead, RecordsApplied, RowsRejected, ErrorTitle, ErrorDetail);
}

/// <summary>
/// What a run does. A pull fetches a snapshot and applies it through <see cref="UploadPopulation"/> like any upload
/// (validation, limits, atomicity, audit); a refresh queues the recomputation of the organization's overlaps.
/// </summary>
public sealed class SyncActions(
    PullSources sources,
    IPopulationRepository populations,
    UploadPopulation uploads,
    OverlapRefresher refresher,
    NdjsonUploadParser ndjson,
    CsvUploadParser csv,
    ILogger<SyncActions> logger)
{
    /// <summary>Runs one attempt. Fails only by cancellation; every other failure is an outcome.</summary>
    public async Task<AttemptOutcome> RunAsync(Schedule schedule, CancellationToken ct)
    {
        try
        {
            return schedule.Kind switch
            {
                ScheduleKind.Pull => await PullAsync(schedule, ct),
                ScheduleKind.Refresh => await RefreshAsync(schedule, ct),
                _ => AttemptOutcome.Failed("Unknown action", "The schedule's action is neither pull nor refresh.", retryable: false),
            };
        }
        catch (SyncFailure f)
        {
            return AttemptOutcome.Failed(f.Title, f.Message, f.Retryable);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The type only: messages of I/O, HTTP and database exceptions can quote paths, hosts or data.
            logger.LogWarning("Run of schedule {ScheduleId} failed: {ExceptionType}", schedule.Id, e.GetType().Name);
            return e is IOException or HttpRequestException
                ? AttemptOutcome.Failed("The pull source could not be read to its end", $"Reading the source failed ({e.GetType().Name}); nothing was applied.", retryable: true)
                : AttemptOutcome.Failed("The run failed unexpectedly", $"The escrow hit an internal error ({e.GetType().Name}); nothing was applied.", retryable: true);
        }
    }

    private async Task<AttemptOutcome> PullAsync(Schedule schedule, CancellationToken ct)
    {
        var population = schedule.PopulationId is null ? null : await populations.GetAsync(schedule.OrganizationId, schedule.PopulationId, ct);
        if (population is null)
            return AttemptOutcome.Failed("The population is gone", "The schedule's population no longer exists.", retryable: false);
        await using var source = await sources.OpenAsync(schedule, ct);
        var outcome = await uploads.UploadAsync(new UploadRequest(
            new Caller(schedule.OrganizationId, "schedule:" + schedule.Id), population, VersionKind.Snapshot,
            schedule.OnError == "skip" ? ErrorPolicy.Skip : ErrorPolicy.Reject,
            schedule.Format == "csv" ? csv : ndjson,
            source.Body, source.Gzip, IdempotencyKey: null, HashingSpec: schedule.HashingSpec), ct);
        return AttemptOutcome.FromUpload(outcome);
    }

    private async Task<AttemptOutcome> RefreshAsync(Schedule schedule, CancellationToken ct)
    {
        // No change of its own to commit with: each refresh is queued on its own, durable before the run is recorded as done.
        foreach (var population in await populations.ListAsync(schedule.OrganizationId, ct))
            await refresher.PopulationChangedAsync(schedule.OrganizationId, population.Id, ct);
        return AttemptOutcome.Succeeded(0, 0, 0);
    }
}
