using OverlapEscrow.Domain.Opportunities;

namespace OverlapEscrow.Domain.Health;

/// <summary>A period of close dates, both ends included.</summary>
public sealed record FigurePeriod(DateOnly From, DateOnly To)
{
    public const string Syntax = "a year (2026), a quarter (2026-Q3), or two dates (2026-01-01..2026-06-30)";

    public bool Contains(DateOnly date) => date >= From && date <= To;

    /// <summary>The twelve months up to and including <paramref name="today"/>: the period when none is asked for.</summary>
    public static FigurePeriod LastTwelveMonths(DateOnly today) => new(today.AddYears(-1).AddDays(1), today);

    /// <summary>Years a period may name: a quarter of the year 9999 would end past the last date there is.</summary>
    public const int MinYear = 1900, MaxYear = 9000;

    /// <summary>"2026" (a calendar or fiscal year), "2026-Q3", or "2026-01-01..2026-06-30"; null when it is none of these.</summary>
    public static FigurePeriod? Parse(string text)
    {
        text = text.Trim();
        if (text.Length == 4 && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var year) && year is >= MinYear and <= MaxYear)
            return new FigurePeriod(new DateOnly(year, 1, 1), new DateOnly(year, 12, 31));
        if (text.Length == 7 && text[4] == '-' && text[5] is 'Q' or 'q' && text[6] is >= '1' and <= '4'
            && int.TryParse(text[..4], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out year) && year is >= MinYear and <= MaxYear)
        {
            var first = new DateOnly(year, (text[6] - '1') * 3 + 1, 1);
            return new FigurePeriod(first, first.AddMonths(3).AddDays(-1));
        }
        var dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots > 0 && OpportunityFields.ParseDate(text[..dots]) is { } from && OpportunityFields.ParseDate(text[(dots + 2)..]) is { } to && from <= to)
            return new FigurePeriod(from, to);
        return null;
    }

    public override string ToString() => $"{From:yyyy-MM-dd}..{To:yyyy-MM-dd}";
}

/// <summary>
/// How much of my open pipeline overlaps: by count (every open opportunity) and by amount (open opportunities with an
/// amount in the figures' currency).
/// </summary>
public sealed record Coverage(int OpenCount, int CoveredCount, decimal OpenAmount, decimal CoveredAmount)
{
    public double? CountShare => OpenCount == 0 ? null : (double)CoveredCount / OpenCount;
    public double? AmountShare => OpenAmount == 0 ? null : (double)(CoveredAmount / OpenAmount);
}

/// <summary>
/// One measure with and without a partner-customer overlap. <see cref="With"/>, <see cref="Without"/>,
/// <see cref="Difference"/> (with − without) and <see cref="Interval"/> (95 % of the difference) are null when either
/// group is below <see cref="Intervals.MinimumGroup"/>: then only the group sizes are shown.
/// </summary>
public sealed record Comparison(int WithCount, int WithoutCount, double? With, double? Without, double? Difference, Interval? Interval)
{
    public bool TooSmall => With is null;

    /// <summary>
    /// For a figure released over a counts-only cell (<see cref="ReleasedFigures"/>): where the difference lies at 95 % as
    /// far as the privacy noise goes; null for an exact figure. <see cref="Interval"/> is then the sampling interval
    /// computed from the released counts (win rate) or null (means).
    /// </summary>
    public NoiseRange? Noise { get; init; }

    /// <summary>The lower end of the difference allowing for sampling and for noise: the interval's low end, lowered by the noise below the difference.</summary>
    public double? LowerBound => Interval is not { } i ? null : Noise is { } n && Difference is { } d ? i.Low - (d - n.Low) : i.Low;
}

/// <summary>The figures of one partner (or of all partners together, for coverage) from my opportunities.</summary>
public sealed record PipelineFigureSet(
    decimal PotentialRevenue,
    Coverage Coverage,
    Comparison WinRate,
    Comparison AverageDealSize,
    Comparison DaysToClose);

/// <summary>
/// The definitions of the pipeline figures (docs/health.md): each is a function of my own opportunities and of which
/// of them overlap a partner's customers; nothing of the partner's records goes in but that membership.
/// </summary>
public static class PipelineFigures
{
    /// <summary>
    /// <paramref name="overlapping"/>: the record ids of my opportunities whose account overlaps at least one of the
    /// partner's customer populations (counted once, however many populations it overlaps).
    /// </summary>
    public static PipelineFigureSet For(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, string currency, FigurePeriod period)
    {
        var coverage = CoverageOf(mine, overlapping, currency);
        return new PipelineFigureSet(coverage.CoveredAmount, coverage, WinRate(mine, overlapping, period),
            AverageDealSize(mine, overlapping, currency, period), DaysToClose(mine, overlapping, period));
    }

