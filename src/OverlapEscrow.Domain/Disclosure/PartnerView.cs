using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// Everything one side of a partnership (the viewer) may be told about the other, and the facts every disclosure
/// rule decides from: both sides' populations and rules as stored now. It is loaded fresh for each request, so a
/// changed rule or a termination applies to the very next request. Holding a view discloses nothing by itself:
/// the rules in this folder decide what of it may leave the escrow.
/// </summary>
public sealed record PartnerView(
    Partnership Partnership,
    string MyOrganizationId,
    PartnerOrganization Partner,
    IReadOnlyList<PopulationSummary> MyPopulations,
    IReadOnlyList<PopulationSummary> PartnerPopulations,
    IReadOnlyList<SharingRule> PartnerRules,
    IReadOnlyList<SharingRule> MyRules)
{
    /// <summary>What the partner permits me to see of its population when I compare my population with it.</summary>
    public EffectiveSharing PartnerShares(string myPopulationId, string partnerPopulationId) =>
        SharingPolicy.Resolve(PartnerRules, partnerPopulationId, Partnership.Id, myPopulationId);

    /// <summary>What I permit the partner to see of my population when it compares its population with it.</summary>
    public EffectiveSharing IShare(string myPopulationId, string partnerPopulationId) =>
        SharingPolicy.Resolve(MyRules, myPopulationId, Partnership.Id, partnerPopulationId);

    /// <summary>The partner populations that exist for me (<see cref="PartnerVisibility"/>).</summary>
    public IReadOnlyList<PopulationSummary> VisiblePartnerPopulations => PartnerVisibility.VisiblePopulations(this);

    /// <summary>The view of the other side of the same partnership, built from the same facts.</summary>
    public PartnerView Mirror(PartnerOrganization me) =>
        new(Partnership, Partner.Id, me, PartnerPopulations, MyPopulations, MyRules, PartnerRules);
}
