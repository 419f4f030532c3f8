using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>
/// One of my populations: its record count and last upload, its recent uploads (committed versions, and refused
/// uploads with their row errors), its default sharing rule, the attributes its uploads carry, and how to upload.
/// </summary>
[DashboardAuthorize(Policies.PopulationsRead)]
public sealed class DetailModel(PopulationCatalog populations, SharingChanges sharing) : DashboardPage
{
    public PopulationSummary? Population { get; private set; }
    public IReadOnlyList<UploadRecord> Uploads { get; private set; } = [];
    public SharingSetting? Default { get; private set; }
    public IReadOnlyList<string> AttributeNames { get; private set; } = [];
    public bool CanUpload { get; private set; }
    public string CliCommand { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string populationId, bool created, CancellationToken ct)
    {
        var population = await populations.GetAsync(Caller, populationId, ct);
        if (population.Failure is { } missing) return Fail(missing);
        Population = population.Value;
        Uploads = (await populations.RecentUploadsAsync(Caller, populationId, 10, ct)).Value ?? [];
        Default = (await sharing.GetDefaultAsync(Caller, populationId, ct)).Value;
        AttributeNames = (await populations.AttributeNamesAsync(Caller, populationId, ct)).Value ?? [];
        CanUpload = await AllowsAsync(Policies.PopulationsWrite);
        CliCommand = Cli.UploadCommand($"{Request.Scheme}://{Request.Host}", Population!.Id, AttributeNames);
        if (created) Notice = $"Created {Population.Name}. Upload its accounts next; it stays hidden from partners until you share it.";
        return Page();
    }
}
