using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>The data of partnership.invited, .accepted and .terminated, as each side receives it.</summary>
public sealed record PartnershipNotice(string PartnershipId, PartnershipStatus Status, PartnershipNotice.OtherSide Partner)
{
    /// <summary>The other side as a notice names it: its slug and name, never its id or anything of its data.</summary>
    public sealed record OtherSide(string Slug, string Name);

    /// <summary>What one side is told about a partnership's change, naming <paramref name="partner"/>, the other side.</summary>
    public static PartnershipNotice For(Partnership partnership, PartnerOrganization partner) =>
        new(partnership.Id, partnership.Status, new OtherSide(partner.Slug, partner.Name));
}
