using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Populations.Uploads;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Data.Schedules;

namespace OverlapEscrow.Api.Schedules;

/// <summary>How one attempt ended, as the run history records it.</summary>
public sealed record AttemptOutcome(string Status, long RowsRead, long RecordsApplied, long RowsRejected, string? ErrorTitle, string? ErrorDetail, bool Retryable)
{
    public static AttemptOutcome Succeeded(long rowsRead, long recordsApplied, long rowsRejected) =>
        new(RunStatuses.Succeeded, rowsRead, recordsApplied, rowsRejected, null, null, false);

    public static AttemptOutcome Failed(string title, string detail, bool retryable, long rowsRead = 0, long rowsRejected = 0) =>
        new(RunStatuses.Failed, rowsRead, 0, rowsRejected, title, detail, retryable);

    /// <summary>An upload's outcome as a run outcome; the problem's title and detail, never its row errors.</summary>
    public static AttemptOutcome FromUpload(UploadOutcome outcome) => outcome switch
    {
        UploadOutcome.Committed c => Succeeded(c.Result.RowsRead, c.Result.RecordsApplied, c.Result.RowsRejected),
        UploadOutcome.RowsRejected r => Failed("Some rows are invalid; nothing was applied",
            r.ErrorCountComplete ? $"{r.ErrorCount} of {r.RowsRead} rows are invalid." : $"Reading stopped after {r.ErrorCount} invalid rows (of {r.RowsRead} read).",
            retryable: false, rowsRead: r.RowsRead, rowsRejected: r.ErrorCount),
        UploadOutcome.Refused f => Failed(f.Title, f.Detail, retryable: false),
        UploadOutcome.Replayed => Succeeded(0, 0, 0),
        _ => throw new InvalidOperationException("Unknown upload outcome."),
    };
}

/// <summary>
/// What a run does. A pull fetches a snapshot and applies it through <see cref="UploadService"/> like any upload
/// (validation, limits, atomicity, audit); a refresh queues the recomputation of the organization's overlaps.
/// </summary>
public sealed class SyncActions(
    IServiceScopeFactory scopes,
    PullSources sources,
    IPopulationRepository populations,
    OverlapRefresher refresher,
    NdjsonUploadParser ndjson,
    CsvUploadParser csv,
    ILogger<SyncActions> logger)
{
    /// <summary>Runs one attempt. Fails only by cancellation; every other failure is an outcome.</summary>
    public async Task<AttemptOutcome> RunAsync(ScheduleRow schedule, CancellationToken ct)
    {
        try
        {
            return schedule.Kind switch
            {
                ScheduleKinds.Pull => await PullAsync(schedule, ct),
                ScheduleKinds.Refresh => await RefreshAsync(schedule, ct),
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

    private async Task<AttemptOutcome> PullAsync(ScheduleRow schedule, CancellationToken ct)
    {
        var population = schedule.PopulationId is null ? null : await populations.GetAsync(schedule.OrganizationId, schedule.PopulationId, ct);
        if (population is null)
            return AttemptOutcome.Failed("The population is gone", "The schedule's population no longer exists.", retryable: false);
        await using var source = await sources.OpenAsync(schedule, ct);
        await using var scope = scopes.CreateAsyncScope();
        var uploads = scope.ServiceProvider.GetRequiredService<UploadService>();
        var outcome = await uploads.UploadAsync(new UploadRequest(
            schedule.OrganizationId, "schedule:" + schedule.Id, population, UploadMode.Snapshot,
            schedule.OnError == "skip" ? ErrorPolicy.Skip : ErrorPolicy.Reject,
            schedule.Format == "csv" ? csv : ndjson,
            source.Body, source.Gzip, IdempotencyKey: null), ct);
        return AttemptOutcome.FromUpload(outcome);
    }

    private async Task<AttemptOutcome> RefreshAsync(ScheduleRow schedule, CancellationToken ct)
    {
        foreach (var population in await populations.ListAsync(schedule.OrganizationId, ct))
            refresher.PopulationChanged(schedule.OrganizationId, population.Id);
        return AttemptOutcome.Succeeded(0, 0, 0);
    }
}
