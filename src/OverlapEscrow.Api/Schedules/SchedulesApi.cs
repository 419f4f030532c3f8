using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Schedules;

namespace OverlapEscrow.Api.Schedules;

/// <summary>Sync schedules: when (cron + time zone) and what (pull a snapshot, or refresh overlaps), and each run's history.</summary>
public static class SchedulesApi
{
    public static WebApplicationBuilder AddSchedules(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ScheduleOptions>()
            .Bind(builder.Configuration.GetSection(ScheduleOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.PullDirectories.All(d => !string.IsNullOrWhiteSpace(d) && Path.IsPathFullyQualified(d)),
                "Escrow:Schedules:PullDirectories holds absolute paths only.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IScheduleRepository, Data.Schedules.ScheduleRepository>();
        builder.Services.AddSingleton<ScheduleSecrets>();
        builder.Services.AddSingleton<PullSources>();
        builder.Services.AddSingleton<SyncActions>();
        builder.Services.AddSingleton<ScheduleRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ScheduleRunner>());
        builder.Services.AddScoped<ScheduleValidation>();
        builder.Services.AddScoped<PushRuns>();
        return builder;
    }

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

    /// <summary>The services the schedule handlers use, bundled.</summary>
    public sealed record Deps(IScheduleRepository Schedules, ScheduleValidation Validation, ScheduleSecrets Secrets, IAuditRepository Audit, TimeProvider Time);

    private static async Task<Results<Created<ScheduleResponse>, ProblemHttpResult>> Create(
        ScheduleRequest request, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var valid = await deps.Validation.ValidateAsync(request, user.OrganizationId, null, errors, ct);
        if (valid is null) return errors.ToProblem();
        var now = deps.Time.GetUtcNow();
        var id = Ids.New("sch");
        var row = await ToRowAsync(id, user.OrganizationId, user.Actor, valid, null, deps, now, now, ct);
        if (!await deps.Schedules.CreateAsync(row, ct)) return Problems.Conflict("You already have a schedule with this name.");
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "schedule.created", null,
            new { scheduleId = id, action = row.Kind, row.Cron, row.TimeZone, row.Enabled }, ct);
        return TypedResults.Created($"/v1/schedules/{id}", ScheduleResponse.From(row));
    }

    private static async Task<Ok<List<ScheduleResponse>>> List(CurrentUser user, IScheduleRepository schedules, CancellationToken ct) =>
        TypedResults.Ok((await schedules.ListAsync(user.OrganizationId, ct)).Select(ScheduleResponse.From).ToList());

    private static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> Get(string scheduleId, CurrentUser user, IScheduleRepository schedules, CancellationToken ct) =>
        await schedules.GetAsync(user.OrganizationId, scheduleId, ct) is { } s ? TypedResults.Ok(ScheduleResponse.From(s)) : Problems.NotFound("schedule");

