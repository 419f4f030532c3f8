using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Sharing;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// A cell's overlap history as a chart, drawn on the server as SVG from OverlapReports.HistoryAsync: every point is
/// as HistoryTrend released it under the partner's rule in force now (withheld points carry no count).
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class TrendModel(OverlapReports reports, PartnershipLifecycle partnerships, SharingChanges sharing, TimeProvider time) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public HistoryCell? Cell { get; private set; }
    public string MyName { get; private set; } = "";
    public string TheirName { get; private set; } = "";
    public string BasePath { get; private set; } = "";
    public TrendChart? Chart { get; private set; }

    public async Task<IActionResult> OnGetAsync(string partnershipId, string mine, string theirs, CancellationToken ct)
    {
        BasePath = $"/partnerships/{partnershipId}/cells/{mine}/{theirs}";
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var history = await reports.HistoryAsync(Caller, partnershipId, null, null, ct);
        if (history.Failure is { } failure) return Fail(failure);
        Cell = history.Value!.Cells.FirstOrDefault(c => c.MyPopulationId == mine && c.PartnerPopulationId == theirs);
        // A cell that does not exist for me (hidden, or not one of mine) answers as the API answers it.
        if (Cell is null) return NotFoundPage("No partner population with that id is visible to you.");
        // The names as the sharing view tells them (mine, and the partner populations that exist for me).
        var names = await sharing.GetForPartnershipAsync(Caller, partnershipId, ct);
        MyName = names.Value?.Mine.FirstOrDefault(p => p.PopulationId == mine)?.PopulationName ?? "";
        TheirName = names.Value?.Theirs.FirstOrDefault(p => p.Population.Id == theirs)?.Population.Name ?? "";
        Chart = TrendChart.Draw(Cell.Points, Cell.MinimumCount, time.GetUtcNow());
        return Page();
    }
}
