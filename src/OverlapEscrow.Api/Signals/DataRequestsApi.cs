using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Api.Signals;

/// <summary>Data requests: ask a partner for more than counts on a counts-only cell; the partner answers with a sharing change or declines.</summary>
public static class DataRequestsApi
{
    public static IEndpointRouteBuilder MapDataRequests(this IEndpointRouteBuilder routes)
    {
        var cells = routes.MapGroup("/v1/partnerships/{partnershipId}/data-requests").WithTags("Data requests");
        cells.MapPost("", Create).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("CreateDataRequest")
            .WithSummary("Ask the partner to share more of a counts-only cell (my population × its population), with a message")
            .WithDescription("Only on an active partnership (409) and a cell the partner shares at the counts level: a hidden or unknown population is 404, "
                             + "a cell already shared at overlaps 409. One open request per cell (409); at most 10 requests per partnership in 7 days (429). "
                             + "The partner's webhooks receive data_request.created.")
            .ProducesProblem(409).ProducesProblem(429);
        cells.MapGet("", ListForPartnership).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("ListPartnershipDataRequests").WithSummary("Data requests made or received in one partnership, newest first, a page at a time")
            .WithDescription("Paginated with limit (1–500, default 100) and cursor (the previous page's nextCursor); nextCursor is null on the last page. "
                             + "404 when my organization is not part of the partnership.");

        var group = routes.MapGroup("/v1/data-requests").WithTags("Data requests");
        group.MapGet("", List).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("ListDataRequests").WithSummary("Data requests my organization made (sent) or received, newest first, a page at a time")
            .WithDescription("Each as my side may read it: the partner population is named only while it exists for me. Paginated with limit (1–500, default 100) "
                             + "and cursor (the previous page's nextCursor); nextCursor is null on the last page.");
        group.MapGet("/{requestId}", Get).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("GetDataRequest").WithSummary("One data request").WithDescription("404 unless my organization made or received it.");
        group.MapPost("/{requestId}/answer", Answer).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("AnswerDataRequest")
            .WithSummary("Answer a request made to me by setting my rule for the requested cell (counts or overlaps, with fields)")
            .WithDescription("The rule becomes my override for my population × the requester's population in this partnership; my other overrides stay. "
                             + "The answer and the sharing change commit together (the sharing.updated audit event names the request). "
                             + "403 for the requester; 409 when the request is closed or the partnership no longer active.")
            .ProducesProblem(409);
        group.MapPost("/{requestId}/decline", Decline).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("DeclineDataRequest").WithSummary("Decline a request made to me, with an optional note (at most 500 characters)")
            .WithDescription("403 for the requester; 409 when the request is closed or the partnership no longer active.")
            .ProducesProblem(409);
        return routes;
    }

