using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// The overlap matrix of one partnership, as OverlapReports.MatrixAsync releases it: my populations × the partner's
/// populations that exist for me; each cell's count exactly as released (withheld below a minimum is marked, never
/// computed here); shading from the released counts only.
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class MatrixModel(OverlapReports reports, PartnershipLifecycle partnerships) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public OverlapMatrix? Matrix { get; private set; }
    public int MaxCount { get; private set; }

    public async Task<IActionResult> OnGetAsync(string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var matrix = await reports.MatrixAsync(Caller, partnershipId, ct);
        if (matrix.Failure is { } failure) return Fail(failure);
        Matrix = matrix.Value;
        MaxCount = Matrix!.Cells.Select(c => c.Count.Value ?? 0).DefaultIfEmpty(0).Max();
        return Page();
    }

    /// <summary>Whether any cell's two sides were hashed under different specification versions (the API's <c>hashingSpecMismatch</c>).</summary>
    public bool AnySpecMismatch => Matrix?.Cells.Any(c => c.SpecMismatch is not null) == true;

    public MatrixCell? Cell(string mine, string theirs) =>
        Matrix!.Cells.FirstOrDefault(c => c.MyPopulationId == mine && c.PartnerPopulationId == theirs);

    /// <summary>A shade from 1 (smallest) to 5 (largest released count); 0 for a withheld or empty cell.</summary>
    public int Shade(MatrixCell cell) =>
        cell.Count.Value is int n && n > 0 && MaxCount > 0 ? Math.Clamp((int)Math.Ceiling(5.0 * n / MaxCount), 1, 5) : 0;
}
