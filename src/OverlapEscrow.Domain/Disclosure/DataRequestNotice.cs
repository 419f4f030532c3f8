using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// The data of data_request.created (to the owner), .answered and .declined (to the requester): which request, in
/// which partnership, its status and the other side's slug and name. No population ids, no message, no level: the
/// receiver reads those through the API, under the rules in force when it reads (a population hidden between the event
/// and the read is then not named).
/// </summary>
public sealed record DataRequestNotice(string RequestId, string PartnershipId, DataRequestStatus Status, PartnershipNotice.OtherSide Partner)
{
    public static DataRequestNotice For(DataRequest request, PartnerOrganization otherSide) =>
        new(request.Id, request.PartnershipId, request.Status, new PartnershipNotice.OtherSide(otherSide.Slug, otherSide.Name));
}
