using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Domain.Health;

/// <summary>
/// A pipeline figure that rests on a counts-only cell and is therefore released through the private-counts mechanism
/// (docs/privacy.md, "Health figures"), one release each. Each has one or two integer <em>components</em> about the
/// opportunities of mine that overlap the partner (the "with" side): the rest of every figure is my own data, exact.
/// </summary>
public enum HealthFigure
{
    /// <summary>[number of open opportunities in the set]: the covered count and its share.</summary>
    OverlappingOpportunities,

    /// <summary>[Σ clipped open amount in the set]: the potential revenue and the covered amount share.</summary>
    PotentialRevenue,

    /// <summary>[closed in the period in the set, won in the period in the set]: the win rate with vs without.</summary>
    WinRate,

    /// <summary>[won in the period with an amount in the currency in the set, Σ of their clipped amounts]: the average deal size.</summary>
    AverageDealSize,

    /// <summary>[won in the period with both dates in the set, Σ of their clipped days to close]: the time to close.</summary>
    DaysToClose,

    /// <summary>
    /// [open opportunities in the union over all partners, Σ of their clipped open amounts]: the all-partner coverage
    /// when it rests on at least one counts-only partner (<see cref="ReleasedFigures.OverallComponents"/>), paid by each.
    /// </summary>
    OverallCoverage,
}

/// <summary>
/// The bounds that make a released figure's sensitivity finite, stated with every release: how many of my opportunities
/// one account of the partner may bring into the set (<see cref="OpportunitiesPerAccount"/>, the contribution bound),
/// and the most one opportunity's amount (in the figure's currency, whole units) and days to close may add to a sum
/// (larger values count as the bound: clipping). <see cref="AmountSource"/> says where the amount bound came from.
/// </summary>
public sealed record FigureBounds(int OpportunitiesPerAccount, long AmountPerOpportunity, long DaysPerOpportunity,
    AmountBoundSource AmountSource = AmountBoundSource.Default);

/// <summary>
/// Where a released sum's amount bound B comes from: the viewer's own amounts in the currency (<see cref="OwnAmounts"/>:
/// a high quantile rounded up on the 1-2-5 grid, <see cref="ReleasedFigures.OwnAmountBound"/>), the operator's setting for
/// the currency (<see cref="Configured"/>), or the escrow's default when the viewer has no amount in the currency.
/// </summary>
public enum AmountBoundSource { OwnAmounts, Configured, Default }

/// <summary>
/// The released form of one figure: its components as drawn (noised, or exact when the owner chose exact counts), the ε
/// it spent and the 95 % margin of each component's noise (per component at the confidence that makes the box of all
/// components hold together at 95 %: 97.5 % each for two, the union bound).
/// </summary>
public sealed record FigureDraw(IReadOnlyList<long> Values, Epsilon Epsilon, IReadOnlyList<long> Margins)
{
    public bool IsExact => Epsilon == Epsilon.Zero;
}

/// <summary>The noise of a released value: the range the true value lies in at 95 % as far as the noise goes (sampling error aside).</summary>
public readonly record struct NoiseRange(double Low, double High);

