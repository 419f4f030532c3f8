using System.Text.Json;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Data.Partnerships;

internal sealed class PartnershipRow
{
    public string Id { get; init; } = "";
    public string InviterOrganizationId { get; init; } = "";
    public string InviteeOrganizationId { get; init; } = "";
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public long? RespondedAt { get; init; }
    public long? TerminatedAt { get; init; }

    public Partnership ToDomain() => new(Id, InviterOrganizationId, InviteeOrganizationId, Statuses.Parse(Status),
        Time.FromUnixMs(CreatedAt), Time.FromUnixMs(RespondedAt), Time.FromUnixMs(TerminatedAt));
}

internal static class Statuses
{
    public static string ToText(PartnershipStatus status) => status.ToString().ToLowerInvariant();

    public static PartnershipStatus Parse(string text) => Enum.Parse<PartnershipStatus>(text, ignoreCase: true);
}

/// <summary>A stored sharing rule; '' in <see cref="PartnershipId"/> or <see cref="PartnerPopulationId"/> means "any".</summary>
internal sealed class SharingRuleRow
{
    public string OrganizationId { get; init; } = "";
    public string PopulationId { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string PartnerPopulationId { get; init; } = "";
    public string Level { get; init; } = "";
    public string Fields { get; init; } = "[]";
    public long? MinimumCount { get; init; }
    public long UpdatedAt { get; init; }

    public SharingRule ToDomain() => new(
        PopulationId,
        PartnershipId.Length == 0 ? null : PartnershipId,
        PartnerPopulationId.Length == 0 ? null : PartnerPopulationId,
        Enum.Parse<SharingLevel>(Level, ignoreCase: true),
        JsonSerializer.Deserialize<string[]>(Fields) ?? [],
        (int?)MinimumCount);

    public static SharingRuleRow From(string organizationId, SharingRule rule, DateTimeOffset at) => new()
    {
        OrganizationId = organizationId,
        PopulationId = rule.PopulationId,
        PartnershipId = rule.PartnershipId ?? "",
        PartnerPopulationId = rule.PartnerPopulationId ?? "",
        Level = rule.Level.ToString().ToLowerInvariant(),
        Fields = JsonSerializer.Serialize(rule.Fields),
        MinimumCount = rule.MinimumCount,
        UpdatedAt = Time.ToUnixMs(at),
    };
}
