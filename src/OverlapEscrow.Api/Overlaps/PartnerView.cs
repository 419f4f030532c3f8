using OverlapEscrow.Api.Populations;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// Everything one side of a partnership may know about the other, loaded fresh for each request (so a changed
/// rule or a termination applies to the very next request): both sides' populations and the partner's rules.
/// </summary>
public sealed record PartnerView(
    Partnership Partnership,
    string MyOrganizationId,
    OrganizationRow Partner,
    IReadOnlyList<PopulationSummaryRow> MyPopulations,
    IReadOnlyList<PopulationSummaryRow> PartnerPopulations,
    IReadOnlyList<SharingRule> PartnerRules,
    IReadOnlyList<SharingRule> MyRules)
{
    /// <summary>What the partner permits me to see of its population when I compare my population with it.</summary>
    public EffectiveSharing PartnerShares(string myPopulationId, string partnerPopulationId) =>
        SharingPolicy.Resolve(PartnerRules, partnerPopulationId, Partnership.Id, myPopulationId);

    /// <summary>What I permit the partner to see of my population when it compares its population with it.</summary>
    public EffectiveSharing IShare(string myPopulationId, string partnerPopulationId) =>
        SharingPolicy.Resolve(MyRules, myPopulationId, Partnership.Id, partnerPopulationId);

    /// <summary>
    /// Partner populations that are not hidden from me for at least one of my populations (or, while I have none,
    /// by the partner's general rule for me); the rest do not exist for me.
    /// </summary>
    public IEnumerable<PopulationSummaryRow> VisiblePartnerPopulations =>
        PartnerPopulations.Where(p => MyPopulations.Count == 0
            ? PartnerShares("", p.Id).Level != SharingLevel.Hidden
            : MyPopulations.Any(m => PartnerShares(m.Id, p.Id).Level != SharingLevel.Hidden));
}

public static class PartnershipMapping
{
    public static Partnership ToDomain(this PartnershipRow row) => new(
        row.Id, row.InviterOrganizationId, row.InviteeOrganizationId, Enum.Parse<PartnershipStatus>(row.Status, ignoreCase: true),
        Data.Time.FromUnixMs(row.CreatedAt), Data.Time.FromUnixMs(row.RespondedAt), Data.Time.FromUnixMs(row.TerminatedAt));

    public static string ToWire(this PartnershipStatus status) => status.ToString().ToLowerInvariant();

    public static SharingRule ToDomain(this SharingRuleRow row) => new(
        row.PopulationId,
        row.PartnershipId.Length == 0 ? null : row.PartnershipId,
        row.PartnerPopulationId.Length == 0 ? null : row.PartnerPopulationId,
        Enum.Parse<SharingLevel>(row.Level, ignoreCase: true),
        System.Text.Json.JsonSerializer.Deserialize<string[]>(row.Fields) ?? [],
        (int?)row.MinimumCount);

    public static string ToWire(this SharingLevel level) => level.ToString().ToLowerInvariant();
}

/// <summary>Loads partner views and overlap results; the one place reports get partner data from.</summary>
public sealed class OverlapService(
    IPartnershipRepository partnerships,
    IPopulationRepository populations,
    IAccountRepository accounts,
    PopulationDataCache data,
    OverlapCache overlaps)
{
    /// <summary>The view of a partnership the organization is part of; null when it is not (callers answer 404).</summary>
    public async Task<PartnerView?> LoadAsync(string organizationId, string partnershipId, CancellationToken ct)
    {
        var row = await partnerships.GetAsync(organizationId, partnershipId, ct);
        if (row is null) return null;
        var partnership = row.ToDomain();
        var partnerId = partnership.PartnerOf(organizationId);
        var partner = await accounts.GetOrganizationAsync(partnerId, ct);
        if (partner is null) return null;
        var mine = await populations.ListAsync(organizationId, ct);
        var theirs = await populations.ListAsync(partnerId, ct);
        var partnerRules = (await partnerships.ListRulesAsync(partnerId, ct)).Select(r => r.ToDomain()).ToList();
        var myRules = (await partnerships.ListRulesAsync(organizationId, ct)).Select(r => r.ToDomain()).ToList();
        return new PartnerView(partnership, organizationId, partner, mine, theirs, partnerRules, myRules);
    }

    /// <summary>The overlap of my population with the partner's, from my side. Only call it for cells the partner does not hide.</summary>
    public async Task<(OverlapResult Result, PopulationData Mine, PopulationData Theirs)> ComputeAsync(
        PartnerView view, PopulationSummaryRow mine, PopulationSummaryRow theirs, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var myData = await data.GetAsync(view.MyOrganizationId, mine.CurrentVersionId, ct);
                var theirData = await data.GetAsync(view.Partner.Id, theirs.CurrentVersionId, ct);
                return (await overlaps.GetAsync(view.Partnership.Id, myData, theirData, ct), myData, theirData);
            }
            catch (VersionGoneException) when (attempt == 0)
            {
                // A newer version was committed meanwhile: use it.
                mine = await populations.GetAsync(view.MyOrganizationId, mine.Id, ct) ?? mine;
                theirs = await populations.GetAsync(view.Partner.Id, theirs.Id, ct) ?? theirs;
            }
        }
    }
}