/// <summary>
/// Releasing pipeline figures over counts-only cells (docs/health.md, docs/privacy.md "Health figures"): the bounded
/// overlapping set, each figure's exact components over it, their sensitivities, the draw (the discrete Laplace
/// mechanism of <see cref="ExactSampling"/>, as for matrix counts), and the figures assembled from the released
/// components by post-processing, with their noise ranges.
/// </summary>
/// <remarks>
/// The privacy unit is one account (one record) of the partner in one of its counts-only customer populations, as for a
/// matrix cell. Removing it changes the set of my opportunities that overlap the partner by at most
/// <see cref="FigureBounds.OpportunitiesPerAccount"/> in that population (<see cref="BoundedSet"/> keeps at most that
/// many per partner record, chosen by my record ids alone), so by at most k·m over the m counts-only populations the
/// account can be in. A count over the set then moves by at most k·m, a sum of values clipped to [0, B] by at most
/// k·m·B; a component released with the discrete Laplace mechanism of scale Δ/ε is ε-differentially private (Dwork and
/// Roth 2014, Theorem 3.6, in its discrete form: Canonne, Kamath and Steinke 2020; Inusah and Kozubowski 2006 for the
/// distribution), a figure of two components with ε/2 each is ε-DP by basic composition (Dwork and Roth 2014, Theorem
/// 3.14), and everything computed from released components and my own data — rates, means, differences, shares, scores,
/// Newcombe intervals — is post-processing and costs nothing more (Dwork and Roth 2014, Proposition 2.1).
/// </remarks>
public static class ReleasedFigures
{
    public static readonly IReadOnlyList<HealthFigure> All =
        [HealthFigure.OverlappingOpportunities, HealthFigure.PotentialRevenue, HealthFigure.WinRate, HealthFigure.AverageDealSize, HealthFigure.DaysToClose];

    /// <summary>The confidence of a released figure's margin of error (the box of its components).</summary>
    public const double Confidence = 0.95;

    public static string Wire(HealthFigure figure) => figure switch
    {
        HealthFigure.OverlappingOpportunities => "overlapping_opportunities",
        HealthFigure.PotentialRevenue => "potential_revenue",
        HealthFigure.WinRate => "win_rate",
        HealthFigure.AverageDealSize => "average_deal_size",
        HealthFigure.DaysToClose => "days_to_close",
        _ => "overall_coverage",
    };

    /// <summary>Every figure that is stored, the per-partner ones and the all-partner coverage.</summary>
    public static readonly IReadOnlyList<HealthFigure> Stored = [.. All, HealthFigure.OverallCoverage];

    /// <summary>
    /// The set the figures are over: every opportunity of mine in <paramref name="exact"/> (overlaps-level cells, which
    /// I can list anyway), and, per partner record of a counts-only population (a key of <paramref name="countsNeighbors"/>),
    /// at most <paramref name="perAccount"/> of the opportunities of mine it matched and that are not in the exact set,
    /// the smallest record ids first. The choice for one partner record depends on that record's matches and my
    /// record ids only, so taking the record away takes away at most <paramref name="perAccount"/> opportunities.
    /// </summary>
    public static HashSet<string> BoundedSet(IReadOnlySet<string> exact, IReadOnlyDictionary<string, IReadOnlyCollection<string>> countsNeighbors, int perAccount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perAccount, 1);
        var set = new HashSet<string>(exact, StringComparer.Ordinal);
        foreach (var neighbors in countsNeighbors.Values)
            foreach (var id in neighbors.Where(n => !exact.Contains(n)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(perAccount))
                set.Add(id);
        return set;
    }

    /// <summary>The largest amount bound there is (the options' range): a sum's sensitivity k·m·B stays far inside a long.</summary>
    public const long MaxAmountBound = 1_000_000_000;

    /// <summary>
    /// The amount bound B taken from the viewer's own amounts in <paramref name="currency"/>: the
    /// <paramref name="quantile"/> (nearest rank) of the amounts of all my opportunities in that currency (open or
    /// closed), rounded up to the next value of the 1-2-5 grid (1, 2, 5, 10, 20, 50 …), at most
    /// <see cref="MaxAmountBound"/>; null when I have no amount in the currency.
    /// </summary>
    /// <remarks>
    /// Why this keeps the release ε-differentially private for the partner: the sensitivity k·m·B must not depend on the
    /// partner's data, and B here is a function of the viewer's own opportunities alone (never of which of them overlap),
    /// so for every pair of the partner's neighbouring datasets it is the same number; the viewer already knows it. The
    /// price is bias, not privacy: an amount above B counts as B (the clipped excess is shown beside the figure).
    /// </remarks>
    public static long? OwnAmountBound(IReadOnlyList<Opportunity> mine, string currency, double quantile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        var amounts = mine.Where(o => o.Amount is not null && string.Equals(o.Currency, currency, StringComparison.Ordinal)).Select(o => o.Amount!.Value)
            .Order().ToList();
        if (amounts.Count == 0) return null;
        var rank = (int)Math.Ceiling(quantile * amounts.Count);
        return RoundUpOnGrid(amounts[Math.Clamp(rank, 1, amounts.Count) - 1]);
    }

