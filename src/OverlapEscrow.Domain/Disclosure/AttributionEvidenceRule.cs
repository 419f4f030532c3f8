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
    /// Evidence recorded with a claim, as the claimant reads it now: only the entries whose partner population the partner
    /// still shares with the claim's population at the overlaps level, in a partnership that still shares data. Evidence
    /// is record-level overlap data, so lowering a population to counts, hiding or deleting it, or ending the partnership
    /// withdraws it from the next read, as it withdraws the lists (docs/health.md, "The ledger"). A withdrawn entry is
    /// dropped whole — spans included — and reads the same whichever of those happened.
    /// </summary>
    public static IReadOnlyList<AttributionEvidence> AsClaimantReads(PartnerView claimant, string claimPopulationId, IReadOnlyList<AttributionEvidence> evidence) =>
        evidence.Where(e => CellAccess.Decide(claimant, claimPopulationId, e.PartnerPopulationId) is CellAccess.Records).ToList();

    /// <summary>
    /// Evidence recorded with a claim, as the partner it names reads it now: its own populations, while the partnership
    /// shares data; none once it has ended.
    /// </summary>
    public static IReadOnlyList<AttributionEvidence> AsPartnerReads(PartnerView partner, IReadOnlyList<AttributionEvidence> evidence) =>
        partner.Partnership.SharesData ? evidence : [];

    /// <summary>Whether a history point may serve as evidence: recorded at the overlaps level.</summary>
    public static bool Usable(SharingLevel recordedAt) => recordedAt == SharingLevel.Overlaps;
}
