using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Signals;

public enum DataRequestStatus { Open, Answered, Declined }

/// <summary>
/// A request, made on a counts-only cell, for more than counts: the requester (the viewer of the cell) asks the owner of
/// the partner population to share more of it with one of the requester's populations. <see cref="RequesterPopulationId"/>
/// is the requester's population, <see cref="OwnerPopulationId"/> the owner's counts-only population. Once answered,
/// <see cref="AnsweredLevel"/>/<see cref="AnsweredFields"/> are the rule the owner set for the cell in the same
/// transaction (the answer is that sharing change); once declined, <see cref="Reason"/> is the owner's note, if any.
/// The texts are sealed at rest under their author's data key (the message and <see cref="RequesterPopulationName"/>
/// under the requester's, the reason under the owner's): once that organization is erased they cannot be read, and
/// <see cref="MessageErased"/>/<see cref="ReasonErased"/> say so (the text is then empty).
/// </summary>
public sealed record DataRequest(
    string Id,
    string PartnershipId,
    string RequesterOrganizationId,
    string OwnerOrganizationId,
    string RequesterPopulationId,
    string OwnerPopulationId,
    string Message,
    DataRequestStatus Status,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? ResolvedAt,
    string? ResolvedBy,
    SharingLevel? AnsweredLevel,
    IReadOnlyList<string> AnsweredFields,
    string? Reason)
{
    /// <summary>The name the requester's population had when it asked (null when unknown: a request stored before this was kept).</summary>
    public string? RequesterPopulationName { get; init; }

    /// <summary>The message was sealed under the key of an organization that was erased since: it cannot be read.</summary>
    public bool MessageErased { get; init; }

    /// <summary>The decline reason was sealed under the key of an organization that was erased since.</summary>
    public bool ReasonErased { get; init; }

    /// <summary>Which side of the request an organization is on; null when it is on neither.</summary>
    public DataRequestSide? SideOf(string organizationId) =>
        organizationId == RequesterOrganizationId ? DataRequestSide.Requester
        : organizationId == OwnerOrganizationId ? DataRequestSide.Owner
        : null;
}

public enum DataRequestSide { Requester, Owner }
