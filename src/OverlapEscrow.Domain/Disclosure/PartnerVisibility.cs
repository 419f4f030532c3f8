using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>Which of the partner's populations exist for a viewer at all.</summary>
public static class PartnerVisibility
{
    /// <summary>
    /// Partner populations that are not hidden from the viewer for at least one of the viewer's populations (or,
    /// while the viewer has none, by the partner's rule for any population of this partnership). The rest do not
    /// exist for the viewer: not in a column, a list, an error message or an event. Before the partnership is
    /// active and after it ends, none exists.
    /// </summary>
    public static IReadOnlyList<PopulationSummary> VisiblePopulations(PartnerView view)
    {
        if (!view.Partnership.SharesData) return [];
        return view.PartnerPopulations.Where(p => view.MyPopulations.Count == 0
                ? view.PartnerShares("", p.Id).Level != SharingLevel.Hidden
                : view.MyPopulations.Any(m => view.PartnerShares(m.Id, p.Id).Level != SharingLevel.Hidden))
            .ToList();
    }

    /// <summary>
    /// The cells of the matrix that exist for the viewer, row by row: my population × a visible partner population,
    /// where the partner does not hide its population from that one of mine.
    /// </summary>
    public static IEnumerable<DisclosedCell> Cells(PartnerView view)
    {
        var columns = VisiblePopulations(view);
        foreach (var mine in view.MyPopulations)
            foreach (var theirs in columns)
            {
                var sharing = view.PartnerShares(mine.Id, theirs.Id);
                if (sharing.Level != SharingLevel.Hidden) yield return new DisclosedCell(mine, theirs, sharing);
            }
    }
}

/// <summary>
/// What a viewer is told of a partner population that exists for it: its id, name, type, when its data was last
/// updated (how fresh the overlaps with it are) and the hashing specification version it was hashed under (whether
/// the two sides' keys are comparable; it says which client the partner runs, nothing of its accounts). Never its
/// size nor its version id: a partner's record count is not the viewer's to know.
/// </summary>
public sealed record PartnerPopulationView(string Id, string Name, string Type, DateTimeOffset? DataUpdatedAt, int? HashingSpec = null)
{
    public static PartnerPopulationView Of(PopulationSummary population) =>
        new(population.Id, population.Name, population.Type, population.UpdatedAt, population.HashingSpec);
}

/// <summary>A cell that exists for the viewer, with the partner's rule in force for it (never hidden).</summary>
public sealed record DisclosedCell(PopulationSummary Mine, PopulationSummary Theirs, EffectiveSharing Sharing);
