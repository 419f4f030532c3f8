using System.Globalization;
using OverlapEscrow.Domain.Health;

namespace OverlapEscrow.Application.Health;

/// <summary>
/// One line of the leadership report: a figure (<see cref="Measure"/>) for all partners (<see cref="Partner"/> null) or
/// one, its value, the 95 % interval when it has one, and the group sizes behind a comparison. The API's JSON, its CSV
/// and the printable page are all this list, so they cannot disagree.
/// </summary>
public sealed record ReportLine(string Section, string? Partner, string Measure, string? Value, string? Low, string? High, int? WithCount, int? WithoutCount);

/// <summary>The leadership report for a period: the leaderboard's figures flattened into lines (docs/health.md, "Leadership report").</summary>
public sealed record LeadershipReport(string Currency, FigurePeriod Period, IReadOnlyList<ReportLine> Lines, DateTimeOffset ComputedAt)
{
    public static readonly string[] CsvHeader = ["section", "partner", "measure", "value", "low", "high", "with_count", "without_count"];

    public static LeadershipReport From(Leaderboard board, AttributionFigures? attribution = null)
    {
        var r = board.Report;
        var o = r.OverallRelease?.Noise;
        var lines = new List<ReportLine>
        {
            // The all-partner coverage is released with noise when it rests on a counts-only partner: low/high are its 95 % noise range.
            new("coverage", null, "figures", o is null ? "exact" : "noised", null, null, null, null),
            new("coverage", null, "open_opportunities", N(r.Overall.OpenCount), null, null, null, null),
            new("coverage", null, "covered_opportunities", N(r.Overall.CoveredCount), D(o?.CoveredCount.Low), D(o?.CoveredCount.High), null, null),
            new("coverage", null, "coverage_count_share", D(r.Overall.CountShare), D(o?.CountShare?.Low), D(o?.CountShare?.High), null, null),
            new("coverage", null, "open_pipeline_" + r.Currency, M(r.Overall.OpenAmount), null, null, null, null),
            new("coverage", null, "covered_pipeline_" + r.Currency, M(r.Overall.CoveredAmount), D(o?.CoveredAmount.Low), D(o?.CoveredAmount.High), null, null),
            new("coverage", null, "coverage_amount_share", D(r.Overall.AmountShare), D(o?.AmountShare?.Low), D(o?.AmountShare?.High), null, null),
            // The partners left out of it, by reason (it counted every reason as budget_exhausted before).
            new("coverage", null, "partners_left_out_budget_exhausted", N(r.LeftOut.Count(l => l.Reason == LeftOutPartner.BudgetExhausted)), null, null, null, null),
            new("coverage", null, "partners_left_out_exact_counts", N(r.LeftOut.Count(l => l.Reason == LeftOutPartner.ExactCounts)), null, null, null, null),
            new("coverage", null, "partners_left_out_minimum", N(r.LeftOut.Count(l => l.Reason == LeftOutPartner.Minimum)), null, null, null, null),
            new("concentration", null, "partners_for_four_fifths", N(board.Concentration.PartnersForFourFifths), null, null, null, null),
            new("concentration", null, "herfindahl", D(board.Concentration.Herfindahl), null, null, null, null),
        };
        var names = r.Partners.ToDictionary(p => p.PartnershipId, p => p.Partner.Name ?? p.Partner.Id);
        var figures = r.Partners.Where(p => p.Figures is not null).ToDictionary(p => p.PartnershipId, p => p.Figures!);
        var released = r.Partners.Where(p => p.Released is not null).ToDictionary(p => p.PartnershipId, p => p.Released!);
        if (attribution is not null) Attribution(lines, attribution.Overall, null, r.Currency, attribution);
        foreach (var s in board.Scores)
        {
            var name = names[s.PartnershipId];
            var f = figures[s.PartnershipId];
            // A partner's figures over a counts-only cell are released with noise: low and high are then the 95 % range of
            // the noise (coverage, revenue) or of sampling and noise together (lift).
            var noise = released.GetValueOrDefault(s.PartnershipId)?.Noise;
            lines.Add(new("top_partners", name, "figures", noise is null ? "exact" : "noised", null, null, null, null));
            lines.Add(new("top_partners", name, "score", D(s.Score), null, null, null, null));
            lines.Add(new("top_partners", name, "tier", s.Tier, null, null, null, null));
            lines.Add(new("top_partners", name, "potential_revenue_" + r.Currency, M(f.PotentialRevenue), D(noise?.PotentialRevenue.Low), D(noise?.PotentialRevenue.High), null, null));
            lines.Add(new("top_partners", name, "coverage_count_share", D(f.Coverage.CountShare), D(noise?.CountShare?.Low), D(noise?.CountShare?.High), null, null));
            lines.Add(Lift(name, "win_rate_difference", f.WinRate));
            lines.Add(Lift(name, "average_deal_size_difference_" + r.Currency, f.AverageDealSize));
            lines.Add(Lift(name, "days_to_close_difference", f.DaysToClose));
        }
        if (attribution is not null)
            foreach (var (partnershipId, split) in attribution.PerPartnership.Where(p => names.ContainsKey(p.Key)).OrderBy(p => names[p.Key], StringComparer.OrdinalIgnoreCase))
                Attribution(lines, split, names[partnershipId], r.Currency, null);
        return new LeadershipReport(r.Currency, r.Period, lines, r.ComputedAt);
    }

    /// <summary>The attribution lines (docs/health.md): sourced, influenced and (apart) disputed pipeline and revenue, and overall the attach rate.</summary>
    private static void Attribution(List<ReportLine> lines, AttributionSplit split, string? partner, string currency, AttributionFigures? overall)
    {
        void Add(string measure, AttributedAmount a)
        {
            lines.Add(new("attribution", partner, measure + "_" + currency, M(a.Amount), null, null, null, null));
            lines.Add(new("attribution", partner, measure + "_opportunities", N(a.Count), null, null, null, null));
        }
        Add("sourced_pipeline", split.SourcedPipeline);
        Add("sourced_revenue", split.SourcedRevenue);
        Add("influenced_pipeline", split.InfluencedPipeline);
        Add("influenced_revenue", split.InfluencedRevenue);
        Add("disputed_pipeline", split.DisputedPipeline);
        Add("disputed_revenue", split.DisputedRevenue);
        if (overall is not null)
            lines.Add(new("attribution", null, "attach_rate", D(overall.AttachRate), null, null, overall.Attached, overall.InPeriod - overall.Attached));
    }

    /// <summary>A lift line: for a released figure, low is the lower bound allowing for sampling and noise, high likewise.</summary>
    private static ReportLine Lift(string partner, string measure, Comparison c)
    {
        double? low = c.Interval?.Low, high = c.Interval?.High;
        if (c is { Noise: { } n, Difference: { } d })
        {
            low = (low ?? d) - (d - n.Low);
            high = (high ?? d) + (n.High - d);
        }
        return new("lift", partner, measure, D(c.Difference), D(low), D(high), c.WithCount, c.WithoutCount);
    }

    private static string N(int n) => n.ToString(CultureInfo.InvariantCulture);
    private static string M(decimal m) => m.ToString("0.##", CultureInfo.InvariantCulture);
    private static string? D(double? d) => d?.ToString("0.####", CultureInfo.InvariantCulture);
}
