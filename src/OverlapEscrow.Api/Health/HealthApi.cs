using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Application.Health;
using OverlapEscrow.Domain.Health;

namespace OverlapEscrow.Api.Health;

/// <summary>Partnership health figures from my own pipeline and the overlap fact (docs/health.md).</summary>
public static class HealthApi
{
    public static RouteGroupBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1").WithTags("Partnership health").RequireAuthorization(Policies.OverlapsRead);

        group.MapGet("/health/pipeline", GetPipeline)
            .WithName("GetPipelineHealth")
            .WithSummary("My pipeline against my partners' customers: coverage overall and per partner, potential revenue, win rate, deal size and time to close with vs without an overlap")
            .WithDescription("From my opportunities populations (each opportunity once) and the customer populations each active partner shares with me. Over cells shared at the overlaps level the figures are exact; a partner with a customer population shared at the counts level only (access counts_only) gets figures released through the private-counts mechanism (noised once per data, period, currency and figure, paid from the partner's budget, 95 % noise ranges in 'released' and 'noiseLow'/'noiseHigh'; docs/privacy.md). Comparisons are over opportunities closed in 'period' and carry a 95 % interval of the difference; below 10 in either group only the group sizes are given. Money figures are in 'currency' (default: the one most of my opportunities are in).");

        group.MapGet("/health/leaderboard", GetLeaderboard)
            .WithName("GetPartnerLeaderboard")
            .WithSummary("Partners ranked by an explainable score (inputs, weights and points shown), their tiers, and how concentrated the overlap-driven pipeline is")
            .WithDescription("Scored from each partner's pipeline figures, exact or released (counts-only customers: the released, noised values); a partner whose figures are withheld (budget, minimum, exact counts) or that shares no customer population is listed in 'unscored' with the reason. Score = 100 × Σ weight × input scaled to the best partner; inputs: potential revenue (0.5), coverage count share (0.2), the lower end of the win-rate lift's 95 % interval when above zero (0.3). Tiers: strategic ≥ 60, growth ≥ 30, emerging > 0, dormant.");

        group.MapGet("/health/report", GetReport)
            .WithName("GetLeadershipReport")
            .WithSummary("The leadership report for a period (quarter, year or two dates): coverage, concentration, top partners and lift with 95 % intervals")
            .WithDescription("The leaderboard's figures as lines (section, partner, measure, value, low, high, group sizes), as JSON, or as CSV with Accept: text/csv or format=csv. The dashboard's printable report (/health/report) is the same lines.")
            .Produces<LeadershipReportResponse>(contentType: "application/json")
            .ProducesCsv("Header section, partner, measure, value, low, high, with_count, without_count; one row per report line.");

