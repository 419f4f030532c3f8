using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>One schedule: its definition, next runs in its zone, each run with its counts and error; run now, pause, resume.</summary>
[DashboardAuthorize(Policies.SchedulesRead)]
public sealed class DetailModel(SyncSchedules schedules, PopulationCatalog populations, TimeProvider time) : DashboardPage
{
    public Schedule? Schedule { get; private set; }
    public IReadOnlyList<SyncRun> Runs { get; private set; } = [];
    public IReadOnlyList<DateTimeOffset> NextRuns { get; private set; } = [];
    public TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;
    public string? PopulationName { get; private set; }
    public bool CanWrite { get; private set; }

    public async Task<IActionResult> OnGetAsync(string scheduleId, CancellationToken ct) => await LoadAsync(scheduleId, ct) ?? Page();

    public async Task<IActionResult> OnPostRunAsync(string scheduleId, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.SchedulesWrite)) return await LoadAsync(scheduleId, ct) ?? ForbiddenPage("Your role cannot run schedules.");
        var outcome = await schedules.RunNowAsync(Caller, scheduleId, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = "Run queued; it starts as soon as no other run of this schedule is going. Reload to see it finish.";
        return await LoadAsync(scheduleId, ct) ?? Page();
    }

    public async Task<IActionResult> OnPostPauseAsync(string scheduleId, bool enable, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.SchedulesWrite)) return await LoadAsync(scheduleId, ct) ?? ForbiddenPage("Your role cannot change schedules.");
        var current = await schedules.GetAsync(Caller, scheduleId, ct);
        if (current.Failure is { } missing) return Fail(missing);
        var outcome = await schedules.ReplaceAsync(Caller, scheduleId, ScheduleForm.From(current.Value!).WithEnabled(enable).ToInput(), ct);
        if (outcome.Failure is { } failure)
        {
            await LoadAsync(scheduleId, ct);
            return Fail(failure);
        }
        Notice = enable ? "Resumed: it runs again from its next occurrence." : "Paused: it does not run until resumed (Run now still works).";
        return await LoadAsync(scheduleId, ct) ?? Page();
    }

    private async Task<IActionResult?> LoadAsync(string scheduleId, CancellationToken ct)
    {
        var schedule = await schedules.GetAsync(Caller, scheduleId, ct);
        if (schedule.Failure is { } missing) return Fail(missing);
        Schedule = schedule.Value!;
        Runs = (await schedules.RunsAsync(Caller, scheduleId, null, 50, ct)).Value ?? [];
        Zone = TimeZoneInfo.TryFindSystemTimeZoneById(Schedule.TimeZone, out var z) ? z : TimeZoneInfo.Utc;
        NextRuns = Schedule.Enabled ? CronText.NextRuns(Schedule.Cron, Schedule.TimeZone, time.GetUtcNow(), 5) : [];
        if (Schedule.PopulationId is { } pid) PopulationName = (await populations.GetAsync(Caller, pid, ct)).Value?.Name;
        CanWrite = await AllowsAsync(Policies.SchedulesWrite);
        return null;
    }
}
