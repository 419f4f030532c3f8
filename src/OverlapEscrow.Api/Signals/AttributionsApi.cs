using CsvHelper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Api.Signals;

/// <summary>Time-correct attribution: evidence per opportunity and partner, the ledger of claims, the partner's answer, the CSV export.</summary>
public static class AttributionsApi
{
    public static IEndpointRouteBuilder MapAttributions(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/populations/{populationId}/attribution", Evaluate).WithTags("Attribution").RequireAuthorization(Policies.OverlapsRead)
            .WithName("GetAttributionEvidence")
            .WithSummary("For each opportunity of my opportunities population, which partners had its account in which of their populations while it was open")
            .WithDescription("From my side's overlap history (record ids kept with points recorded at the overlaps level), not today's overlap; only partner populations "
                             + "shared with me at the overlaps level now give evidence. 400 for a population that is not of type opportunities.");

        var group = routes.MapGroup("/v1/attributions").WithTags("Attribution");
        group.MapPost("", Claim).RequireAuthorization(Policies.PartnershipsWrite, Policies.OverlapsRead)
            .WithName("ClaimAttribution").WithSummary("Record that a partner sourced or influenced one of my opportunities, with the evidence attached")
            .WithDescription("409 without time-correct evidence, when the opportunity already has a claim in this partnership, or when the partnership is not active. "
                             + "The partner's webhooks receive attribution.claimed.")
            .ProducesProblem(409);
        group.MapGet("", Ledger).RequireAuthorization(Policies.OverlapsRead)
            .WithName("ListAttributions").WithSummary("The attribution ledger: claims my organization made and claims that name it, newest first")
            .WithDescription("Optionally one partnership's (partnershipId). The partner named reads the claim, the evidence about its own populations and the opportunity's id, none of the opportunity's fields. "
                             + "Paginated with limit (1–500, default 100) and cursor (the previous page's nextCursor); nextCursor is null on the last page. "
                             + "Reading my claims' evidence is audited (attribution.evidence_read), and the partner sees it in its audit log.");
        group.MapGet("/export", Export).RequireAuthorization(Policies.OverlapsRead)
            .WithName("ExportAttributions").WithSummary("My claims as CSV, one row per opportunity × partner, for a CRM import")
            .WithDescription("Claims my organization made, with my own opportunity fields and the evidence's populations and dates; UTF-8 with a byte-order mark, CRLF, formula-like cells escaped.")
            .ProducesCsv("Header " + string.Join(", ", Attributions.CsvHeader) + ".");
        group.MapGet("/{claimId}", Get).RequireAuthorization(Policies.OverlapsRead)
            .WithName("GetAttribution").WithSummary("One claim").WithDescription("404 unless my organization made it or is the partner it names.");
        group.MapPost("/{claimId}/confirm", (string claimId, RespondAttributionRequest? request, CurrentUser user, Attributions attributions, CancellationToken ct) =>
                Respond(claimId, true, request, user, attributions, ct))
            .RequireAuthorization(Policies.PartnershipsWrite, Policies.OverlapsRead) // the answer carries the claim's evidence
            .WithName("ConfirmAttribution").WithSummary("Confirm a claim that names my organization (optional note)")
            .WithDescription("403 for the claimant; 409 once answered or when the partnership is not active.").ProducesProblem(409);
        group.MapPost("/{claimId}/dispute", (string claimId, RespondAttributionRequest? request, CurrentUser user, Attributions attributions, CancellationToken ct) =>
                Respond(claimId, false, request, user, attributions, ct))
            .RequireAuthorization(Policies.PartnershipsWrite, Policies.OverlapsRead)
            .WithName("DisputeAttribution").WithSummary("Dispute a claim that names my organization (optional note)")
            .WithDescription("403 for the claimant; 409 once answered or when the partnership is not active.").ProducesProblem(409);
        return routes;
    }

