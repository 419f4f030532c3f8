using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>The overlap of one cell from one side, with the two versions it was computed from.</summary>
public sealed record CellOverlap(OverlapResult Result, PopulationData Mine, PopulationData Theirs);

/// <summary>Computes (or finds cached) the overlap of one cell; the one place reports and refreshes get partner data from.</summary>
public sealed class OverlapComputation(IPopulationRepository populations, PopulationDataCache data, OverlapCache overlaps)
{
    /// <summary>The overlap of my population with the partner's, from my side. Only call it for cells the partner does not hide.</summary>
    /// <param name="matches">Which matches to keep: the default view, or possible matches too (a separate cached result).</param>
    public async Task<CellOverlap> ComputeAsync(PartnerView view, PopulationSummary mine, PopulationSummary theirs, CancellationToken ct,
        MatchView matches = MatchView.Default)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var myData = await data.GetAsync(view.MyOrganizationId, mine.Id, mine.CurrentVersionId, ct);
                var theirData = await data.GetAsync(view.Partner.Id, theirs.Id, theirs.CurrentVersionId, ct);
                return new CellOverlap(await overlaps.GetAsync(view.Partnership.Id, mine.Id, myData, theirs.Id, theirData, ct, matches), myData, theirData);
            }
            catch (VersionGoneException) when (attempt < 2)
            {
                // A newer version was committed meanwhile: use it. Superseded versions leave memory at once, so under
                // frequent uploads the newest can be superseded again before it is loaded; a third try makes that a
                // matter of milliseconds twice in a row.
                mine = await populations.GetAsync(view.MyOrganizationId, mine.Id, ct) ?? mine;
                theirs = await populations.GetAsync(view.Partner.Id, theirs.Id, ct) ?? theirs;
            }
        }
    }
}
