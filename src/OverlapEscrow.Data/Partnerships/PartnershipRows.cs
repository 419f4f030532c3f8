namespace OverlapEscrow.Data.Partnerships;

public sealed class PartnershipRow
{
    public string Id { get; init; } = "";
    public string InviterOrganizationId { get; init; } = "";
    public string InviteeOrganizationId { get; init; } = "";
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public long? RespondedAt { get; init; }
    public long? TerminatedAt { get; init; }
}

/// <summary>A stored sharing rule; '' in <see cref="PartnershipId"/> or <see cref="PartnerPopulationId"/> means "any".</summary>
public sealed class SharingRuleRow
{
    public string OrganizationId { get; init; } = "";
    public string PopulationId { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string PartnerPopulationId { get; init; } = "";
    public string Level { get; init; } = "";
    public string Fields { get; init; } = "[]";
    public long? MinimumCount { get; init; }
    public long UpdatedAt { get; init; }
}