    private static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> Replace(
        string scheduleId, ScheduleRequest request, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var existing = await deps.Schedules.GetAsync(user.OrganizationId, scheduleId, ct);
        if (existing is null) return Problems.NotFound("schedule");
        var errors = new FieldErrors();
        var valid = await deps.Validation.ValidateAsync(request, user.OrganizationId, existing, errors, ct);
        if (valid is null) return errors.ToProblem();
        var now = deps.Time.GetUtcNow();
        var row = await ToRowAsync(existing.Id, existing.OrganizationId, existing.CreatedBy, valid, existing, deps, Time.FromUnixMs(existing.CreatedAt), now, ct);
        switch (await deps.Schedules.UpdateAsync(row, ct))
        {
            case ScheduleWriteOutcome.NotFound: return Problems.NotFound("schedule");
            case ScheduleWriteOutcome.NameTaken: return Problems.Conflict("You already have a schedule with this name.");
        }
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "schedule.updated", null,
            new { scheduleId, action = row.Kind, row.Cron, row.TimeZone, row.Enabled }, ct);
        return TypedResults.Ok(ScheduleResponse.From((await deps.Schedules.GetAsync(user.OrganizationId, scheduleId, ct))!));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string scheduleId, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var now = deps.Time.GetUtcNow();
        switch (await deps.Schedules.DeleteAsync(user.OrganizationId, scheduleId, Time.ToUnixMs(now), ct))
        {
            case ScheduleWriteOutcome.NotFound: return Problems.NotFound("schedule");
            case ScheduleWriteOutcome.Running: return Problems.Conflict("A run of this schedule is in progress; delete it when the run has finished.");
        }
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "schedule.deleted", null, new { scheduleId }, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Accepted<RunAcceptedResponse>, ProblemHttpResult>> RunNow(
        string scheduleId, CurrentUser user, IScheduleRepository schedules, ScheduleRunner runner, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var queued = await schedules.QueueRunAsync(user.OrganizationId, scheduleId, Ids.New("run"), Time.ToUnixMs(now), ct);
        if (queued is null) return Problems.NotFound("schedule");
        await audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "schedule.run_requested", null, new { scheduleId, runId = queued.Id }, ct);
        runner.RunQueuedSoon(scheduleId);
        return TypedResults.Accepted($"/v1/schedules/{scheduleId}/runs", new RunAcceptedResponse(queued.Id, queued.Status));
    }

    private static async Task<Results<Ok<RunPage>, ProblemHttpResult>> Runs(
        string scheduleId, [FromQuery] int? limit, [FromQuery] string? before, CurrentUser user, IScheduleRepository schedules, CancellationToken ct)
    {
        var size = limit ?? 50;
        if (size is < 1 or > 500) return Problems.Invalid("limit", "limit is between 1 and 500.");
        if (await schedules.GetAsync(user.OrganizationId, scheduleId, ct) is null) return Problems.NotFound("schedule");
        var rows = await schedules.ListRunsAsync(user.OrganizationId, scheduleId, before, size, ct);
        return TypedResults.Ok(new RunPage(rows.Select(RunResponse.From).ToList(), rows.Count == size ? rows[^1].Id : null));
    }

    private static async Task<ScheduleRow> ToRowAsync(string id, string organizationId, string createdBy, ValidSchedule v, ScheduleRow? existing, Deps deps,
        DateTimeOffset createdAt, DateTimeOffset now, CancellationToken ct)
    {
        byte[]? nonce = null, sealedValue = null;
        if (v.NewSecretValue is not null)
            (nonce, sealedValue) = await deps.Secrets.SealAsync(organizationId, id, v.NewSecretValue, ct);
        else if (v.KeepSecret)
            (nonce, sealedValue) = (existing!.SecretNonce, existing.SecretValue);

        // A new, re-timed or resumed schedule starts from now; otherwise it keeps its next occurrence.
        long? nextAt = null;
        string? nextWall = null;
        if (v.Enabled)
        {
            if (existing is { Enabled: true, NextRunAt: not null } && existing.Cron == v.Cron.Expression && existing.TimeZone == v.Cron.Zone.Id)
                (nextAt, nextWall) = (existing.NextRunAt, existing.NextRunWall);
            else
            {
                var first = v.Cron.FirstAfter(now);
                (nextAt, nextWall) = (Time.ToUnixMs(first.At), first.WallText);
            }
        }
        return new ScheduleRow
        {
            Id = id, OrganizationId = organizationId, Name = v.Name, Cron = v.Cron.Expression, TimeZone = v.Cron.Zone.Id, Enabled = v.Enabled,
            Kind = v.Kind, PopulationId = v.PopulationId, Format = v.Format, OnError = v.OnError, SourceUrl = v.Url,
            SecretHeaderName = sealedValue is null ? null : v.SecretHeaderName, SecretNonce = nonce, SecretValue = sealedValue,
            SourceDirectory = v.Directory, SourcePattern = v.Pattern, NextRunAt = nextAt, NextRunWall = nextWall,
            CreatedBy = createdBy, CreatedAt = Time.ToUnixMs(createdAt), UpdatedAt = Time.ToUnixMs(now),
        };
    }
}
