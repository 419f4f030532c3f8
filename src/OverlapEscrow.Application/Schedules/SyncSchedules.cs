using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Schedules;

/// <summary>Sync schedules: when (cron + time zone) and what (pull a snapshot, or refresh overlaps), and each run's history.</summary>
public sealed class SyncSchedules(IScheduleRepository schedules, ITransactions transactions, ScheduleValidation validation, ScheduleSecrets secrets,
    ScheduleRunner runner, IOptions<ScheduleOptions> options, TimeProvider time)
{
    public const int MaxRunsPage = 500;

    public async Task<Outcome<Schedule>> CreateAsync(Caller caller, ScheduleInput input, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var valid = await validation.ValidateAsync(input, caller.OrganizationId, null, errors, ct);
        if (valid is null) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var schedule = await DefineAsync(Ids.New("sch"), caller.OrganizationId, caller.Actor, valid, null, now, now, ct);
        await using var uow = await transactions.BeginAsync(ct);
        switch (await uow.Schedules.CreateAsync(schedule, options.Value.MaxPerOrganization, ct))
        {
            case ScheduleWriteOutcome.NameTaken: return new Failure.Conflict("You already have a schedule with this name.");
            case ScheduleWriteOutcome.TooMany:
                return new Failure.Conflict($"An organization has at most {options.Value.MaxPerOrganization} schedules; delete one first.");
        }
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "schedule.created", null,
            new { scheduleId = schedule.Id, action = Wire(schedule.Kind), schedule.Cron, schedule.TimeZone, schedule.Enabled }), ct);
        await uow.CommitAsync(ct);
        return schedule;
    }

    public async Task<IReadOnlyList<Schedule>> ListAsync(Caller caller, CancellationToken ct)
    {
        var list = new List<Schedule>();
        foreach (var schedule in await schedules.ListAsync(caller.OrganizationId, ct))
            if (await secrets.TryOpenSourceAsync(schedule, ct) is { } opened) list.Add(opened);
        return list;
    }

    public async Task<Outcome<Schedule>> GetAsync(Caller caller, string scheduleId, CancellationToken ct) =>
        await schedules.GetAsync(caller.OrganizationId, scheduleId, ct) is { } s && await secrets.TryOpenSourceAsync(s, ct) is { } opened
            ? opened : new Failure.NotFound("schedule");

    /// <summary>Replaces a schedule's definition; its history, last run and lease are kept.</summary>
    public async Task<Outcome<Schedule>> ReplaceAsync(Caller caller, string scheduleId, ScheduleInput input, CancellationToken ct)
    {
        if (await schedules.GetAsync(caller.OrganizationId, scheduleId, ct) is not { } stored
            || await secrets.TryOpenSourceAsync(stored, ct) is not { } existing) return new Failure.NotFound("schedule");
        var errors = new FieldErrors();
        var valid = await validation.ValidateAsync(input, caller.OrganizationId, existing, errors, ct);
        if (valid is null) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var schedule = await DefineAsync(existing.Id, existing.OrganizationId, existing.CreatedBy, valid, existing, existing.CreatedAt, now, ct);
        await using var uow = await transactions.BeginAsync(ct);
        switch (await uow.Schedules.UpdateAsync(schedule, ct))
        {
            case ScheduleWriteOutcome.NotFound: return new Failure.NotFound("schedule");
            case ScheduleWriteOutcome.NameTaken: return new Failure.Conflict("You already have a schedule with this name.");
        }
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "schedule.updated", null,
            new { scheduleId, action = Wire(schedule.Kind), schedule.Cron, schedule.TimeZone, schedule.Enabled }), ct);
        var updated = await uow.Schedules.GetAsync(caller.OrganizationId, scheduleId, ct);
        await uow.CommitAsync(ct);
        return await secrets.OpenSourceAsync(updated!, ct);
    }

    public async Task<Outcome<bool>> DeleteAsync(Caller caller, string scheduleId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        switch (await uow.Schedules.DeleteAsync(caller.OrganizationId, scheduleId, now, ct))
        {
            case ScheduleWriteOutcome.NotFound: return new Failure.NotFound("schedule");
            case ScheduleWriteOutcome.Running: return new Failure.Conflict("A run of this schedule is in progress; delete it when the run has finished.");
        }
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "schedule.deleted", null, new { scheduleId }), ct);
        await uow.CommitAsync(ct);
        return true;
    }

    /// <summary>Queues a run now (also when paused); it runs in the background as soon as the schedule's lease is free.</summary>
    public async Task<Outcome<SyncRun>> RunNowAsync(Caller caller, string scheduleId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        SyncRun? queued;
        await using (var uow = await transactions.BeginAsync(ct))
        {
            queued = await uow.Schedules.QueueRunAsync(caller.OrganizationId, scheduleId, Ids.New("run"), now, ct);
            if (queued is null) return new Failure.NotFound("schedule");
            await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "schedule.run_requested", null, new { scheduleId, runId = queued.Id }), ct);
            await uow.CommitAsync(ct);
        }
        runner.RunQueuedSoon(caller.OrganizationId, scheduleId);
        return queued;
    }

    public async Task<Outcome<IReadOnlyList<SyncRun>>> RunsAsync(Caller caller, string scheduleId, string? before, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxRunsPage) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxRunsPage}.");
        if (await schedules.GetAsync(caller.OrganizationId, scheduleId, ct) is null) return new Failure.NotFound("schedule");
        return (await schedules.ListRunsAsync(caller.OrganizationId, scheduleId, before, limit, ct)).ToList();
    }

    private async Task<Schedule> DefineAsync(string id, string organizationId, string createdBy, ValidSchedule v, Schedule? existing,
        DateTimeOffset createdAt, DateTimeOffset now, CancellationToken ct)
    {
        SealedValue? secret = null;
        if (v.NewSecretValue is not null) secret = await secrets.SealAsync(organizationId, id, v.NewSecretValue, ct);
        else if (v.KeepSecret) secret = existing!.SecretValue;
        // The source URL is stored sealed only; the schedule returned carries it opened as well.
        var sealedUrl = v.Url is null ? null : await secrets.SealSourceAsync(organizationId, id, v.Url, ct);

        // A new, re-timed or resumed schedule starts from now; otherwise it keeps its next occurrence.
        DateTimeOffset? nextAt = null;
        string? nextWall = null;
        if (v.Enabled)
        {
            if (existing is { Enabled: true, NextRunAt: not null } && existing.Cron == v.Cron.Expression && existing.TimeZone == v.Cron.Zone.Id)
                (nextAt, nextWall) = (existing.NextRunAt, existing.NextRunWall);
            else
            {
                var first = v.Cron.FirstAfter(now);
                (nextAt, nextWall) = (first.At, first.WallText);
            }
        }
        return new Schedule(id, organizationId, v.Name, v.Cron.Expression, v.Cron.Zone.Id, v.Enabled, v.Kind, v.PopulationId, v.Format, v.OnError, v.Url,
            secret is null ? null : v.SecretHeaderName, secret, v.Directory, v.Pattern, nextAt, nextWall, existing?.LastRunId, existing?.LastRunStatus,
            existing?.LastRunAt, existing?.LeaseOwner, existing?.LeaseUntil, createdBy, createdAt, now, v.HashingSpec, sealedUrl);
    }

    private static string Wire(ScheduleKind kind) => kind.ToString().ToLowerInvariant();
}
