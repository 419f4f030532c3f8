namespace OverlapEscrow.Domain.Partnerships;

public enum PartnershipStatus { Invited, Active, Declined, Terminated }

/// <summary>Two organizations that agreed (or were asked) to compare populations.</summary>
public sealed record Partnership(
    string Id,
    string InviterOrganizationId,
    string InviteeOrganizationId,
    PartnershipStatus Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RespondedAt,
    DateTimeOffset? TerminatedAt)
{
    public bool Involves(string organizationId) =>
        InviterOrganizationId == organizationId || InviteeOrganizationId == organizationId;

    public string PartnerOf(string organizationId) =>
        organizationId == InviterOrganizationId ? InviteeOrganizationId
        : organizationId == InviteeOrganizationId ? InviterOrganizationId
        : throw new InvalidOperationException("The organization is not part of this partnership.");

    /// <summary>Only the invited organization answers an invitation, and only while it is open.</summary>
    public bool CanRespond(string organizationId) =>
        Status == PartnershipStatus.Invited && organizationId == InviteeOrganizationId;

    /// <summary>Either side ends an invitation or an active partnership; ended ones stay ended.</summary>
    public bool CanTerminate(string organizationId) =>
        Involves(organizationId) && Status is PartnershipStatus.Invited or PartnershipStatus.Active;

    /// <summary>Data flows only while the partnership is active.</summary>
    public bool SharesData => Status == PartnershipStatus.Active;
}
