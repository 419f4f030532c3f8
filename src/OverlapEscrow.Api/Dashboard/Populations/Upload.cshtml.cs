using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>
/// Upload a CRM export from the browser: hashed there (wwwroot/js/hashing.js, docs/hashing.md), sent as NDJSON of
/// hashes to the API's upload use case. Without a browser that can hash, the page gives the CLI command.
/// </summary>
[DashboardAuthorize(Policies.PopulationsWrite)]
public sealed class UploadModel(PopulationCatalog populations) : DashboardPage
{
    public PopulationSummary? Population { get; private set; }
    public string CliCommand { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string populationId, CancellationToken ct)
    {
        var population = await populations.GetAsync(Caller, populationId, ct);
        if (population.Failure is { } missing) return Fail(missing);
        Population = population.Value;
        var attributes = (await populations.AttributeNamesAsync(Caller, populationId, ct)).Value ?? [];
        CliCommand = Cli.UploadCommand($"{Request.Scheme}://{Request.Host}", Population!.Id, attributes);
        return Page();
    }
}