    private static async Task<Results<Created<DataRequestResponse>, ProblemHttpResult>> Create(
        string partnershipId, CreateDataRequestRequest request, CurrentUser user, DataRequests requests, CancellationToken ct)
    {
        var outcome = await requests.CreateAsync(user.Caller, partnershipId, new DataRequestInput(request.PopulationId, request.PartnerPopulationId, request.Message), ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Created($"/v1/data-requests/{outcome.Value!.Request.Id}", DataRequestResponse.From(outcome.Value));
    }

    private static Task<Results<Ok<DataRequestPageResponse>, ProblemHttpResult>> ListForPartnership(string partnershipId, [FromQuery] string? cursor,
        [FromQuery] int? limit, CurrentUser user, DataRequests requests, IDataProtectionProvider protection, CancellationToken ct) =>
        PageAsync(partnershipId, cursor, limit, user, requests, protection, ct);

    private static Task<Results<Ok<DataRequestPageResponse>, ProblemHttpResult>> List([FromQuery] string? cursor, [FromQuery] int? limit, CurrentUser user,
        DataRequests requests, IDataProtectionProvider protection, CancellationToken ct) =>
        PageAsync(null, cursor, limit, user, requests, protection, ct);

    private static async Task<Results<Ok<DataRequestPageResponse>, ProblemHttpResult>> PageAsync(string? partnershipId, string? cursor, int? limit, CurrentUser user,
        DataRequests requests, IDataProtectionProvider protection, CancellationToken ct)
    {
        var cursors = ListCursors.For(protection, "data-requests", user.OrganizationId, partnershipId);
        if (!ListCursors.TryDecode(cursors, cursor, out var after)) return Problems.Invalid("cursor", "The cursor is not one this API returned.");
        var outcome = await requests.ListAsync(user.Caller, partnershipId, after, limit, ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Ok(new DataRequestPageResponse(outcome.Value!.Items.Select(DataRequestResponse.From).ToList(), ListCursors.Protect(cursors, outcome.Value.Next)));
    }

    private static async Task<Results<Ok<DataRequestResponse>, ProblemHttpResult>> Get(string requestId, CurrentUser user, DataRequests requests, CancellationToken ct) =>
        Respond(await requests.GetAsync(user.Caller, requestId, ct));

    private static async Task<Results<Ok<DataRequestResponse>, ProblemHttpResult>> Answer(
        string requestId, AnswerDataRequestRequest request, CurrentUser user, DataRequests requests, CancellationToken ct) =>
        Respond(await requests.AnswerAsync(user.Caller, requestId, new SharingSettingInput(request.Level, request.Fields, request.MinimumCount), ct));

    private static async Task<Results<Ok<DataRequestResponse>, ProblemHttpResult>> Decline(
        string requestId, DeclineDataRequestRequest? request, CurrentUser user, DataRequests requests, CancellationToken ct) =>
        Respond(await requests.DeclineAsync(user.Caller, requestId, request?.Reason, ct));

    private static Results<Ok<DataRequestResponse>, ProblemHttpResult> Respond(Application.Outcome<DataRequestView> outcome) =>
        outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(DataRequestResponse.From(outcome.Value!));
}

public sealed record CreateDataRequestRequest(string? PopulationId, string? PartnerPopulationId, string? Message);

public sealed record AnswerDataRequestRequest(string? Level, IReadOnlyList<string?>? Fields, int? MinimumCount);

public sealed record DeclineDataRequestRequest(string? Reason);

public sealed record DataRequestPopulation(string Id, string? Name);

public sealed record DataRequestAnswer(SharingLevel Level, IReadOnlyList<string> Fields);

/// <summary>One page of data requests, newest first; nextCursor is null on the last page.</summary>
public sealed record DataRequestPageResponse(IReadOnlyList<DataRequestResponse> Items, string? NextCursor);

/// <summary>
/// A data request as my side reads it. direction: sent (I asked) or received (I was asked). myPopulation is mine,
/// partnerPopulation the other side's (its name only while it exists for me). cellLevel: what the owner shares with the
/// cell now. createdBy/resolvedBy only when my side acted. erased: a text (message or reason) was sealed under the key of
/// an organization that was erased since and cannot be read (it is null).
/// </summary>
public sealed record DataRequestResponse(
    string Id, string PartnershipId, string Direction, DataRequestStatus Status, PartnershipNotice.OtherSide Partner,
    DataRequestPopulation MyPopulation, DataRequestPopulation PartnerPopulation, string? Message, DateTimeOffset CreatedAt, string? CreatedBy,
    DateTimeOffset? ResolvedAt, string? ResolvedBy, DataRequestAnswer? Answer, string? Reason, SharingLevel? CellLevel, bool Erased)
{
    public static DataRequestResponse From(DataRequestView v) => new(
        v.Request.Id, v.Request.PartnershipId, v.Side == DataRequestSide.Requester ? "sent" : "received", v.Request.Status,
        new PartnershipNotice.OtherSide(v.Partner.Slug, v.Partner.Name),
        new DataRequestPopulation(v.MyPopulationId, v.MyPopulationName), new DataRequestPopulation(v.PartnerPopulationId, v.PartnerPopulationName),
        v.Request.MessageErased ? null : v.Request.Message, v.Request.CreatedAt, string.IsNullOrEmpty(v.Request.CreatedBy) ? null : v.Request.CreatedBy,
        v.Request.ResolvedAt, v.Request.ResolvedBy,
        v.Request.AnsweredLevel is { } level ? new DataRequestAnswer(level, v.Request.AnsweredFields) : null, v.Request.ReasonErased ? null : v.Request.Reason, v.CellLevel,
        v.Request.MessageErased || v.Request.ReasonErased);
}
