using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Health;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Health;

namespace OverlapEscrow.Api.Dashboard.Health;

/// <summary>The printable leadership report and its CSV (PipelineHealth.LeadershipReportAsync, as GET /v1/health/report).</summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class ReportModel(PipelineHealth health) : DashboardPage
{
    public LeadershipReport? Report { get; private set; }

    [BindProperty(SupportsGet = true, Name = "period")] public string? Period { get; set; }
    [BindProperty(SupportsGet = true, Name = "currency")] public string? Currency { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var outcome = await health.LeadershipReportAsync(Caller, Blank(Period), Blank(Currency), ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Report = outcome.Value;
        return Page();
    }

    public async Task<IActionResult> OnGetCsvAsync(CancellationToken ct)
    {
        var outcome = await health.LeadershipReportAsync(Caller, Blank(Period), Blank(Currency), ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        await ReportCsv.WriteAsync(HttpContext, outcome.Value!, ct);
        return new EmptyResult();
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
