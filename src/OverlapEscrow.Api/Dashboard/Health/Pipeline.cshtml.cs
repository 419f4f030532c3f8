using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Health;

namespace OverlapEscrow.Api.Dashboard.Health;

/// <summary>My pipeline against my partners' customers (PipelineHealth, the same figures as GET /v1/health/pipeline).</summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class PipelineModel(PipelineHealth health) : DashboardPage
{
    public PipelineReport? Report { get; private set; }

    [BindProperty(SupportsGet = true, Name = "period")] public string? Period { get; set; }
    [BindProperty(SupportsGet = true, Name = "currency")] public string? Currency { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var outcome = await health.ReportAsync(Caller, string.IsNullOrWhiteSpace(Period) ? null : Period, string.IsNullOrWhiteSpace(Currency) ? null : Currency, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Report = outcome.Value;
        return Page();
    }
}