    /// <summary>Open opportunities, and those of them that overlap; amounts only in <paramref name="currency"/>.</summary>
    public static Coverage CoverageOf(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, string currency)
    {
        int open = 0, covered = 0;
        decimal openAmount = 0, coveredAmount = 0;
        foreach (var o in mine)
        {
            if (!o.Open) continue;
            var hit = overlapping.Contains(o.RecordId);
            open++;
            if (hit) covered++;
            if (InCurrency(o, currency) is { } amount)
            {
                openAmount += amount;
                if (hit) coveredAmount += amount;
            }
        }
        return new Coverage(open, covered, openAmount, coveredAmount);
    }

    /// <summary>Won ÷ closed among opportunities closed in the period (close date inside it).</summary>
    public static Comparison WinRate(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, FigurePeriod period)
    {
        int wonWith = 0, nWith = 0, wonWithout = 0, nWithout = 0;
        foreach (var o in mine)
        {
            if (!o.Closed || o.CloseDate is not { } date || !period.Contains(date)) continue;
            if (overlapping.Contains(o.RecordId)) { nWith++; if (o.Won) wonWith++; }
            else { nWithout++; if (o.Won) wonWithout++; }
        }
        if (nWith < Intervals.MinimumGroup || nWithout < Intervals.MinimumGroup) return new Comparison(nWith, nWithout, null, null, null, null);
        double p1 = (double)wonWith / nWith, p2 = (double)wonWithout / nWithout;
        return new Comparison(nWith, nWithout, p1, p2, p1 - p2, Intervals.NewcombeDifference(wonWith, nWith, wonWithout, nWithout));
    }

    /// <summary>The mean amount of opportunities won in the period with an amount in <paramref name="currency"/>.</summary>
    public static Comparison AverageDealSize(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, string currency, FigurePeriod period) =>
        Means(mine, overlapping, o => o.Won && o.CloseDate is { } d && period.Contains(d) && InCurrency(o, currency) is not null
            ? (double)o.Amount!.Value : null);

    /// <summary>The mean days from created to closed of opportunities won in the period with both dates.</summary>
    public static Comparison DaysToClose(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, FigurePeriod period) =>
        Means(mine, overlapping, o => o.Won && o.CloseDate is { } d && period.Contains(d) ? o.DaysToClose : null);

    private static Comparison Means(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> overlapping, Func<Opportunity, double?> value)
    {
        var with = new List<double>();
        var without = new List<double>();
        foreach (var o in mine)
            if (value(o) is { } v) (overlapping.Contains(o.RecordId) ? with : without).Add(v);
        if (with.Count < Intervals.MinimumGroup || without.Count < Intervals.MinimumGroup) return new Comparison(with.Count, without.Count, null, null, null, null);
        double m1 = with.Average(), m2 = without.Average();
        return new Comparison(with.Count, without.Count, m1, m2, m1 - m2, Intervals.WelchDifference(with, without));
    }

    private static decimal? InCurrency(Opportunity o, string currency) =>
        o.Amount is { } amount && string.Equals(o.Currency, currency, StringComparison.Ordinal) ? amount : null;

    /// <summary>
    /// The currency the figures are in when none is asked for: the one most of my opportunities with an amount are in
    /// (the first in ordinal order on a tie); null when none has both.
    /// </summary>
    public static string? DefaultCurrency(IReadOnlyList<Opportunity> mine) =>
        mine.Where(o => o.Amount is not null && o.Currency is not null).GroupBy(o => o.Currency!, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).FirstOrDefault();

    /// <summary>
    /// My opportunities from all my opportunities populations, each counted once: an opportunity (a record id) that two
    /// populations both hold is read from the first population in the given order.
    /// </summary>
    public static IReadOnlyList<Opportunity> Distinct(IEnumerable<IEnumerable<Opportunity>> populations)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var all = new List<Opportunity>();
        foreach (var population in populations)
            foreach (var o in population)
                if (seen.Add(o.RecordId)) all.Add(o);
        return all;
    }
}
