using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Tests.Shared;

namespace OverlapEscrow.Domain.Tests.Health;

/// <summary>Pipeline figures over counts-only cells, released through the discrete Laplace mechanism (docs/privacy.md, "Health figures").</summary>
public class ReleasedFiguresTests
{
    private static readonly FigurePeriod Q1 = new(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31));
    private static readonly FigureBounds Bounds = new(1, 1000, 100);
    private static readonly Epsilon Small = Epsilon.FromDecimal(0.02m)!.Value;

    private static Opportunity Open(string id, decimal amount, string currency = "USD") => new(id, amount, currency, null, null, null, false, false, null);

    private static Opportunity ClosedIn(string id, bool won, decimal? amount, int days) =>
        new(id, amount, "USD", null, new DateOnly(2026, 2, 1).AddDays(-days), new DateOnly(2026, 2, 1), true, won, null);

    private static IReadOnlyDictionary<string, IReadOnlyCollection<string>> Neighbors(params (string Partner, string[] Mine)[] pairs) =>
        pairs.ToDictionary(p => p.Partner, p => (IReadOnlyCollection<string>)p.Mine);

    [Fact]
    public void TheBoundedSetKeepsTheExactCellsAndAtMostKOpportunitiesPerPartnerRecordTheSmallestIdsFirst()
    {
        var exact = new HashSet<string> { "A" };
        var neighbors = Neighbors(("T/1", ["C", "A", "B"]), ("T/2", ["D"]), ("U/1", ["A"]));

        Assert.Equal(["A", "B", "D"], ReleasedFigures.BoundedSet(exact, neighbors, 1).Order());
        Assert.Equal(["A", "B", "C", "D"], ReleasedFigures.BoundedSet(exact, neighbors, 2).Order());
    }

    [Fact]
    public void TakingAwayOnePartnerRecordChangesTheBoundedSetByAtMostK()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var k = random.Next(1, 4);
            var exact = Enumerable.Range(0, 5).Where(_ => random.Next(4) == 0).Select(i => $"M{i}").ToHashSet();
            var graph = Enumerable.Range(0, 8).ToDictionary(r => $"T/{r}",
                r => (IReadOnlyCollection<string>)Enumerable.Range(0, 12).Where(_ => random.Next(3) == 0).Select(i => $"M{i}").ToList());
            var full = ReleasedFigures.BoundedSet(exact, graph, k);
            foreach (var removed in graph.Keys)
            {
                var without = ReleasedFigures.BoundedSet(exact, graph.Where(p => p.Key != removed).ToDictionary(p => p.Key, p => p.Value), k);
                Assert.True(without.IsSubsetOf(full));
                Assert.InRange(full.Count - without.Count, 0, k);
            }
        }
    }

    [Fact]
    public void EachFiguresComponentsFollowTheirDefinitionsWithAmountsAndDaysClipped()
    {
        IReadOnlyList<Opportunity> mine =
        [
            Open("O1", 400), Open("O2", 5000), Open("O3", 300), Open("O4", 700, "EUR"),
            ClosedIn("W1", true, 200, 10), ClosedIn("W2", true, 3000, 500), ClosedIn("L1", false, 100, 5), ClosedIn("W3", true, null, 20),
            new("Late", 100, "USD", null, null, new DateOnly(2026, 5, 1), true, true, null),
        ];
        var set = new HashSet<string> { "O1", "O2", "O4", "W1", "W2", "L1", "Late" };

        Assert.Equal([3L], ReleasedFigures.Components(HealthFigure.OverlappingOpportunities, mine, set, "USD", Q1, Bounds));
        Assert.Equal([400L + 1000], ReleasedFigures.Components(HealthFigure.PotentialRevenue, mine, set, "USD", Q1, Bounds)); // 5000 clipped; EUR left out
        Assert.Equal([3L, 2L], ReleasedFigures.Components(HealthFigure.WinRate, mine, set, "USD", Q1, Bounds)); // Late closed after Q1
        Assert.Equal([2L, 200L + 1000], ReleasedFigures.Components(HealthFigure.AverageDealSize, mine, set, "USD", Q1, Bounds));
        Assert.Equal([2L, 10L + 100], ReleasedFigures.Components(HealthFigure.DaysToClose, mine, set, "USD", Q1, Bounds)); // 500 days clipped to 100
    }

    [Theory]
    [InlineData("0.3", 1L)]
    [InlineData("1", 1L)]
    [InlineData("1.01", 2L)]
    [InlineData("3", 5L)]
    [InlineData("5", 5L)]
    [InlineData("7", 10L)]
    [InlineData("12500", 20000L)]
    [InlineData("20000", 20000L)]
    [InlineData("20000.01", 50000L)]
    [InlineData("99999", 100000L)]
    [InlineData("3000000000", 1000000000L)]
    public void TheAmountBoundIsRoundedUpOnTheOneTwoFiveGrid(string value, long bound) =>
        Assert.Equal(bound, ReleasedFigures.RoundUpOnGrid(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void TheAmountBoundIsTheNearestRankQuantileOfMyOwnAmountsInTheCurrencyRoundedUp()
    {
        // 20 USD amounts 100, 200, …, 2000 (open and closed alike) and one large EUR amount that is another currency's.
        var mine = Enumerable.Range(1, 20).Select(i => i % 2 == 0 ? Open($"O{i}", 100 * i) : ClosedIn($"C{i}", true, 100 * i, 10))
            .Append(Open("E", 9_000_000, "EUR")).Append(new Opportunity("N", null, "USD", null, null, null, false, false, null)).ToList();

        // Rank ⌈0.95 × 20⌉ = 19: 1900, rounded up to 2000; the median (rank 10): 1000.
        Assert.Equal(2000L, ReleasedFigures.OwnAmountBound(mine, "USD", 0.95));
        Assert.Equal(1000L, ReleasedFigures.OwnAmountBound(mine, "USD", 0.5));
        Assert.Equal(10_000_000L, ReleasedFigures.OwnAmountBound(mine, "EUR", 0.95));
        Assert.Null(ReleasedFigures.OwnAmountBound(mine, "GBP", 0.95));
    }

    [Fact]
    public void TheAmountBoundDoesNotDependOnWhichOfMyOpportunitiesOverlapThePartner()
    {
        // The privacy argument in one line: the bound is a function of my opportunities alone, so every set the partner's
        // data could make gives the same bound and the same sensitivity.
        var mine = Enumerable.Range(1, 30).Select(i => Open($"O{i:D2}", 37 * i * i)).ToList();
        var bound = ReleasedFigures.OwnAmountBound(mine, "USD", 0.95)!.Value;
        var random = new Random(3);
        for (var trial = 0; trial < 20; trial++)
        {
            var set = mine.Where(_ => random.Next(2) == 0).Select(o => o.RecordId).ToHashSet();
            var bounds = new FigureBounds(1, bound, 365, AmountBoundSource.OwnAmounts);
            Assert.Equal([bound], ReleasedFigures.Sensitivities(HealthFigure.PotentialRevenue, bounds, 1));
            Assert.Equal(ReleasedFigures.Totals(mine, new HashSet<string>(), "USD", Q1, bounds).OpenExcess, ReleasedFigures.Totals(mine, set, "USD", Q1, bounds).OpenExcess);
        }
    }

    [Fact]
    public void AmountsAboveTheBoundCountAtTheBoundAndTheirExcessIsReported()
    {
        IReadOnlyList<Opportunity> mine = [Open("O1", 400), Open("O2", 5000), Open("O3", 1300), Open("O4", 7000, "EUR"), ClosedIn("W1", true, 9000, 10)];

        var totals = ReleasedFigures.Totals(mine, new HashSet<string> { "O2" }, "USD", Q1, Bounds);

        Assert.Equal(1000L, totals.OpenAmount.With);
        Assert.Equal(400L + 1000 + 1000, totals.OpenAmount.Total);
        Assert.Equal(6700m, totals.OpenAmountUnclipped);
        // Open USD amounts above 1000: O2 (4000 over) and O3 (300 over); the EUR one and the closed one are not open USD.
        Assert.Equal((2L, 4300m), (totals.OpenAboveBound, totals.OpenExcess));
    }

    [Fact]
    public void ASensitivityIsTheContributionBoundTimesTheCountsPopulationsTimesTheClip()
    {
        var bounds = new FigureBounds(2, 50_000, 365);
        Assert.Equal([6L], ReleasedFigures.Sensitivities(HealthFigure.OverlappingOpportunities, bounds, 3));
        Assert.Equal([300_000L], ReleasedFigures.Sensitivities(HealthFigure.PotentialRevenue, bounds, 3));
        Assert.Equal([2L, 2L * 365], ReleasedFigures.Sensitivities(HealthFigure.DaysToClose, bounds, 1));
    }

    [Fact]
    public void AnExactDrawSpendsNothingAndAssemblesToTheExactFigures()
    {
        var mine = new List<Opportunity>();
        for (var i = 0; i < 10; i++) mine.Add(Open($"O{i}", 100 * (i + 1)));
        for (var i = 0; i < 12; i++) mine.Add(ClosedIn($"W{i:D2}", i < 9, 500, 30));
        for (var i = 0; i < 12; i++) mine.Add(ClosedIn($"N{i:D2}", i < 3, 500, 30));
        var set = mine.Where(o => o.RecordId is "O0" or "O1" or "O2" || o.RecordId.StartsWith('W')).Select(o => o.RecordId).ToHashSet();
        var draws = ReleasedFigures.All.ToDictionary(f => f, f => ReleasedFigures.Draw(ReleasedFigures.Components(f, mine, set, "USD", Q1, Bounds),
            ReleasedFigures.Sensitivities(f, Bounds, 1), null, new SeededRandomBits(1)));

        Assert.All(draws.Values, d => Assert.True(d.IsExact));
        var (released, _) = ReleasedFigures.Assemble(ReleasedFigures.Totals(mine, set, "USD", Q1, Bounds), draws);
        var exact = PipelineFigures.For(mine, set, "USD", Q1);
        Assert.Equal(exact.PotentialRevenue, released.PotentialRevenue);
        Assert.Equal(exact.Coverage, released.Coverage);
        Assert.Equal((exact.WinRate.With, exact.WinRate.Without, exact.WinRate.Difference, exact.WinRate.Interval),
            (released.WinRate.With, released.WinRate.Without, released.WinRate.Difference, released.WinRate.Interval));
        Assert.Equal(exact.AverageDealSize.Difference, released.AverageDealSize.Difference);
    }

    [Fact]
    public void TheNoiseOfASumHasTheDiscreteLaplaceVarianceAtItsSensitivityOverEpsilon()
    {
        // Var = 2α/(1 − α)² with α = e^(−ε/Δ): for ε = 1 and Δ = 10, about 199.7; a count (Δ = 1) about 0.92.
        var bits = new SeededRandomBits(17);
        var one = Epsilon.FromDecimal(1m)!.Value;
        double Variance(long sensitivity)
        {
            var draws = Enumerable.Range(0, 20_000).Select(_ => (double)ExactSampling.DiscreteLaplace(bits, one, sensitivity)).ToList();
            var mean = draws.Average();
            Assert.InRange(mean, -0.05 * sensitivity, 0.05 * sensitivity);
            return draws.Sum(d => (d - mean) * (d - mean)) / draws.Count;
        }
        static double Expected(double rate) { var a = Math.Exp(-rate); return 2 * a / ((1 - a) * (1 - a)); }

        Assert.InRange(Variance(10) / Expected(0.1), 0.92, 1.08);
        Assert.InRange(Variance(1) / Expected(1), 0.92, 1.08);
    }

    [Fact]
    public void AboutNinetyFivePercentOfDrawsAreWithinTheirStatedMargins()
    {
        var bits = new SeededRandomBits(3);
        long[] exact = [40, 12_000];
        long[] sensitivity = [1, 1000];
        var inside = 0;
        const int trials = 4000;
        for (var i = 0; i < trials; i++)
        {
            var draw = ReleasedFigures.Draw(exact, sensitivity, Small, bits);
            if (Math.Abs(draw.Values[0] - exact[0]) <= draw.Margins[0] && Math.Abs(draw.Values[1] - exact[1]) <= draw.Margins[1]) inside++;
        }
        Assert.InRange((double)inside / trials, 0.93, 0.975);
        // ε/2 each, Δ = 1000 for the sum: its margin is a thousand times the count's, about ln(40)·2/ε ≈ 369 for the count.
        var margins = ReleasedFigures.Margins(sensitivity, Small);
        Assert.InRange(margins[0], 360, 375);
        Assert.InRange(margins[1], 1000 * margins[0] - 1000, 1000 * margins[0] + 1000);
    }

    [Fact]
    public void TheSubsetSumAttackReadsMembershipOffTheExactSumButNotOffTheReleasedOne()
    {
        // Ten of my opportunities on ten accounts, with amounts 1, 2, 4, …, 512: the sum over the set names every account in it.
        var mine = Enumerable.Range(0, 10).Select(i => Open($"O{i}", 1 << i)).ToList();
        var bits = new SeededRandomBits(11);
        var random = new Random(2);
        int exactRight = 0, releasedRight = 0, total = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var set = mine.Where(_ => random.Next(2) == 0).Select(o => o.RecordId).ToHashSet();
            var components = ReleasedFigures.Components(HealthFigure.PotentialRevenue, mine, set, "USD", Q1, Bounds);
            var released = ReleasedFigures.Draw(components, ReleasedFigures.Sensitivities(HealthFigure.PotentialRevenue, Bounds, 1), Small, bits).Values[0];
            for (var i = 0; i < 10; i++)
            {
                var member = set.Contains($"O{i}");
                total++;
                if ((components[0] >> i & 1) == 1 == member) exactRight++;
                if ((Math.Clamp(released, 0, 1023) >> i & 1) == 1 == member) releasedRight++;
            }
        }
        Assert.Equal(total, exactRight);
        Assert.InRange((double)releasedRight / total, 0.45, 0.58); // a coin would say 0.5
    }

    [Fact]
    public void EveryReleasedPairAssemblesToFiniteFiguresWithRatesBetweenZeroAndOne()
    {
        // My own totals: 25 closed in the period, 20 of them won; 18 deals with an amount (Σ 9,000), 18 with days (Σ 540).
        // Every released (group size, numerator) the noise could give, from below zero to past the totals, with small and
        // large margins: a noisy group size can leave the rest of the numerators larger than the rest of the group (a rate
        // above 1, whose Wilson interval took the square root of a negative number and came out NaN: JSON has no NaN).
        var totals = new ReleasedFigures.FigureTotals(new(0, 0), new(0, 0), 0, Closed: new(15, 25), Won: new(12, 20),
            DealCount: new(10, 18), DealAmount: new(5_000, 9_000), DaysCount: new(10, 18), DaysSum: new(300, 540));
        var checkedPairs = 0;
        foreach (var margin in (long[])[0, 3, 40])
            for (var n = -3L; n <= 28; n++)
                for (var s = -3L; s <= 23; s++)
                {
                    var pair = new FigureDraw([n, s], Small, [margin, margin]);
                    var sums = new FigureDraw([n, s * 500], Small, [margin, margin * 500]);
                    var draws = new Dictionary<HealthFigure, FigureDraw>
                    {
                        [HealthFigure.OverlappingOpportunities] = new([0], Small, [margin]),
                        [HealthFigure.PotentialRevenue] = new([0], Small, [margin]),
                        [HealthFigure.WinRate] = pair,
                        [HealthFigure.AverageDealSize] = sums,
                        [HealthFigure.DaysToClose] = sums,
                    };
                    var (figures, noise) = ReleasedFigures.Assemble(totals, draws);
                    var at = $"n={n} s={s} margin={margin}";
                    foreach (var comparison in (Comparison[])[figures.WinRate, figures.AverageDealSize, figures.DaysToClose])
                    {
                        double?[] values = [comparison.With, comparison.Without, comparison.Difference, comparison.Interval?.Low, comparison.Interval?.High,
                            comparison.Noise?.Low, comparison.Noise?.High];
                        Assert.True(values.All(v => v is null || double.IsFinite(v.Value)), at);
                        Assert.True(comparison.Interval is not { } i || i.Low <= i.High, at);
                        Assert.True(comparison.Noise is not { } r || r.Low <= comparison.Difference && comparison.Difference <= r.High, at);
                    }
                    if (!figures.WinRate.TooSmall)
                    {
                        Assert.InRange(figures.WinRate.With!.Value, 0, 1);
                        Assert.InRange(figures.WinRate.Without!.Value, 0, 1);
                        Assert.InRange(figures.WinRate.Interval!.Value.Low, -1, 1);
                        Assert.InRange(figures.WinRate.Interval!.Value.High, -1, 1);
                        checkedPairs++;
                    }
                    Assert.True(noise.WinRate is not { } w || double.IsFinite(w.Low) && double.IsFinite(w.High), at);
                    System.Text.Json.JsonSerializer.Serialize(figures); // throws on NaN or an infinity
                }
        Assert.True(checkedPairs > 200, $"only {checkedPairs} released pairs were large enough to compare");
    }
}
