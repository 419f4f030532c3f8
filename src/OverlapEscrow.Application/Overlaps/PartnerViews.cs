using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// Loads what one side of a partnership may be told about the other (<see cref="PartnerView"/>), fresh for each call,
/// so a changed rule or a termination applies to the very next request.
/// </summary>
public sealed class PartnerViews(ITransactions transactions)
{
    /// <summary>
    /// The view of a partnership the organization is part of; null when it is not (callers answer 404). Its four reads
    /// (the partnership, the partner, both sides' populations, both sides' rules) run in one read-only snapshot on one
    /// connection (every read of the matrix and of a list page loads it).
    /// </summary>
    public async Task<PartnerView?> LoadAsync(string organizationId, string partnershipId, CancellationToken ct)
    {
        await using var read = await transactions.BeginReadAsync(ct);
        return await LoadAsync(read, organizationId, partnershipId, ct);
    }

    /// <summary>The view as a unit of work sees it: with the rules and statuses it has written but not yet committed.</summary>
    public static Task<PartnerView?> LoadAsync(IUnitOfWork uow, string organizationId, string partnershipId, CancellationToken ct) =>
        LoadAsync(uow.Partnerships, uow.Populations, uow.Accounts, organizationId, partnershipId, ct);

    private static async Task<PartnerView?> LoadAsync(IPartnershipRepository partnerships, IPopulationRepository populations, IAccountRepository accounts,
        string organizationId, string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(organizationId, partnershipId, ct);
        if (partnership is null) return null;
        var partnerId = partnership.PartnerOf(organizationId);
        var partner = await accounts.GetOrganizationAsync(partnerId, ct);
        if (partner is null) return null;
        var (mine, theirs) = await populations.ListBothAsync(organizationId, partnerId, ct);
        var (myRules, partnerRules) = await partnerships.ListRulesBothAsync(organizationId, partnerId, ct);
        return new PartnerView(partnership, organizationId, new PartnerOrganization(partner.Id, partner.Slug, partner.Name), mine, theirs, partnerRules, myRules);
    }

    /// <summary>Both sides' views of a partnership, from the same reads (refreshing overlaps records both sides).</summary>
    public async Task<(PartnerView Mine, PartnerView Theirs)?> LoadBothAsync(string organizationId, string partnershipId, CancellationToken ct)
    {
        await using var read = await transactions.BeginReadAsync(ct);
        var mine = await LoadAsync(read, organizationId, partnershipId, ct);
        var me = await read.Accounts.GetOrganizationAsync(organizationId, ct);
        if (mine is null || me is null) return null;
        return (mine, mine.Mirror(new PartnerOrganization(me.Id, me.Slug, me.Name)));
    }
}