    /// <summary>The smallest value of the 1-2-5 grid (1, 2, 5, 10, 20, 50, …) at least <paramref name="value"/>; at least 1, at most <see cref="MaxAmountBound"/>.</summary>
    public static long RoundUpOnGrid(decimal value)
    {
        for (long decade = 1; decade <= MaxAmountBound; decade *= 10)
            foreach (var step in (ReadOnlySpan<long>)[1, 2, 5])
                if (step * decade >= value) return Math.Min(step * decade, MaxAmountBound);
        return MaxAmountBound;
    }

    /// <summary>An amount clipped to [0, bound] in whole units of its currency (rounded half away from zero).</summary>
    public static long Clip(decimal amount, long bound) => Math.Clamp((long)Math.Round(Math.Min(amount, bound), MidpointRounding.AwayFromZero), 0, bound);

    private static long Clip(int days, long bound) => Math.Clamp(days, 0, bound);

    /// <summary>The figure's exact components over <paramref name="set"/> (the "with" side), amounts and days clipped.</summary>
    public static long[] Components(HealthFigure figure, IReadOnlyList<Opportunity> mine, IReadOnlySet<string> set, string currency, FigurePeriod period, FigureBounds bounds)
    {
        var t = Totals(mine, set, currency, period, bounds);
        return figure switch
        {
            HealthFigure.OverlappingOpportunities => [t.Open.With],
            HealthFigure.PotentialRevenue => [t.OpenAmount.With],
            HealthFigure.WinRate => [t.Closed.With, t.Won.With],
            HealthFigure.AverageDealSize => [t.DealCount.With, t.DealAmount.With],
            HealthFigure.DaysToClose => [t.DaysCount.With, t.DaysSum.With],
            _ => [t.Open.With, t.OpenAmount.With],
        };
    }

    /// <summary>
    /// How much one partner account moves each component: k·m for counts, k·m·bound for sums. For the all-partner
    /// coverage, m is the largest number of counts-only customer populations of any one partner it is charged to: one
    /// account of partner P changes P's bounded set by at most k·m_P opportunities, so the union of all partners' sets
    /// (the others' fixed) by at most as many.
    /// </summary>
    public static long[] Sensitivities(HealthFigure figure, FigureBounds bounds, int countsPopulations)
    {
        var k = checked((long)bounds.OpportunitiesPerAccount * Math.Max(1, countsPopulations));
        return figure switch
        {
            HealthFigure.OverlappingOpportunities => [k],
            HealthFigure.PotentialRevenue => [checked(k * bounds.AmountPerOpportunity)],
            HealthFigure.WinRate => [k, k],
            HealthFigure.AverageDealSize => [k, checked(k * bounds.AmountPerOpportunity)],
            HealthFigure.DaysToClose => [k, checked(k * bounds.DaysPerOpportunity)],
            _ => [k, checked(k * bounds.AmountPerOpportunity)],
        };
    }

    /// <summary>
    /// Draws a figure: each of its n components plus discrete Laplace noise of ε/n at its sensitivity (ε in all); with
    /// <paramref name="noise"/> null (the owner chose exact counts) the exact components, spending nothing.
    /// </summary>
    public static FigureDraw Draw(IReadOnlyList<long> exact, IReadOnlyList<long> sensitivities, Epsilon? noise, IRandomBits bits)
    {
        if (noise is not { } epsilon || epsilon == Epsilon.Zero) return new FigureDraw(exact.ToArray(), Epsilon.Zero, new long[exact.Count]);
        var n = exact.Count;
        var values = new long[n];
        for (var i = 0; i < n; i++) values[i] = checked(exact[i] + ExactSampling.DiscreteLaplace(bits, epsilon, checked(sensitivities[i] * n)));
        return new FigureDraw(values, epsilon, Margins(sensitivities, epsilon));
    }

