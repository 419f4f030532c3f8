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

    public static LeadershipReport From(Leaderboard board)
    {
        var r = board.Report;
        var lines = new List<ReportLine>
        {
            new("coverage", null, "open_opportunities", N(r.Overall.OpenCount), null, null, null, null),
            new("coverage", null, "covered_opportunities", N(r.Overall.CoveredCount), null, null, null, null),
            new("coverage", null, "coverage_count_share", D(r.Overall.CountShare), null, null, null, null),
            new("coverage", null, "open_pipeline_" + r.Currency, M(r.Overall.OpenAmount), null, null, null, null),
            new("coverage", null, "covered_pipeline_" + r.Currency, M(r.Overall.CoveredAmount), null, null, null, null),
            new("coverage", null, "coverage_amount_share", D(r.Overall.AmountShare), null, null, null, null),
            new("coverage", null, "partners_left_out_counts_only", N(r.PartnersLeftOut), null, null, null, null),
            new("concentration", null, "partners_for_four_fifths", N(board.Concentration.PartnersForFourFifths), null, null, null, null),
            new("concentration", null, "herfindahl", D(board.Concentration.Herfindahl), null, null, null, null),
        };
        var names = r.Partners.ToDictionary(p => p.PartnershipId, p => p.Partner.Name ?? p.Partner.Id);
        var figures = r.Partners.Where(p => p.Figures is not null).ToDictionary(p => p.PartnershipId, p => p.Figures!);
        foreach (var s in board.Scores)
        {
            var name = names[s.PartnershipId];
            var f = figures[s.PartnershipId];
            lines.Add(new("top_partners", name, "score", D(s.Score), null, null, null, null));
            lines.Add(new("top_partners", name, "tier", s.Tier, null, null, null, null));
            lines.Add(new("top_partners", name, "potential_revenue_" + r.Currency, M(f.PotentialRevenue), null, null, null, null));
            lines.Add(new("top_partners", name, "coverage_count_share", D(f.Coverage.CountShare), null, null, null, null));
            lines.Add(Lift(name, "win_rate_difference", f.WinRate));
            lines.Add(Lift(name, "average_deal_size_difference_" + r.Currency, f.AverageDealSize));
            lines.Add(Lift(name, "days_to_close_difference", f.DaysToClose));
        }
        return new LeadershipReport(r.Currency, r.Period, lines, r.ComputedAt);
    }

    private static ReportLine Lift(string partner, string measure, Comparison c) =>
        new("lift", partner, measure, D(c.Difference), D(c.Interval?.Low), D(c.Interval?.High), c.WithCount, c.WithoutCount);

    private static string N(int n) => n.ToString(CultureInfo.InvariantCulture);
    private static string M(decimal m) => m.ToString("0.##", CultureInfo.InvariantCulture);
    private static string? D(double? d) => d?.ToString("0.####", CultureInfo.InvariantCulture);
}