        group.MapGet("/partnerships/{partnershipId}/health/pipeline", GetPartnerPipeline)
            .WithName("GetPartnerPipelineHealth")
            .WithSummary("The pipeline figures of one partner")
            .WithDescription("As /v1/health/pipeline for one partnership of mine (404 otherwise); 'overall' is then this partner's coverage.");
        return group;
    }

    private static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> GetPipeline(
        [FromQuery] string? period, [FromQuery] string? currency, CurrentUser user, PipelineHealth health, CancellationToken ct)
    {
        var outcome = await health.ReportAsync(user.Caller, period, currency, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PipelineResponse.Of(outcome.Value!));
    }

    private static async Task<Results<Ok<LeaderboardResponse>, ProblemHttpResult>> GetLeaderboard(
        [FromQuery] string? period, [FromQuery] string? currency, CurrentUser user, PipelineHealth health, CancellationToken ct)
    {
        var outcome = await health.LeaderboardAsync(user.Caller, period, currency, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(LeaderboardResponse.Of(outcome.Value!));
    }

    private static async Task<Results<Ok<LeadershipReportResponse>, EmptyHttpResult, ProblemHttpResult>> GetReport(
        [FromQuery] string? period, [FromQuery] string? currency, [FromQuery] string? format, HttpContext http, CurrentUser user, PipelineHealth health, CancellationToken ct)
    {
        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || (format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true));
        if (format is not null && !csv && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
            return Problems.Invalid("format", "format is json or csv.");
        var outcome = await health.LeadershipReportAsync(user.Caller, period, currency, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var report = outcome.Value!;
        if (!csv) return TypedResults.Ok(new LeadershipReportResponse(report.Currency, new PeriodResponse(report.Period.From, report.Period.To), report.Lines, report.ComputedAt));
        await ReportCsv.WriteAsync(http, report, ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> GetPartnerPipeline(
        string partnershipId, [FromQuery] string? period, [FromQuery] string? currency, CurrentUser user, PipelineHealth health, CancellationToken ct)
    {
        var outcome = await health.ReportAsync(user.Caller, period, currency, ct, partnershipId);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PipelineResponse.Of(outcome.Value!));
    }
}

public sealed record PeriodResponse(DateOnly From, DateOnly To);

public sealed record CoverageResponse(int OpenCount, int CoveredCount, double? CountShare, decimal OpenAmount, decimal CoveredAmount, double? AmountShare)
{
    public static CoverageResponse Of(Coverage c) => new(c.OpenCount, c.CoveredCount, c.CountShare, c.OpenAmount, c.CoveredAmount, c.AmountShare);
}

/// <summary>
/// A comparison; the values are null (and tooSmall true) when either group has fewer than 10. For a figure released over
/// a counts-only cell, noiseLow/noiseHigh are where the difference lies at 95 % as far as the privacy noise goes, and the
/// group sizes are the released ones; differenceLow/High are the sampling interval (win rate) or null (means).
/// </summary>
public sealed record ComparisonResponse(int WithCount, int WithoutCount, bool TooSmall, double? With, double? Without, double? Difference,
    double? DifferenceLow, double? DifferenceHigh, string Method, double? NoiseLow = null, double? NoiseHigh = null)
{
    public static ComparisonResponse Of(Comparison c, string method) =>
        new(c.WithCount, c.WithoutCount, c.TooSmall, c.With, c.Without, c.Difference, c.Interval?.Low, c.Interval?.High, method, c.Noise?.Low, c.Noise?.High);
}

public sealed record PartnerFiguresResponse(decimal PotentialRevenue, CoverageResponse Coverage, ComparisonResponse WinRate,
    ComparisonResponse AverageDealSize, ComparisonResponse DaysToClose);

/// <summary>A range a released value's true value lies in at 95 % as far as the noise goes.</summary>
public sealed record RangeResponse(double Low, double High)
{
    public static RangeResponse? Of(Domain.Health.NoiseRange? r) => r is { } x ? new RangeResponse(x.Low, x.High) : null;
}

/// <summary>One figure's release: its state (current, data_changed, budget_exhausted; withheld when nothing was released), ε, margins per component, dates.</summary>
public sealed record FigureReleaseResponse(string Figure, string State, decimal? Epsilon, IReadOnlyList<long>? Margins, DateTimeOffset? ReleasedAt, DateTimeOffset? RefreshesAt);

/// <summary>
/// How a counts-only partner's figures were protected (docs/privacy.md, "Health figures"): the contribution bound and the
/// clipping bounds, the 95 % noise ranges of coverage and potential revenue, and each figure's release.
/// withheld: true when the figures are not shown, and withheldBecause says why: budget (a figure has no release for this
/// period and currency and the budget is spent), minimum (the released covered count is below the partner's minimum
/// reportable count, as the matrix cell would be), exact_counts (the partner gives me exact counts: an exact sum over a
/// counts-only cell would say which of my accounts overlap, so nothing is drawn).
/// amountBoundSource: where amountPerOpportunity came from (own_amounts: a quantile of my own amounts in the currency;
/// configured: the operator's bound for the currency; default). openAboveBound / openAmountAboveBound: my open
/// opportunities whose amount is above the bound and their excess over it in all, the most the clipping lowers the
/// released potential revenue (my own data).
/// </summary>
public sealed record ReleasedFiguresResponse(bool Withheld, int OpportunitiesPerAccount, long AmountPerOpportunity, long DaysPerOpportunity, int CountsPopulations,
    double Confidence, RangeResponse? CoveredCount, RangeResponse? PotentialRevenue, RangeResponse? CountShare, RangeResponse? AmountShare,
    IReadOnlyList<FigureReleaseResponse> Releases, string AmountBoundSource = "default", long OpenAboveBound = 0, decimal OpenAmountAboveBound = 0,
    string? WithheldBecause = null)
{
    public static ReleasedFiguresResponse Of(ReleasedPipeline r) => new(r.Withheld, r.Bounds.OpportunitiesPerAccount, r.Bounds.AmountPerOpportunity,
        r.Bounds.DaysPerOpportunity, r.CountsPopulations, Domain.Health.ReleasedFigures.Confidence,
        RangeResponse.Of(r.Noise?.CoveredCount), RangeResponse.Of(r.Noise?.PotentialRevenue), RangeResponse.Of(r.Noise?.CountShare), RangeResponse.Of(r.Noise?.AmountShare),
        r.Releases.Select(x => new FigureReleaseResponse(Domain.Health.ReleasedFigures.Wire(x.Figure), State(x), x.Draw?.Epsilon.ToDecimal(), x.Draw?.Margins,
            x.ReleasedAt, x.RefreshesAt)).ToList(), Source(r.Bounds.AmountSource), r.OpenAboveBound, r.OpenExcess, r.Withheld ? r.WithheldBecause ?? "budget" : null);

    public static string Source(Domain.Health.AmountBoundSource source) => source switch
    {
        Domain.Health.AmountBoundSource.OwnAmounts => "own_amounts",
        Domain.Health.AmountBoundSource.Configured => "configured",
        _ => "default",
    };

    public static string State(HealthFigureRelease r) => r.Draw is null ? "withheld" : r.State switch
    {
        Domain.Disclosure.ReleaseState.Current => "current",
        Domain.Disclosure.ReleaseState.DataChanged => "data_changed",
        _ => "budget_exhausted",
    };
}

/// <summary>
/// access: exact, counts_only (figures released through the private-counts mechanism, with 'released'; figures null
/// while withheld) or no_cells.
/// </summary>
public sealed record PartnerPipelineResponse(string PartnershipId, PartnerSummary Partner, string Access, int CustomerPopulations, PartnerFiguresResponse? Figures,
    ReleasedFiguresResponse? Released = null);

/// <summary>
/// How the all-partner coverage was released when it rests on partners sharing customers at the counts level (noised):
/// the amount bound, its release (state, ε, margins of the count and the clipped amount, dates), the 95 % noise ranges, and
/// the partnerships whose budgets each paid the release's ε.
/// </summary>
public sealed record OverallReleasedResponse(long AmountPerOpportunity, string AmountBoundSource, int OpportunitiesPerAccount, int CountsPopulations, double Confidence,
    FigureReleaseResponse Release, RangeResponse CoveredCount, RangeResponse CoveredAmount, RangeResponse? CountShare, RangeResponse? AmountShare,
    IReadOnlyList<string> ChargedPartnershipIds)
{
    public static OverallReleasedResponse? Of(OverallReleased? r) => r is null ? null : new(r.Bounds.AmountPerOpportunity, ReleasedFiguresResponse.Source(r.Bounds.AmountSource),
        r.Bounds.OpportunitiesPerAccount, r.CountsPopulations, Domain.Health.ReleasedFigures.Confidence,
        new FigureReleaseResponse(Domain.Health.ReleasedFigures.Wire(r.Release.Figure), ReleasedFiguresResponse.State(r.Release), r.Release.Draw?.Epsilon.ToDecimal(),
            r.Release.Draw?.Margins, r.Release.ReleasedAt, r.Release.RefreshesAt),
        RangeResponse.Of(r.Noise.CoveredCount)!, RangeResponse.Of(r.Noise.CoveredAmount)!, RangeResponse.Of(r.Noise.CountShare), RangeResponse.Of(r.Noise.AmountShare),
        r.ChargedPartnershipIds);
}

/// <summary>A partner left out of the all-partner coverage and why (budget_exhausted: its budget with me could not pay for the release).</summary>
public sealed record LeftOutResponse(string PartnershipId, PartnerSummary Partner, string Reason);

/// <summary>
/// overall: exact when no partner with counts-only customers (and noise) is in it; otherwise released, with
/// overallReleased. partnersLeftOut / leftOut: the partners left out of it (budget_exhausted: their budget could not
/// pay; exact_counts: they give me exact counts, so their counts-only customers are in no figure; minimum: their released
/// covered count is below their minimum reportable count, so their figures, this one included, are withheld).
/// </summary>
public sealed record PipelineResponse(
    string Currency,
    PeriodResponse Period,
    int Opportunities,
    IReadOnlyList<string> OpportunityPopulationIds,
    CoverageResponse Overall,
    int PartnersLeftOut,
    IReadOnlyList<PartnerPipelineResponse> Partners,
    DateTimeOffset ComputedAt,
    OverallReleasedResponse? OverallReleased = null,
    IReadOnlyList<LeftOutResponse>? LeftOut = null)
{
    public const string WinRateMethod = "newcombe_hybrid_score_95";
    public const string MeanMethod = "welch_95";

    /// <summary>A mean released over a counts-only cell: no sampling interval (it would need the variance, one more release); the noise range only.</summary>
    public const string ReleasedMeanMethod = "noise_95";

    public static PipelineResponse Of(PipelineReport r) => new(
        r.Currency,
        new PeriodResponse(r.Period.From, r.Period.To),
        r.Opportunities,
        r.OpportunityPopulations.Select(p => p.Id).ToList(),
        CoverageResponse.Of(r.Overall),
        r.PartnersLeftOut,
        r.Partners.Select(p => new PartnerPipelineResponse(p.PartnershipId, new PartnerSummary(p.Partner.Id, p.Partner.Slug, p.Partner.Name),
            Access(p.Access), p.CustomerPopulations,
            p.Figures is { } f
                ? new PartnerFiguresResponse(f.PotentialRevenue, CoverageResponse.Of(f.Coverage), ComparisonResponse.Of(f.WinRate, WinRateMethod),
                    ComparisonResponse.Of(f.AverageDealSize, p.Released is null ? MeanMethod : ReleasedMeanMethod), ComparisonResponse.Of(f.DaysToClose, p.Released is null ? MeanMethod : ReleasedMeanMethod))
                : null,
            p.Released is { } released ? ReleasedFiguresResponse.Of(released) : null)).ToList(),
        r.ComputedAt,
        OverallReleasedResponse.Of(r.OverallRelease),
        r.LeftOut.Select(l => new LeftOutResponse(l.PartnershipId, new PartnerSummary(l.Partner.Id, l.Partner.Slug, l.Partner.Name), l.Reason)).ToList());

    public static string Access(FigureAccess access) => access switch
    {
        FigureAccess.Exact => "exact",
        FigureAccess.CountsOnly => "counts_only",
        _ => "no_cells",
    };
}

public sealed record ScoreInputResponse(string Name, double Value, double Scaled, double Weight, double Points);

public sealed record LeaderboardEntryResponse(int Rank, string PartnershipId, PartnerSummary Partner, double Score, string Tier, double PipelineShare,
    IReadOnlyList<ScoreInputResponse> Inputs);

public sealed record ConcentrationResponse(decimal Total, int PartnersForFourFifths, double Herfindahl);

public sealed record LeaderboardResponse(string Currency, PeriodResponse Period, IReadOnlyDictionary<string, double> Weights,
    IReadOnlyList<LeaderboardEntryResponse> Partners, IReadOnlyList<PartnerPipelineResponse> Unscored, ConcentrationResponse Concentration, DateTimeOffset ComputedAt)
{
    public static LeaderboardResponse Of(Leaderboard l)
    {
        var pipeline = PipelineResponse.Of(l.Report);
        var byId = pipeline.Partners.ToDictionary(p => p.PartnershipId);
        return new LeaderboardResponse(pipeline.Currency, pipeline.Period, PartnerScores.Weights,
            l.Scores.Select((s, i) => new LeaderboardEntryResponse(i + 1, s.PartnershipId, byId[s.PartnershipId].Partner, s.Score, s.Tier, s.PipelineShare,
                s.Inputs.Select(x => new ScoreInputResponse(x.Name, x.Value, x.Scaled, x.Weight, Math.Round(x.Points, 1))).ToList())).ToList(),
            pipeline.Partners.Where(p => p.Figures is null).ToList(),
            new ConcentrationResponse(l.Concentration.Total, l.Concentration.PartnersForFourFifths, l.Concentration.Herfindahl),
            pipeline.ComputedAt);
    }
}

public sealed record LeadershipReportResponse(string Currency, PeriodResponse Period, IReadOnlyList<ReportLine> Lines, DateTimeOffset ComputedAt);
