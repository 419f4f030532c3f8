using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Api.Partnerships;

public static class PartnershipsApi
{
    public static RouteGroupBuilder MapPartnerships(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/partnerships").WithTags("Partnerships");

        group.MapPost("", Invite).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("InvitePartner").WithSummary("Invite another organization, by its slug, to a partnership")
            .WithDescription("Two organizations have at most one open (invited or active) partnership: 409 while one exists.")
            .ProducesProblem(409);
        group.MapGet("", List).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("ListPartnerships").WithSummary("Partnerships my organization is part of, in any status")
            .WithDescription("Newest first, each as my side sees it: role says whether my organization invited or was invited.");
        group.MapGet("/{partnershipId}", Get).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("GetPartnership").WithSummary("One partnership")
            .WithDescription("404 when my organization is not part of it.");
        group.MapPost("/{partnershipId}/accept", (string partnershipId, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct) =>
                Respond(partnershipId, PartnershipStatus.Active, user, deps, ct))
            .RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("AcceptPartnership").WithSummary("Accept an invitation (invited organization only)")
            .WithDescription("Only while invited: 409 otherwise. Both sides' webhooks are told.")
            .ProducesProblem(409);
        group.MapPost("/{partnershipId}/decline", (string partnershipId, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct) =>
                Respond(partnershipId, PartnershipStatus.Declined, user, deps, ct))
            .RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("DeclinePartnership").WithSummary("Decline an invitation (invited organization only)")
            .WithDescription("Only while invited: 409 otherwise. A declined partnership stays declined; a new invitation can follow.")
            .ProducesProblem(409);
        group.MapPost("/{partnershipId}/terminate", Terminate).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("TerminatePartnership")
            .WithSummary("End a partnership or withdraw an invitation; its overlaps stop at once and derived results are dropped")
            .WithDescription("Either side, while invited or active: 409 once it has ended. Both sides' webhooks are told.")
            .ProducesProblem(409);
        return group;
    }

    /// <summary>The services every partnership handler uses, bundled (eShop's [AsParameters] style).</summary>
    public sealed record Deps(IPartnershipRepository Partnerships, IAccountRepository Accounts, IAuditRepository Audit, OverlapCache Overlaps,
        OverlapRefresher Refresher, IOverlapHistoryRepository History, IEscrowEvents Events, TimeProvider Time);