    private static async Task<Results<Ok<List<OpportunityAttributionResponse>>, ProblemHttpResult>> Evaluate(string populationId, CurrentUser user, Attributions attributions, CancellationToken ct)
    {
        var outcome = await attributions.EvaluateAsync(user.Caller, populationId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(outcome.Value!.Select(OpportunityAttributionResponse.From).ToList());
    }

    private static async Task<Results<Created<AttributionResponse>, ProblemHttpResult>> Claim(ClaimAttributionRequest request, CurrentUser user, Attributions attributions, CancellationToken ct)
    {
        var outcome = await attributions.ClaimAsync(user.Caller,
            new AttributionInput(request.PopulationId, request.OpportunityId, request.PartnershipId, request.Role, request.Note), ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Created($"/v1/attributions/{outcome.Value!.Claim.Id}", AttributionResponse.From(outcome.Value));
    }

    private static async Task<Results<Ok<AttributionPageResponse>, ProblemHttpResult>> Ledger(string? partnershipId, [FromQuery] string? cursor, [FromQuery] int? limit,
        CurrentUser user, Attributions attributions, IDataProtectionProvider protection, CancellationToken ct)
    {
        var cursors = ListCursors.For(protection, "attributions", user.OrganizationId, partnershipId);
        if (!ListCursors.TryDecode(cursors, cursor, out var after)) return Problems.Invalid("cursor", "The cursor is not one this API returned.");
        var outcome = await attributions.LedgerAsync(user.Caller, partnershipId, after, limit, ct);
        return outcome.Failure is { } failure ? Problems.From(failure)
            : TypedResults.Ok(new AttributionPageResponse(outcome.Value!.Items.Select(AttributionResponse.From).ToList(), ListCursors.Protect(cursors, outcome.Value.Next)));
    }

    private static async Task<Results<Ok<AttributionResponse>, ProblemHttpResult>> Get(string claimId, CurrentUser user, Attributions attributions, CancellationToken ct) =>
        Answer(await attributions.GetAsync(user.Caller, claimId, ct));

    private static async Task<Results<Ok<AttributionResponse>, ProblemHttpResult>> Respond(string claimId, bool confirm, RespondAttributionRequest? request, CurrentUser user,
        Attributions attributions, CancellationToken ct) =>
        Answer(await attributions.RespondAsync(user.Caller, claimId, confirm, request?.Note, ct));

    private static Results<Ok<AttributionResponse>, ProblemHttpResult> Answer(Outcome<AttributionView> outcome) =>
        outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(AttributionResponse.From(outcome.Value!));

    private static async Task Export(HttpContext http, CurrentUser user, Attributions attributions, CancellationToken ct) =>
        await WriteCsvAsync(http, await attributions.ExportRowsAsync(user.Caller, ct), ct);

    /// <summary>The export as CSV (the API's and the dashboard's download).</summary>
    internal static async Task WriteCsvAsync(HttpContext http, IReadOnlyList<string[]> rows, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = "attachment; filename=\"attributions.csv\"";
        // Cells starting with = + - @ are escaped so a spreadsheet never runs a formula from a note or a name.
        await using var writer = CsvWriter.Create(http.Response.Body,
            new CsvWriterOptions { Injection = CsvInjection.Escape, NewLine = "\r\n", WriteByteOrderMark = true }, true);
        await writer.WriteRecordAsync(Attributions.CsvHeader.ToArray(), ct);
        foreach (var row in rows) await writer.WriteRecordAsync(row, ct);
        await writer.FlushAsync(ct);
    }
}

public sealed record ClaimAttributionRequest(string? PopulationId, string? OpportunityId, string? PartnershipId, string? Role, string? Note);

public sealed record RespondAttributionRequest(string? Note);

public sealed record EvidenceSpanResponse(DateTimeOffset From, DateTimeOffset To);

/// <summary>A partner population that had the account, and when (within the opportunity's open window). Id and name are absent when it is no longer shared with me.</summary>
public sealed record EvidenceResponse(string? PartnerPopulationId, string? PartnerPopulationName, IReadOnlyList<EvidenceSpanResponse> Spans)
{
    public static EvidenceResponse From(AttributionEvidence e) => new(e.PartnerPopulationId is { Length: > 0 } id ? id : null,
        e.PartnerPopulationName is { Length: > 0 } n ? n : null, e.Spans.Select(s => new EvidenceSpanResponse(s.From, s.To)).ToList());
}

public sealed record OpportunityResponse(string Id, decimal? Amount, string? Currency, string? Stage, DateOnly? CreatedDate, DateOnly? CloseDate, bool Closed, bool Won, string? Owner);

public sealed record PartnerAttributionResponse(string PartnershipId, PartnershipNotice.OtherSide Partner, IReadOnlyList<EvidenceResponse> Evidence, string? ClaimId,
    AttributionRole? Role, AttributionStatus? Status);

public sealed record OpportunityAttributionResponse(OpportunityResponse Opportunity, EvidenceSpanResponse? OpenWindow, IReadOnlyList<PartnerAttributionResponse> Partners)
{
    public static OpportunityAttributionResponse From(OpportunityAttribution a) => new(Describe(a.Opportunity)!,
        a.OpenWindow is { } w ? new EvidenceSpanResponse(w.From == DateTimeOffset.MinValue ? DateTimeOffset.UnixEpoch : w.From, w.To) : null,
        a.Partners.Select(p => new PartnerAttributionResponse(p.PartnershipId, new(p.Partner.Slug, p.Partner.Name), p.Evidence.Select(EvidenceResponse.From).ToList(),
            p.Claim?.Id, p.Claim?.Role, p.Claim?.Status)).ToList());

    internal static OpportunityResponse? Describe(Domain.Opportunities.Opportunity? o) =>
        o is null ? null : new(o.RecordId, o.Amount, o.Currency, o.Stage, o.CreatedDate, o.CloseDate, o.Closed, o.Won, o.Owner);
}

/// <summary>One page of the ledger, newest first; nextCursor is null on the last page.</summary>
public sealed record AttributionPageResponse(IReadOnlyList<AttributionResponse> Items, string? NextCursor);

/// <summary>
/// A ledger entry as my side reads it. direction: made (my claim) or received (a claim naming my organization).
/// opportunity (my own fields) and population only on my claims; createdBy/respondedBy only for my side's actor.
/// erased: a text was sealed under the key of an organization that was erased since and cannot be read (the claimant's:
/// no opportunityId, evidence nor note; the partner's: no responseNote). evidenceWithdrawn: evidence recorded with the
/// claim is no longer shown — the partner lowered, hid or deleted that population, or the partnership ended.
/// </summary>
public sealed record AttributionResponse(string Id, string PartnershipId, string Direction, PartnershipNotice.OtherSide Partner, string? OpportunityId,
    string? PopulationId, string? PopulationName, OpportunityResponse? Opportunity, AttributionRole Role, AttributionStatus Status, IReadOnlyList<EvidenceResponse> Evidence,
    string? Note, DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? RespondedAt, string? RespondedBy, string? ResponseNote, bool Erased, bool EvidenceWithdrawn)
{
    public static AttributionResponse From(AttributionView v) => new(v.Claim.Id, v.Claim.PartnershipId, v.IClaimed ? "made" : "received",
        new(v.Partner.Slug, v.Partner.Name), v.Claim.ClaimErased ? null : v.Claim.RecordId, v.IClaimed ? v.Claim.PopulationId : null, v.PopulationName,
        OpportunityAttributionResponse.Describe(v.Opportunity), v.Claim.Role, v.Claim.Status, v.Claim.Evidence.Select(EvidenceResponse.From).ToList(), v.Claim.Note,
        v.Claim.CreatedAt, string.IsNullOrEmpty(v.Claim.CreatedBy) ? null : v.Claim.CreatedBy, v.Claim.RespondedAt, v.Claim.RespondedBy, v.Claim.ResponseNote,
        v.Claim.ClaimErased || v.Claim.ResponseErased, v.EvidenceWithdrawn);
}
