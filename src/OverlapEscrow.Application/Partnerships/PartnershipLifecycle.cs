using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Application.Partnerships;

/// <summary>
/// A partnership as one side sees it: whether I invited or was invited, and who the other side is. When the other side
/// was deleted, the partnership is a tombstone (terminated) and <see cref="PartnerDeleted"/> is set: only the partner's id is left.
/// </summary>
public sealed record PartnershipView(Partnership Partnership, bool IInvited, PartnerOrganization Partner, bool PartnerDeleted = false);

/// <summary>
/// Invitations, answers and ends of partnerships. Each change, its audit event and the events both sides' webhooks
/// receive are written in one transaction; ending a partnership withdraws everything derived from it.
/// </summary>
public sealed class PartnershipLifecycle(
    IPartnershipRepository partnerships,
    IAccountRepository accounts,
    ITransactions transactions,
    PermissionWithdrawal withdrawal,
    OverlapRefresher refresher,
    IEventPublisher events,
    TimeProvider time)
{
    public async Task<Outcome<PartnershipView>> InviteAsync(Caller caller, string? partnerSlug, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(partnerSlug)) return Failure.Invalid.Of("partnerSlug", "partnerSlug is required.");
        var partner = await accounts.FindOrganizationBySlugAsync(partnerSlug.Trim().ToLowerInvariant(), ct);
        if (partner is null) return Failure.Invalid.Of("partnerSlug", "No organization has that slug.");
        if (partner.Id == caller.OrganizationId) return Failure.Invalid.Of("partnerSlug", "An organization cannot partner with itself.");
        var now = time.GetUtcNow();
        var partnership = new Partnership(Ids.New("ptn"), caller.OrganizationId, partner.Id, PartnershipStatus.Invited, now, null, null);

        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Partnerships.CreateAsync(partnership, ct))
            return new Failure.Conflict("There is already an open partnership or invitation with this organization.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "partnership.invited", partnership.Id, new { partner = partner.Id }), ct);
        await PublishToBothAsync(uow, "partnership.invited", partnership, now, ct);
        await uow.CommitAsync(ct);
        return new PartnershipView(partnership, true, new PartnerOrganization(partner.Id, partner.Slug, partner.Name));
    }

    public async Task<IReadOnlyList<PartnershipView>> ListAsync(Caller caller, CancellationToken ct)
    {
        var list = await partnerships.ListAsync(caller.OrganizationId, ct);
        var organizations = await accounts.GetOrganizationsAsync(list.Select(p => p.PartnerOf(caller.OrganizationId)), ct);
        return list.Select(p => organizations.TryGetValue(p.PartnerOf(caller.OrganizationId), out var partner)
                ? View(p, caller.OrganizationId, partner)
                : Deleted(p, caller.OrganizationId))
            .ToList();
    }

    public async Task<Outcome<PartnershipView>> GetAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(caller.OrganizationId, partnershipId, ct);
        if (partnership is null) return new Failure.NotFound("partnership");
        var partner = await accounts.GetOrganizationAsync(partnership.PartnerOf(caller.OrganizationId), ct);
        return partner is null ? Deleted(partnership, caller.OrganizationId) : View(partnership, caller.OrganizationId, partner);
    }

    /// <summary>Accepts or declines an invitation (the invited organization only, while it is open).</summary>
    public async Task<Outcome<PartnershipView>> AnswerAsync(Caller caller, string partnershipId, bool accept, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(caller.OrganizationId, partnershipId, ct);
        if (partnership is null) return new Failure.NotFound("partnership");
        if (!partnership.CanRespond(caller.OrganizationId))
            return new Failure.Conflict(partnership.Status == PartnershipStatus.Invited
                ? "Only the invited organization answers an invitation."
                : $"The partnership is {Wire(partnership.Status)}; only an open invitation can be answered.");
        var to = accept ? PartnershipStatus.Active : PartnershipStatus.Declined;
        var now = time.GetUtcNow();
        await using (var uow = await transactions.BeginAsync(ct))
        {
            if (!await uow.Partnerships.TransitionAsync(partnershipId, partnership.Status, to, now, ct))
                return new Failure.Conflict("The partnership changed meanwhile; read it again.");
            await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, accept ? "partnership.accepted" : "partnership.declined",
                partnershipId, new { }), ct);
            if (accept)
            {
                await PublishToBothAsync(uow, "partnership.accepted", partnership with { Status = to }, now, ct);
                // The first history points of the partnership (and overlaps.changed for each side) come from this refresh.
                await refresher.QueuePartnershipChangedAsync(uow, caller.OrganizationId, partnershipId, null, ct);
            }
            await uow.CommitAsync(ct);
        }
        return await GetAsync(caller, partnershipId, ct);
    }

    /// <summary>Ends a partnership or withdraws an invitation (either side); its overlaps stop at once and what was derived from it goes.</summary>
    public async Task<Outcome<PartnershipView>> TerminateAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(caller.OrganizationId, partnershipId, ct);
        if (partnership is null) return new Failure.NotFound("partnership");
        if (!partnership.CanTerminate(caller.OrganizationId)) return new Failure.Conflict($"The partnership is {Wire(partnership.Status)} already.");
        var now = time.GetUtcNow();
        await using (var uow = await transactions.BeginAsync(ct))
        {
            if (!await uow.Partnerships.TransitionAsync(partnershipId, partnership.Status, PartnershipStatus.Terminated, now, ct))
                return new Failure.Conflict("The partnership changed meanwhile; read it again.");
            await withdrawal.ApplyAsync(uow, caller.OrganizationId, partnershipId, null, ct);
            await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "partnership.terminated", partnershipId, new { }), ct);
            await PublishToBothAsync(uow, "partnership.terminated", partnership with { Status = PartnershipStatus.Terminated }, now, ct);
            await uow.CommitAsync(ct);
        }
        return await GetAsync(caller, partnershipId, ct);
    }

    /// <summary>Tells each side, through its webhooks, what happened to the partnership and with whom.</summary>
    private async Task PublishToBothAsync(IUnitOfWork uow, string type, Partnership partnership, DateTimeOffset at, CancellationToken ct)
    {
        var organizations = await uow.Accounts.GetOrganizationsAsync([partnership.InviterOrganizationId, partnership.InviteeOrganizationId], ct);
        foreach (var me in new[] { partnership.InviterOrganizationId, partnership.InviteeOrganizationId })
            if (organizations.TryGetValue(partnership.PartnerOf(me), out var partner))
                await events.PublishAsync(uow, me, type, PartnershipNotice.For(partnership, new PartnerOrganization(partner.Id, partner.Slug, partner.Name)), at, ct);
    }

    private static PartnershipView View(Partnership partnership, string me, Organization partner) =>
        new(partnership, partnership.InviterOrganizationId == me, new PartnerOrganization(partner.Id, partner.Slug, partner.Name));

    /// <summary>A partnership whose other side was deleted: a terminated tombstone naming nothing of it but its id.</summary>
    private static PartnershipView Deleted(Partnership partnership, string me) =>
        new(partnership with { Status = PartnershipStatus.Terminated }, partnership.InviterOrganizationId == me,
            new PartnerOrganization(partnership.PartnerOf(me), "", ""), PartnerDeleted: true);

    private static string Wire(PartnershipStatus status) => status.ToString().ToLowerInvariant();
}