    /// <summary>Each component's margin: the half-width that holds for all n together at 95 % (97.5 % each for two).</summary>
    public static long[] Margins(IReadOnlyList<long> sensitivities, Epsilon epsilon)
    {
        var n = sensitivities.Count;
        return sensitivities.Select(s => DiscreteLaplaceFacts.MarginOfError(epsilon, checked(s * n), 1 - (1 - Confidence) / n)).ToArray();
    }

    /// <summary>
    /// A key for the data a figure is drawn for: the populations and versions of both sides (mine, the partner's customer
    /// populations with a cell), so a figure is drawn once per data, period, currency and figure.
    /// </summary>
    public static string DataKey(IEnumerable<(string Population, string Version)> populations)
    {
        var text = string.Join("\n", populations.Select(p => p.Population + "@" + p.Version).Order(StringComparer.Ordinal));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>A "with" and "without" pair of my opportunities (the without side is the total minus the with side).</summary>
    public readonly record struct Split(long With, long Total)
    {
        public long Without => Total - With;
    }

    /// <summary>Every component's with-side and total over my opportunities, clipped as released.</summary>
    /// <remarks>
    /// <see cref="OpenAboveBound"/> and <see cref="OpenExcess"/>: how many of all my open opportunities in the currency
    /// have an amount above the bound, and by how much in all — the most the clipping can lower a released sum of open
    /// amounts (my own data, over all my opportunities, never over the set: shown free beside the figure).
    /// </remarks>
    public sealed record FigureTotals(Split Open, Split OpenAmount, decimal OpenAmountUnclipped, Split Closed, Split Won, Split DealCount, Split DealAmount,
        Split DaysCount, Split DaysSum)
    {
        public long OpenAboveBound { get; init; }
        public decimal OpenExcess { get; init; }
    }

    public static FigureTotals Totals(IReadOnlyList<Opportunity> mine, IReadOnlySet<string> set, string currency, FigurePeriod period, FigureBounds bounds)
    {
        long open = 0, openWith = 0, amount = 0, amountWith = 0, closed = 0, closedWith = 0, won = 0, wonWith = 0;
        long deals = 0, dealsWith = 0, dealSum = 0, dealSumWith = 0, days = 0, daysWith = 0, daySum = 0, daySumWith = 0;
        decimal unclipped = 0, excess = 0;
        long above = 0;
        foreach (var o in mine)
        {
            var with = set.Contains(o.RecordId);
            var money = o.Amount is { } a && string.Equals(o.Currency, currency, StringComparison.Ordinal) ? a : (decimal?)null;
            if (o.Open)
            {
                open++; if (with) openWith++;
                if (money is { } m)
                {
                    var c = Clip(m, bounds.AmountPerOpportunity);
                    unclipped += m;
                    if (m > bounds.AmountPerOpportunity) { above++; excess += m - bounds.AmountPerOpportunity; }
                    amount += c; if (with) amountWith += c;
                }
                continue;
            }
            if (o.CloseDate is not { } date || !period.Contains(date)) continue;
            closed++; if (with) closedWith++;
            if (!o.Won) continue;
            won++; if (with) wonWith++;
            if (money is { } w)
            {
                var c = Clip(w, bounds.AmountPerOpportunity);
                deals++; dealSum += c;
                if (with) { dealsWith++; dealSumWith += c; }
            }
            if (o.DaysToClose is { } d)
            {
                var c = Clip(d, bounds.DaysPerOpportunity);
                days++; daySum += c;
                if (with) { daysWith++; daySumWith += c; }
            }
        }
        return new FigureTotals(new(openWith, open), new(amountWith, amount), unclipped, new(closedWith, closed), new(wonWith, won),
            new(dealsWith, deals), new(dealSumWith, dealSum), new(daysWith, days), new(daySumWith, daySum)) { OpenAboveBound = above, OpenExcess = excess };
    }

    /// <summary>The noise ranges of a partner's released figures, beside the values (null where a figure is not shown).</summary>
    public sealed record FigureNoise(NoiseRange CoveredCount, NoiseRange PotentialRevenue, NoiseRange? CountShare, NoiseRange? AmountShare,
        NoiseRange? WinRate, NoiseRange? AverageDealSize, NoiseRange? DaysToClose);

    /// <summary>
    /// The pipeline figures from released components (<paramref name="draws"/>, one per figure) and my own totals:
    /// post-processing only. Released counts and sums are clamped to what my own totals allow (0 ≤ with ≤ total);
    /// "without" is the total minus the released "with"; a comparison is too small to say by the released group sizes;
    /// the win-rate interval is Newcombe's from the released counts (sampling), and each value's noise range comes from
    /// the corners of its components' 95 % box (every figure here is monotone in each component).
    /// </summary>
    public static (PipelineFigureSet Figures, FigureNoise Noise) Assemble(FigureTotals t, IReadOnlyDictionary<HealthFigure, FigureDraw> draws)
    {
        var open = draws[HealthFigure.OverlappingOpportunities];
        var revenue = draws[HealthFigure.PotentialRevenue];
        var covered = Clamp(open.Values[0], t.Open.Total);
        var coveredAmount = Clamp(revenue.Values[0], t.OpenAmount.Total);
        var coveredRange = Range(covered, open.Margins[0], t.Open.Total);
        var amountRange = Range(coveredAmount, revenue.Margins[0], t.OpenAmount.Total);
        var coverage = new Coverage((int)t.Open.Total, (int)covered, t.OpenAmountUnclipped, coveredAmount);
        NoiseRange? countShare = t.Open.Total == 0 ? null : new NoiseRange(coveredRange.Low / t.Open.Total, coveredRange.High / t.Open.Total);
        NoiseRange? amountShare = t.OpenAmountUnclipped == 0 ? null
            : new NoiseRange(amountRange.Low / (double)t.OpenAmountUnclipped, amountRange.High / (double)t.OpenAmountUnclipped);

        var (winRate, winNoise) = Compare(draws[HealthFigure.WinRate], t.Closed, t.Won, rate: true);
        var (deal, dealNoise) = Compare(draws[HealthFigure.AverageDealSize], t.DealCount, t.DealAmount, rate: false);
        var (days, daysNoise) = Compare(draws[HealthFigure.DaysToClose], t.DaysCount, t.DaysSum, rate: false);
        return (new PipelineFigureSet(coveredAmount, coverage, winRate, deal, days),
            new FigureNoise(coveredRange, amountRange, countShare, amountShare, winNoise, dealNoise, daysNoise));
    }

    /// <summary>
    /// A with-vs-without comparison from a released (group size, numerator) pair: a rate (won of closed) or a mean (sum
    /// of values over their number). The difference is f(n, s) = s/n − (S − s)/(N − n), increasing in s and decreasing
    /// in n, so its extremes over the noise box are at (n − mₙ, s + mₛ) and (n + mₙ, s − mₛ).
    /// </summary>
    private static (Comparison, NoiseRange?) Compare(FigureDraw draw, Split groups, Split numerators, bool rate)
    {
        var n = Clamp(draw.Values[0], groups.Total);
        var s = Clamp(draw.Values[1], numerators.Total);
        var without = groups.Total - n;
        // A rate's numerators lie within their groups on both sides (post-processing of the released values): with noise on
        // the group's size, the rest of the numerators could exceed the rest of the group, a rate above 1 whose interval
        // was NaN (a 500 on the pipeline's page and API: JSON has no NaN).
        if (rate) s = Math.Clamp(s, Math.Min(n, Math.Max(0, numerators.Total - without)), n);
        if (n < Intervals.MinimumGroup || without < Intervals.MinimumGroup) return (new Comparison((int)n, (int)without, null, null, null, null), null);
        double Difference(long gn, long gs) => (double)gs / gn - (double)(numerators.Total - gs) / (groups.Total - gn);
        var with = (double)s / n;
        var other = (double)(numerators.Total - s) / without;
        var difference = with - other;
        var nLow = Math.Clamp(n - draw.Margins[0], 1, groups.Total - 1);
        var nHigh = Math.Clamp(n + draw.Margins[0], 1, groups.Total - 1);
        var sLow = Math.Clamp(s - draw.Margins[1], 0, numerators.Total);
        var sHigh = Math.Clamp(s + draw.Margins[1], 0, numerators.Total);
        var high = Difference(nLow, sHigh);
        var low = Difference(nHigh, sLow);
        if (rate)
        {
            high = Math.Min(high, 1);
            low = Math.Max(low, -1);
        }
        Interval? sampling = rate ? Intervals.NewcombeDifference((int)s, (int)n, (int)(numerators.Total - s), (int)without) : null;
        var noise = new NoiseRange(Math.Min(low, difference), Math.Max(high, difference));
        return (new Comparison((int)n, (int)without, with, other, difference, sampling) { Noise = noise }, noise);
    }

    /// <summary>The noise of the all-partner coverage: where the covered count and amount, and their shares, lie at 95 % as far as the noise goes.</summary>
    public sealed record CoverageNoise(NoiseRange CoveredCount, NoiseRange CoveredAmount, NoiseRange? CountShare, NoiseRange? AmountShare);

    /// <summary>
    /// The all-partner coverage from its released components (open count, clipped open amount over the union of every
    /// partner's set) and my own totals: post-processing only. <paramref name="known"/> is the union over the partners
    /// whose sets I may know exactly (overlaps-level cells, exact counts): the released values are clamped to lie between
    /// what that part already holds and my totals.
    /// </summary>
    public static (Coverage Coverage, CoverageNoise Noise) AssembleOverall(FigureTotals union, FigureTotals known, FigureDraw draw)
    {
        var covered = Math.Clamp(draw.Values[0], Math.Min(known.Open.With, union.Open.Total), Math.Max(0, union.Open.Total));
        var amount = Math.Clamp(draw.Values[1], Math.Min(known.OpenAmount.With, union.OpenAmount.Total), Math.Max(0, union.OpenAmount.Total));
        var countRange = new NoiseRange(Math.Max(known.Open.With, covered - draw.Margins[0]), Math.Min(union.Open.Total, covered + draw.Margins[0]));
        var amountRange = new NoiseRange(Math.Max(known.OpenAmount.With, amount - draw.Margins[1]), Math.Min(union.OpenAmount.Total, amount + draw.Margins[1]));
        var coverage = new Coverage((int)union.Open.Total, (int)covered, union.OpenAmountUnclipped, amount);
        NoiseRange? countShare = union.Open.Total == 0 ? null : new NoiseRange(countRange.Low / union.Open.Total, countRange.High / union.Open.Total);
        NoiseRange? amountShare = union.OpenAmountUnclipped == 0 ? null
            : new NoiseRange(amountRange.Low / (double)union.OpenAmountUnclipped, amountRange.High / (double)union.OpenAmountUnclipped);
        return (coverage, new CoverageNoise(countRange, amountRange, countShare, amountShare));
    }

    private static long Clamp(long value, long total) => Math.Clamp(value, 0, Math.Max(0, total));

    private static NoiseRange Range(long value, long margin, long total) => new(Math.Max(0, value - margin), Math.Min(total, value + margin));
}
