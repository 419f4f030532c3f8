using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Api.Partnerships;

public static class PartnershipsApi
{
    public static RouteGroupBuilder MapPartnerships(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/partnerships").WithTags("Partnerships");

        group.MapPost("", Invite).RequireAuthorization(Policies.PartnershipsWrite)
            .WithMetadata(new RateLimits.InHandler())
            .WithName("InvitePartner").WithSummary("Invite another organization, by its slug, to a partnership")
            .WithDescription("Two organizations have at most one open (invited or active) partnership: 409 while one exists.")
            .ProducesProblem(409);
        group.MapGet("", List).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("ListPartnerships").WithSummary("Partnerships my organization is part of, in any status")
            .WithDescription("Newest first, each as my side sees it: role says whether my organization invited or was invited.");
        group.MapGet("/{partnershipId}", Get).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("GetPartnership").WithSummary("One partnership")
            .WithDescription("404 when my organization is not part of it.");
        group.MapPost("/{partnershipId}/accept", (string partnershipId, CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
                Respond(partnershipId, accept: true, user, partnerships, ct))
            .RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("AcceptPartnership").WithSummary("Accept an invitation (invited organization only)")
            .WithDescription("Only while invited: 409 otherwise. Both sides' webhooks are told.")
            .ProducesProblem(409);
        group.MapPost("/{partnershipId}/decline", (string partnershipId, CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
                Respond(partnershipId, accept: false, user, partnerships, ct))
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

    private static async Task<Results<Created<PartnershipResponse>, ProblemHttpResult>> Invite(
        InviteRequest request, CurrentUser user, PartnershipLifecycle partnerships, AccountRateLimiter limits, HttpContext http, CancellationToken ct)
    {
        if (limits.Invitation(http, user.Caller.OrganizationId) is { } tooMany) return tooMany;
        var outcome = await partnerships.InviteAsync(user.Caller, request.PartnerSlug, ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Created($"/v1/partnerships/{outcome.Value!.Partnership.Id}", PartnershipResponse.From(outcome.Value));
    }

    private static async Task<Ok<List<PartnershipResponse>>> List(CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
        TypedResults.Ok((await partnerships.ListAsync(user.Caller, ct)).Select(PartnershipResponse.From).ToList());

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Get(string partnershipId, CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
        Answer(await partnerships.GetAsync(user.Caller, partnershipId, ct));

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Respond(
        string partnershipId, bool accept, CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
        Answer(await partnerships.AnswerAsync(user.Caller, partnershipId, accept, ct));

    private static async Task<Results<Ok<PartnershipResponse>, ProblemHttpResult>> Terminate(
        string partnershipId, CurrentUser user, PartnershipLifecycle partnerships, CancellationToken ct) =>
        Answer(await partnerships.TerminateAsync(user.Caller, partnershipId, ct));

    private static Results<Ok<PartnershipResponse>, ProblemHttpResult> Answer(Application.Outcome<PartnershipView> outcome) =>
        outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PartnershipResponse.From(outcome.Value!));
}

public sealed record InviteRequest(string? PartnerSlug);

/// <summary>A partnership as one side sees it: <see cref="Role"/> says whether I invited or was invited.</summary>
public sealed record PartnershipResponse(
    string Id,
    PartnershipStatus Status,
    string Role,
    PartnerSummary Partner,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RespondedAt,
    DateTimeOffset? TerminatedAt)
{
    public static PartnershipResponse From(PartnershipView v) => new(v.Partnership.Id, v.Partnership.Status, v.IInvited ? "inviter" : "invitee",
        v.PartnerDeleted ? new PartnerSummary(v.Partner.Id, null, null, true) : new PartnerSummary(v.Partner.Id, v.Partner.Slug, v.Partner.Name),
        v.Partnership.CreatedAt, v.Partnership.RespondedAt, v.Partnership.TerminatedAt);
}

/// <summary>
/// The other side of a partnership: its id, slug and name. Once it was deleted, only its id is left (<see cref="Deleted"/>):
/// the partnership is then a terminated tombstone kept for my audit evidence.
/// </summary>
public sealed record PartnerSummary(string Id, string? Slug, string? Name, bool Deleted = false);
