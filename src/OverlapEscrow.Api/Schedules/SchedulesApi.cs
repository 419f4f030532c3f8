using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Schedules;

namespace OverlapEscrow.Api.Schedules;

/// <summary>Sync schedules: when (cron + time zone) and what (pull a snapshot, or refresh overlaps), and each run's history.</summary>
public static class SchedulesApi
{
    public static RouteGroupBuilder MapSchedules(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/schedules").WithTags("Schedules");

        group.MapPost("", Create).RequireAuthorization(Policies.SchedulesWrite)
            .WithName("CreateSchedule").WithSummary("Create a sync schedule (cron expression in an IANA time zone; pull a snapshot or refresh overlaps)")
            .WithDescription("The pull secret header's value is stored encrypted and never returned; responses show its name and \"configured\": true.")
            .ProducesProblem(409);
        group.MapGet("", List).RequireAuthorization(Policies.SchedulesRead)
            .WithName("ListSchedules").WithSummary("My organization's sync schedules")
            .WithDescription("Each with its next run time, in the offset of its time zone, and its last run.");
        group.MapGet("/{scheduleId}", Get).RequireAuthorization(Policies.SchedulesRead)
            .WithName("GetSchedule").WithSummary("One of my sync schedules")
            .WithDescription("404 for a schedule of another organization, exactly as for one that does not exist.");
        group.MapPut("/{scheduleId}", Replace).RequireAuthorization(Policies.SchedulesWrite)
            .WithName("ReplaceSchedule").WithSummary("Replace a schedule's definition; enabled=false pauses it")
            .WithDescription("Leave out pull.secretHeader.value to keep the stored value; it is kept only while the URL's scheme, host and port stay the same.")
            .ProducesProblem(409);
        group.MapDelete("/{scheduleId}", Delete).RequireAuthorization(Policies.SchedulesWrite)
            .WithName("DeleteSchedule").WithSummary("Delete a schedule and its run history (not while a run is in progress)")
            .WithDescription("409 while a run of the schedule is in progress.")
            .ProducesProblem(409);
        group.MapPost("/{scheduleId}/run", RunNow).RequireAuthorization(Policies.SchedulesWrite)
            .WithName("RunScheduleNow").WithSummary("Run a schedule now, in the background (also when paused); answers with the queued run's id")
            .WithDescription("The run waits for the schedule's lease: it never overlaps another run of the same schedule, on any instance.");
        group.MapGet("/{scheduleId}/runs", Runs).RequireAuthorization(Policies.SchedulesRead)
            .WithName("ListScheduleRuns").WithSummary("A schedule's run history, newest first: one entry per attempt")
            .WithDescription("Page with limit (1-500, default 50) and before (the nextBefore of the previous page).");
        return group;
    }

    /// <summary>
    /// A pull writes snapshots into a population: defining one (which population, from where) is also a populations:write
    /// action, as an upload recorded as a run needs schedules:write besides it. A key that may only manage schedules
    /// could otherwise replace any population's records, and probe which population ids exist.
    /// </summary>
    private static async Task<ProblemHttpResult?> PullNeedsPopulationsWriteAsync(ScheduleRequest request, HttpContext http, IAuthorizationService authorization)
    {
        var pull = request.Pull is not null || string.Equals(request.Action?.Trim(), "pull", StringComparison.OrdinalIgnoreCase);
        return pull && !(await authorization.AuthorizeAsync(http.User, Policies.PopulationsWrite)).Succeeded
            ? Problems.Forbidden("A pull schedule writes into a population: defining one needs the populations:write permission besides schedules:write.")
            : null;
    }

    private static async Task<Results<Created<ScheduleResponse>, ProblemHttpResult>> Create(
        ScheduleRequest request, CurrentUser user, SyncSchedules schedules, HttpContext http, IAuthorizationService authorization, CancellationToken ct)
    {
        if (await PullNeedsPopulationsWriteAsync(request, http, authorization) is { } forbidden) return forbidden;
        var outcome = await schedules.CreateAsync(user.Caller, request.ToInput(), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Created($"/v1/schedules/{outcome.Value!.Id}", ScheduleResponse.From(outcome.Value));
    }

    private static async Task<Ok<List<ScheduleResponse>>> List(CurrentUser user, SyncSchedules schedules, CancellationToken ct) =>
        TypedResults.Ok((await schedules.ListAsync(user.Caller, ct)).Select(ScheduleResponse.From).ToList());

    private static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> Get(string scheduleId, CurrentUser user, SyncSchedules schedules, CancellationToken ct) =>
        await schedules.GetAsync(user.Caller, scheduleId, ct) is { Value: { } s } ? TypedResults.Ok(ScheduleResponse.From(s)) : Problems.NotFound("schedule");

    private static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> Replace(
        string scheduleId, ScheduleRequest request, CurrentUser user, SyncSchedules schedules, HttpContext http, IAuthorizationService authorization,
        CancellationToken ct)
    {
        if (await PullNeedsPopulationsWriteAsync(request, http, authorization) is { } forbidden) return forbidden;
        var outcome = await schedules.ReplaceAsync(user.Caller, scheduleId, request.ToInput(), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(ScheduleResponse.From(outcome.Value!));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string scheduleId, CurrentUser user, SyncSchedules schedules, CancellationToken ct) =>
        (await schedules.DeleteAsync(user.Caller, scheduleId, ct)).Failure is { } failure ? Problems.From(failure) : TypedResults.NoContent();

    private static async Task<Results<Accepted<RunAcceptedResponse>, ProblemHttpResult>> RunNow(
        string scheduleId, CurrentUser user, SyncSchedules schedules, CancellationToken ct)
    {
        var outcome = await schedules.RunNowAsync(user.Caller, scheduleId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Accepted($"/v1/schedules/{scheduleId}/runs", new RunAcceptedResponse(outcome.Value!.Id, outcome.Value.Status));
    }

    private static async Task<Results<Ok<RunPage>, ProblemHttpResult>> Runs(
        string scheduleId, [FromQuery] int? limit, [FromQuery] string? before, CurrentUser user, SyncSchedules schedules, CancellationToken ct)
    {
        var size = limit ?? 50;
        var outcome = await schedules.RunsAsync(user.Caller, scheduleId, before, size, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var runs = outcome.Value!;
        return TypedResults.Ok(new RunPage(runs.Select(RunResponse.From).ToList(), runs.Count == size ? runs[^1].Id : null));
    }
}
