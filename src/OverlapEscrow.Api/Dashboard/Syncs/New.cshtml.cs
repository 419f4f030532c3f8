using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>Create a sync schedule (SyncSchedules.CreateAsync, the same validation as POST /v1/schedules).</summary>
[DashboardAuthorize(Policies.SchedulesWrite)]
public sealed class NewModel(SyncSchedules schedules, PopulationCatalog populations) : DashboardPage
{
    public ScheduleForm Form { get; private set; } = new();
    public IReadOnlyList<PopulationSummary> Populations { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct) => Populations = await populations.ListAsync(Caller, ct);

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Form = ScheduleForm.Read(Request.Form);
        var outcome = await schedules.CreateAsync(Caller, Form.ToInput(), ct);
        if (outcome.Failure is { } failure)
        {
            Populations = await populations.ListAsync(Caller, ct);
            Form.SecretHeaderValue = null;
            return Fail(failure);
        }
        return Redirect($"/syncs/{outcome.Value!.Id}");
    }
}
