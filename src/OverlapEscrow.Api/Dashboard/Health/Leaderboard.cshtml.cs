using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Health;

namespace OverlapEscrow.Api.Dashboard.Health;

/// <summary>The partner leaderboard (PipelineHealth.LeaderboardAsync, the same as GET /v1/health/leaderboard).</summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class LeaderboardModel(PipelineHealth health) : DashboardPage
{
    public Leaderboard? Board { get; private set; }

    [BindProperty(SupportsGet = true, Name = "period")] public string? Period { get; set; }
    [BindProperty(SupportsGet = true, Name = "currency")] public string? Currency { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var outcome = await health.LeaderboardAsync(Caller, string.IsNullOrWhiteSpace(Period) ? null : Period, string.IsNullOrWhiteSpace(Currency) ? null : Currency, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Board = outcome.Value;
        return Page();
    }
}
