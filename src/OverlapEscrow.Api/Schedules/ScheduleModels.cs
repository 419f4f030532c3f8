using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Api.Schedules;

/// <summary>A schedule as created or replaced (PUT). <see cref="Pull"/> is required for action "pull" and absent for "refresh".</summary>
public sealed record ScheduleRequest(string? Name, string? Cron, string? TimeZone, bool? Enabled, string? Action, PullRequest? Pull)
{
    public ScheduleInput ToInput() => new(Name, Cron, TimeZone, Enabled, Action, Pull is null ? null
        : new PullInput(Pull.PopulationId, Pull.Format, Pull.OnError, Pull.Url,
            Pull.SecretHeader is null ? null : new SecretHeaderInput(Pull.SecretHeader.Name, Pull.SecretHeader.Value), Pull.Directory, Pull.Pattern,
            Pull.HashingSpec));
}

/// <summary>
/// Where a pull gets its snapshot: <see cref="Url"/> (with an optional secret header) or <see cref="Directory"/>
/// and <see cref="Pattern"/>, never both.
/// </summary>
public sealed record PullRequest(
    string? PopulationId,
    string? Format,
    string? OnError,
    string? Url,
    SecretHeaderRequest? SecretHeader,
    string? Directory,
    string? Pattern,
    string? HashingSpec = null);

/// <summary>A header sent with every pull request, e.g. Authorization. On PUT, leave out <see cref="Value"/> to keep the stored one.</summary>
public sealed record SecretHeaderRequest(string? Name, string? Value);

public sealed record ScheduleResponse(
    string Id,
    string Name,
    string Cron,
    string TimeZone,
    bool Enabled,
    ScheduleKind Action,
    PullResponse? Pull,
    DateTimeOffset? NextRunAt,
    LastRunResponse? LastRun,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ScheduleResponse From(Schedule s)
    {
        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(s.TimeZone, out var z) ? z : TimeZoneInfo.Utc;
        return new ScheduleResponse(
            s.Id, s.Name, s.Cron, s.TimeZone, s.Enabled, s.Kind,
            s.Kind == ScheduleKind.Pull
                ? new PullResponse(s.PopulationId, s.Format ?? "ndjson", s.OnError ?? "reject", s.SourceUrl,
                    s.SecretHeaderName is null ? null : new SecretHeaderResponse(s.SecretHeaderName, s.SecretValue is not null),
                    s.SourceDirectory, s.SourcePattern, HashingSpecs.Wire(s.HashingSpec))
                : null,
            // In the schedule's own offset, so the answer shows the local time it runs at.
            s.Enabled && s.NextRunAt is { } next ? TimeZoneInfo.ConvertTime(next, zone) : null,
            s.LastRunId is null ? null : new LastRunResponse(s.LastRunId, s.LastRunStatus ?? RunStatus.Failed, s.LastRunAt),
            s.CreatedAt, s.UpdatedAt);
    }
}

/// <summary><see cref="HashingSpec"/>: the specification version each run's upload is recorded under ("v1", "v2").</summary>
public sealed record PullResponse(string? PopulationId, string Format, string OnError, string? Url, SecretHeaderResponse? SecretHeader, string? Directory, string? Pattern,
    string HashingSpec);

/// <summary>The secret header's name, and that a value is stored; the value itself is never returned.</summary>
public sealed record SecretHeaderResponse(string Name, bool Configured);

public sealed record LastRunResponse(string Id, RunStatus Status, DateTimeOffset? FinishedAt);

/// <summary>One attempt of a run. <see cref="RetryOf"/> is the first attempt's id for attempts 2 and later.</summary>
public sealed record RunResponse(
    string Id,
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
    RunError? Error)
{
    public static RunResponse From(SyncRun r) => new(
        r.Id, r.Trigger, r.Attempt, r.RetryOf, r.Status, r.CreatedAt, r.StartedAt, r.FinishedAt,
        r.RowsRead, r.RecordsApplied, r.RowsRejected, r.ErrorTitle is null ? null : new RunError(r.ErrorTitle, r.ErrorDetail));
}

public sealed record RunError(string Title, string? Detail);

public sealed record RunPage(IReadOnlyList<RunResponse> Items, string? NextBefore);

public sealed record RunAcceptedResponse(string RunId, RunStatus Status);
