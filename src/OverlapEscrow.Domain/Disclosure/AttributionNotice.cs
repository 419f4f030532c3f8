using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// The data of attribution.claimed (to the partner named) and attribution.confirmed/.disputed (to the claimant): the
/// claim, its partnership, role and status, and the other side. No opportunity field, no population, no evidence:
/// the receiver reads the claim through the API.
/// </summary>
public sealed record AttributionNotice(string ClaimId, string PartnershipId, AttributionRole Role, AttributionStatus Status, PartnershipNotice.OtherSide Partner)
{
    public static AttributionNotice For(AttributionClaim claim, PartnerOrganization otherSide) =>
        new(claim.Id, claim.PartnershipId, claim.Role, claim.Status, new PartnershipNotice.OtherSide(otherSide.Slug, otherSide.Name));
}
