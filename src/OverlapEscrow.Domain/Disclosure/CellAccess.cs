using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// The one access rule for the record-level results of a cell (its list, its CSV export, what is new since a time):
/// what the viewer may get when it asks for the records of my population × a partner population.
/// </summary>
public abstract record CellAccess
{
    private CellAccess() { }

    /// <summary>The partnership is not active: it has no overlaps to report, at any level.</summary>
    public sealed record PartnershipInactive : CellAccess;

    /// <summary>
    /// The cell does not exist for the viewer: <see cref="What"/> is "population" when the first id is not one of the
    /// viewer's populations, "partner population" when the second is not the partner's or the partner hides it — a
    /// hidden population answers exactly like one that does not exist.
    /// </summary>
    public sealed record NotFound(string What) : CellAccess;

    /// <summary>The partner shares only counts for this cell: the matrix and the history show them, no records.</summary>
    public sealed record CountsOnly(PopulationSummary Mine, PopulationSummary Theirs, EffectiveSharing Sharing) : CellAccess;

    /// <summary>
    /// The viewer may read its overlapping records, each with the partner fields of <see cref="Sharing"/>.
    /// <see cref="MineSharedAs"/> is the level at which the viewer shares its own population of the cell with the
    /// partner: what the partner may learn of a read of it (<see cref="PartnerAuditView"/>).
    /// </summary>
    public sealed record Records(PopulationSummary Mine, PopulationSummary Theirs, EffectiveSharing Sharing, SharingLevel MineSharedAs) : CellAccess;

    /// <summary>
    /// The rule as it applies to the partner's records: the opportunity fields of an opportunities population are the
    /// owner's pipeline and never cross, even when the rule names them (docs/health.md), so lists, exports and their
    /// column headers do not name them either.
    /// </summary>
    private static EffectiveSharing WithoutOwnOnlyFields(EffectiveSharing sharing, string partnerPopulationType) =>
        sharing.Fields.Any(f => OpportunityFields.IsOwnOnly(partnerPopulationType, f))
            ? sharing with { Fields = [.. sharing.Fields.Where(f => !OpportunityFields.IsOwnOnly(partnerPopulationType, f))] }
            : sharing;

    public static CellAccess Decide(PartnerView view, string myPopulationId, string partnerPopulationId)
    {
        if (!view.Partnership.SharesData) return new PartnershipInactive();
        var mine = view.MyPopulations.FirstOrDefault(p => p.Id == myPopulationId);
        if (mine is null) return new NotFound("population");
        var theirs = view.PartnerPopulations.FirstOrDefault(p => p.Id == partnerPopulationId);
        var sharing = theirs is null ? EffectiveSharing.Hidden : view.PartnerShares(mine.Id, theirs.Id);
        return sharing.Level switch
        {
            SharingLevel.Overlaps => new Records(mine, theirs!, WithoutOwnOnlyFields(sharing, theirs!.Type), view.IShare(mine.Id, theirs!.Id).Level),
            SharingLevel.Counts => new CountsOnly(mine, theirs!, sharing),
            _ => new NotFound("partner population"),
        };
    }
}
