using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Api.Signals;

/// <summary>Co-selling signals: joint, reference and reciprocal cells of a partnership; my opportunities with no partner attached.</summary>
public static class CoSellingApi
{
    public static IEndpointRouteBuilder MapCoSelling(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/partnerships/{partnershipId}/signals", ForPartnership).WithTags("Co-selling").RequireAuthorization(Policies.OverlapsRead)
            .WithName("GetCoSellingSignals")
            .WithSummary("Joint opportunities, reference/intel and reciprocal cells with this partner, within what it shares")
            .WithDescription("joint: my open opportunity × its opportunities population; reference: my open opportunity × its customers; reciprocal: my customer × its "
                             + "opportunities. Records only for cells shared at overlaps (each read is audited as a release of the cell); counts-only cells are listed without "
                             + "records (their privacy-protected count is the matrix's). 409 when the partnership is not active.")
            .ProducesProblem(409);
        routes.MapGet("/v1/signals/unattached", Unattached).WithTags("Co-selling").RequireAuthorization(Policies.OverlapsRead)
            .WithName("ListUnattachedOpportunities")
            .WithSummary("My open mid/late-stage opportunities that overlap a partner, with no attribution recorded")
            .WithDescription("stages: comma-separated stage names counted as mid/late (at most " + CoSellingRules.MaxStages + " names of at most "
                             + CoSellingRules.MaxStageLength + " characters; 400 naming stages otherwise); without it, every stage but the early ones listed in docs/health.md.")
            .ProducesProblem(400);
        return routes;
    }

    private static async Task<Results<Ok<PartnershipSignalsResponse>, ProblemHttpResult>> ForPartnership(string partnershipId, CurrentUser user, CoSelling signals, CancellationToken ct)
    {
        var outcome = await signals.ForPartnershipAsync(user.Caller, partnershipId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PartnershipSignalsResponse.From(outcome.Value!));
    }

    private static async Task<Results<Ok<List<UnattachedResponse>>, ProblemHttpResult>> Unattached(string? stages, CurrentUser user, CoSelling signals, CancellationToken ct)
    {
        var list = CoSellingRules.ParseStages(stages, out var error);
        if (error is not null) return Problems.Invalid("stages", error);
        return TypedResults.Ok((await signals.UnattachedAsync(user.Caller, list, ct)).Select(u => new UnattachedResponse(
            u.Population.Id, u.Population.Name, OpportunityAttributionResponse.Describe(u.Opportunity)!,
            u.Overlaps.Select(o => new UnattachedOverlapResponse(o.PartnershipId, new(o.Partner.Slug, o.Partner.Name), o.Population.Id, o.Population.Name)).ToList())).ToList());
    }
}

public sealed record SignalMatchResponse(IReadOnlyList<string> MatchedOn, IReadOnlyDictionary<string, string> Fields);

public sealed record SignalItemResponse(string RecordId, OpportunityResponse? Opportunity, IReadOnlyList<SignalMatchResponse> Matches);

public sealed record SignalCellResponse(SignalKind Kind, string MyPopulationId, string MyPopulationName, string PartnerPopulationId, string PartnerPopulationName,
    SharingLevel Level, IReadOnlyList<SignalItemResponse> Items);

public sealed record PartnershipSignalsResponse(string PartnershipId, PartnershipNotice.OtherSide Partner, IReadOnlyList<SignalCellResponse> Cells)
{
    public static PartnershipSignalsResponse From(PartnershipSignals s) => new(s.PartnershipId, new(s.Partner.Slug, s.Partner.Name),
        s.Cells.Select(c => new SignalCellResponse(c.Kind, c.Mine.Id, c.Mine.Name, c.Theirs.Id, c.Theirs.Name, c.Level,
            c.Items.Select(i => new SignalItemResponse(i.RecordId, OpportunityAttributionResponse.Describe(i.Opportunity),
                i.Matches.Select(m => new SignalMatchResponse(m.MatchedOn, m.Fields)).ToList())).ToList())).ToList());
}

public sealed record UnattachedOverlapResponse(string PartnershipId, PartnershipNotice.OtherSide Partner, string PartnerPopulationId, string PartnerPopulationName);

public sealed record UnattachedResponse(string PopulationId, string PopulationName, OpportunityResponse Opportunity, IReadOnlyList<UnattachedOverlapResponse> Overlaps);
