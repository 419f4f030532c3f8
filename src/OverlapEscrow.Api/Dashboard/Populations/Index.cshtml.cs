using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>My populations with their record counts and last upload; create one (PopulationCatalog, as POST /v1/populations).</summary>
[DashboardAuthorize(Policies.PopulationsRead)]
public sealed class IndexModel(PopulationCatalog populations) : DashboardPage
{
    public IReadOnlyList<PopulationSummary> Populations { get; private set; } = [];
    public bool CanWrite { get; private set; }

    [BindProperty(Name = "name")] public string? Name { get; set; }
    [BindProperty(Name = "type")] public string? Type { get; set; } = "customers";

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PopulationsWrite)) return ForbiddenPage("Your role cannot create populations.");
        var outcome = await populations.CreateAsync(Caller, new PopulationInput(Name, Type), ct);
        if (outcome.Failure is { } failure)
        {
            await LoadAsync(ct);
            return Fail(failure);
        }
        return Redirect($"/populations/{outcome.Value!.Id}?created=1");
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        Populations = await populations.ListAsync(Caller, ct);
        CanWrite = await AllowsAsync(Policies.PopulationsWrite);
    }
}
