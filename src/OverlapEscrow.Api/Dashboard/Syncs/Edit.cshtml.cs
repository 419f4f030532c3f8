using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>Edit a sync schedule (SyncSchedules.ReplaceAsync, as PUT /v1/schedules/{id}); history, last run and lease are kept.</summary>
[DashboardAuthorize(Policies.SchedulesWrite)]
public sealed class EditModel(SyncSchedules schedules, PopulationCatalog populations) : DashboardPage
{
    public ScheduleForm Form { get; private set; } = new();
    public IReadOnlyList<PopulationSummary> Populations { get; private set; } = [];
    public string ScheduleId { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string scheduleId, CancellationToken ct)
    {
        var schedule = await schedules.GetAsync(Caller, scheduleId, ct);
        if (schedule.Failure is { } missing) return Fail(missing);
        ScheduleId = scheduleId;
        Form = ScheduleForm.From(schedule.Value!);
        Populations = await populations.ListAsync(Caller, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string scheduleId, CancellationToken ct)
    {
        ScheduleId = scheduleId;
        Form = ScheduleForm.Read(Request.Form);
        var outcome = await schedules.ReplaceAsync(Caller, scheduleId, Form.ToInput(), ct);
        if (outcome.Failure is { } failure)
        {
            Populations = await populations.ListAsync(Caller, ct);
            Form.SecretConfigured = (await schedules.GetAsync(Caller, scheduleId, ct)).Value?.SecretValue is not null;
            Form.SecretHeaderValue = null;
            return Fail(failure);
        }
        return Redirect($"/syncs/{scheduleId}");
    }
}