    private static async Task<Results<Created<PartnershipResponse>, ProblemHttpResult>> Invite(
        InviteRequest request, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.PartnerSlug)) return Problems.Invalid("partnerSlug", "partnerSlug is required.");
        var partner = await deps.Accounts.FindOrganizationBySlugAsync(request.PartnerSlug.Trim().ToLowerInvariant(), ct);
        if (partner is null) return Problems.Invalid("partnerSlug", "No organization has that slug.");
        if (partner.Id == user.OrganizationId) return Problems.Invalid("partnerSlug", "An organization cannot partner with itself.");
        var now = deps.Time.GetUtcNow();
        var row = new PartnershipRow
        {
            Id = Ids.New("ptn"),
            InviterOrganizationId = user.OrganizationId,
            InviteeOrganizationId = partner.Id,
            Status = PartnershipStatus.Invited.ToWire(),
            CreatedAt = Time.ToUnixMs(now),
        };
        if (!await deps.Partnerships.CreateAsync(row, ct))
            return Problems.Conflict("There is already an open partnership or invitation with this organization.");
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "partnership.invited", row.Id, new { partner = partner.Id }, ct);
        await PublishToBothAsync(deps, "partnership.invited", row, PartnershipStatus.Invited);
        return TypedResults.Created($"/v1/partnerships/{row.Id}", Response(row, user.OrganizationId, partner));
    }

    private static async Task<Ok<List<PartnershipResponse>>> List(CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var rows = await deps.Partnerships.ListAsync(user.OrganizationId, ct);
        var orgs = await deps.Accounts.GetOrganizationsAsync(rows.Select(r => r.ToDomain().PartnerOf(user.OrganizationId)), ct);
        return TypedResults.Ok(rows
            .Where(r => orgs.ContainsKey(r.ToDomain().PartnerOf(user.OrganizationId)))
            .Select(r => Response(r, user.OrganizationId, orgs[r.ToDomain().PartnerOf(user.OrganizationId)]))
            .ToList());
    }

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Get(string partnershipId, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var row = await deps.Partnerships.GetAsync(user.OrganizationId, partnershipId, ct);
        if (row is null) return Problems.NotFound("partnership");
        var partner = await deps.Accounts.GetOrganizationAsync(row.ToDomain().PartnerOf(user.OrganizationId), ct);
        if (partner is null) return Problems.NotFound("partnership");
        return TypedResults.Ok(Response(row, user.OrganizationId, partner));
    }

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Respond(
        string partnershipId, PartnershipStatus to, CurrentUser user, Deps deps, CancellationToken ct)
    {
        var row = await deps.Partnerships.GetAsync(user.OrganizationId, partnershipId, ct);
        if (row is null) return Problems.NotFound("partnership");
        var partnership = row.ToDomain();
        if (!partnership.CanRespond(user.OrganizationId))
            return Problems.Conflict(partnership.Status == PartnershipStatus.Invited
                ? "Only the invited organization answers an invitation."
                : $"The partnership is {partnership.Status.ToWire()}; only an open invitation can be answered.");
        var now = deps.Time.GetUtcNow();
        if (!await deps.Partnerships.TransitionAsync(partnershipId, row.Status, to.ToWire(), Time.ToUnixMs(now), ct))
            return Problems.Conflict("The partnership changed meanwhile; read it again.");
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor,
            to == PartnershipStatus.Active ? "partnership.accepted" : "partnership.declined", partnershipId, new { }, ct);
        if (to == PartnershipStatus.Active)
        {
            // The first history points of the partnership (and overlaps.changed for each side) come from this refresh.
            deps.Refresher.PartnershipChanged(user.OrganizationId, partnershipId);
            await PublishToBothAsync(deps, "partnership.accepted", row, PartnershipStatus.Active);
        }
        return await Get(partnershipId, user, deps, ct);
    }

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Terminate(
        string partnershipId, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var row = await deps.Partnerships.GetAsync(user.OrganizationId, partnershipId, ct);
        if (row is null) return Problems.NotFound("partnership");
        var partnership = row.ToDomain();
        if (!partnership.CanTerminate(user.OrganizationId))
            return Problems.Conflict($"The partnership is {partnership.Status.ToWire()} already.");
        var now = deps.Time.GetUtcNow();
        if (!await deps.Partnerships.TransitionAsync(partnershipId, row.Status, PartnershipStatus.Terminated.ToWire(), Time.ToUnixMs(now), ct))
            return Problems.Conflict("The partnership changed meanwhile; read it again.");
        deps.Overlaps.Evict(partnershipId);
        // History is derived from both sides' data: it goes with the partnership. The queued refresh deletes it again
        // after any refresh that was under way and may have added a point meanwhile.
        await deps.History.DeletePartnershipAsync(partnershipId, CancellationToken.None);
        deps.Refresher.PartnershipChanged(user.OrganizationId, partnershipId);
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "partnership.terminated", partnershipId, new { }, ct);
        await PublishToBothAsync(deps, "partnership.terminated", row, PartnershipStatus.Terminated);
        return await Get(partnershipId, user, deps, ct);
    }

    /// <summary>
    /// Tells each side, through its webhooks, what happened to the partnership and with whom: the partnership id, the
    /// status and the other side's slug and name, nothing else. The change is committed by now, so the request's
    /// cancellation does not stop it.
    /// </summary>
    private static async Task PublishToBothAsync(Deps deps, string type, PartnershipRow row, PartnershipStatus status)
    {
        var sides = new[] { (Me: row.InviterOrganizationId, Partner: row.InviteeOrganizationId), (Me: row.InviteeOrganizationId, Partner: row.InviterOrganizationId) };
        var organizations = await deps.Accounts.GetOrganizationsAsync([row.InviterOrganizationId, row.InviteeOrganizationId], CancellationToken.None);
        foreach (var (me, partner) in sides)
            if (organizations.TryGetValue(partner, out var p))
                await deps.Events.PublishAsync(me, type, new PartnershipEvent(row.Id, status.ToWire(), new EventPartner(p.Slug, p.Name)), CancellationToken.None);
    }

    private static PartnershipResponse Response(PartnershipRow row, string myOrganizationId, OrganizationRow partner) => new(
        row.Id,
        row.Status,
        row.InviterOrganizationId == myOrganizationId ? "inviter" : "invitee",
        new PartnerSummary(partner.Id, partner.Slug, partner.Name),
        Time.FromUnixMs(row.CreatedAt),
        Time.FromUnixMs(row.RespondedAt),
        Time.FromUnixMs(row.TerminatedAt));
}

public sealed record InviteRequest(string? PartnerSlug);

/// <summary>A partnership as one side sees it: <see cref="Role"/> says whether I invited or was invited.</summary>
public sealed record PartnershipResponse(
    string Id,
    string Status,
    string Role,
    PartnerSummary Partner,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RespondedAt,
    DateTimeOffset? TerminatedAt);

/// <summary>The data of partnership.invited, .accepted and .terminated, as each side receives it.</summary>
public sealed record PartnershipEvent(string PartnershipId, string Status, EventPartner Partner);

/// <summary>The other side, as events name it: its slug and name only.</summary>
public sealed record EventPartner(string Slug, string Name);
