using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// Which partner populations may serve as attribution evidence for the viewer's opportunities, and what the viewer
/// is shown of evidence recorded earlier. Evidence says "this account of mine was in that partner population then":
/// it is record-level, so it comes only from cells the partner shares at the overlaps level now, and only from
/// history points recorded at that level (they alone hold record ids). A counts-only or hidden population never
/// yields evidence, so attribution cannot be used to learn which accounts a partner has there.
/// </summary>
public static class AttributionEvidenceRule
{
    /// <summary>The partner populations whose history with my population may be used as evidence now.</summary>
    public static IReadOnlyList<PopulationSummary> Sources(PartnerView view, string myPopulationId) =>
        PartnerVisibility.VisiblePopulations(view)
            .Where(p => CellAccess.Decide(view, myPopulationId, p.Id) is CellAccess.Records)
            .ToList();

    /// <summary>
    /// Evidence recorded with a claim, as a side reads it now: entries naming a partner population that no longer
    /// exists for the reader keep their spans but lose the population's id and name (a population hidden since reads
    /// like one that was deleted). The owner of the populations (the partner named) always reads its own.
    /// </summary>
    public static IReadOnlyList<AttributionEvidence> AsClaimantReads(PartnerView claimant, IReadOnlyList<AttributionEvidence> evidence)
    {
        var visible = PartnerVisibility.VisiblePopulations(claimant).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        return evidence.Select(e => visible.Contains(e.PartnerPopulationId) ? e : e with { PartnerPopulationId = "", PartnerPopulationName = "" }).ToList();
    }

    /// <summary>Whether a history point may serve as evidence: recorded at the overlaps level.</summary>
    public static bool Usable(SharingLevel recordedAt) => recordedAt == SharingLevel.Overlaps;
}
