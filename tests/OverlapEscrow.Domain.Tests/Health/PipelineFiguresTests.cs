using MathNet.Numerics.Distributions;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Opportunities;

namespace OverlapEscrow.Domain.Tests.Health;

public class PipelineFiguresTests
{
    private static readonly FigurePeriod Q1 = new(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31));

    private static Opportunity Open(string id, decimal? amount = null, string currency = "USD") =>
        new(id, amount, amount is null ? null : currency, null, new DateOnly(2026, 1, 1), null, false, false, null);

    private static Opportunity Closed(string id, bool won, DateOnly close, decimal? amount = null, int days = 30) =>
        new(id, amount, amount is null ? null : "USD", null, close.AddDays(-days), close, true, won, null);

    [Fact]
    public void CoverageCountsEveryOpenOpportunityButAddsOnlyAmountsInTheFiguresCurrency()
    {
        Opportunity[] mine = [Open("O1", 100), Open("O2", 300), Open("O3", 50, "EUR"), Open("O4"), Closed("O5", true, new(2026, 2, 1), 1000)];
        var overlapping = new HashSet<string> { "O1", "O3", "O4", "O5" };

        var figures = PipelineFigures.For(mine, overlapping, "USD", Q1);

        Assert.Equal(new Coverage(4, 3, 400m, 100m), figures.Coverage);
        Assert.Equal(100m, figures.PotentialRevenue);
        Assert.Equal(0.75, figures.Coverage.CountShare);
        Assert.Equal(0.25, figures.Coverage.AmountShare);
    }

    [Fact]
    public void AnOpportunityInTwoOfMyPopulationsIsCountedOnce()
    {
        var all = PipelineFigures.Distinct([[Open("O1", 100), Open("O2", 5)], [Open("O1", 100), Open("O3", 7)]]);

        Assert.Equal(["O1", "O2", "O3"], all.Select(o => o.RecordId));
        Assert.Equal(112m, PipelineFigures.CoverageOf(all, new HashSet<string>(), "USD").OpenAmount);
    }

    [Fact]
    public void ComparisonsNeedTenInEachGroupAndShowOnlyTheGroupSizesBelowThat()
    {
        var mine = Enumerable.Range(0, 10).Select(i => Closed($"W{i}", i < 6, new(2026, 2, 1), 100)).Concat(
                   Enumerable.Range(0, 9).Select(i => Closed($"N{i}", i < 3, new(2026, 2, 1), 100))).ToList();
        var overlapping = mine.Where(o => o.RecordId.StartsWith('W')).Select(o => o.RecordId).ToHashSet();

        var winRate = PipelineFigures.WinRate(mine, overlapping, Q1);

        Assert.True(winRate.TooSmall);
        Assert.Equal((10, 9), (winRate.WithCount, winRate.WithoutCount));
        Assert.Null(winRate.Difference);
        Assert.Null(winRate.Interval);
    }

    [Fact]
    public void TheWinRateComparesOpportunitiesClosedInThePeriodWithNewcombesInterval()
    {
        // Newcombe (1998), Table II, example (a): 56/70 against 48/80; method 10 gives 0.0524 to 0.3339.
        var mine = new List<Opportunity>();
        for (var i = 0; i < 70; i++) mine.Add(Closed($"W{i}", i < 56, new(2026, 3, 31)));
        for (var i = 0; i < 80; i++) mine.Add(Closed($"N{i}", i < 48, new(2026, 1, 1)));
        mine.Add(Closed("LATE", true, new(2026, 4, 1))); // closed after the period: not in it
        mine.Add(Open("OPEN"));
        var overlapping = mine.Where(o => o.RecordId.StartsWith('W') || o.RecordId == "LATE").Select(o => o.RecordId).ToHashSet();

        var winRate = PipelineFigures.WinRate(mine, overlapping, Q1);

        Assert.Equal((70, 80), (winRate.WithCount, winRate.WithoutCount));
        Assert.Equal(0.2, winRate.Difference!.Value, 12);
        Assert.Equal(0.0524, winRate.Interval!.Value.Low, 4);
        Assert.Equal(0.3339, winRate.Interval!.Value.High, 4);
    }

    [Theory]
    [InlineData(5, 10, 0.2366, 0.7634)]
    [InlineData(81, 263, 0.2553, 0.3662)] // Newcombe (1998), single proportion, method 3
    [InlineData(0, 10, 0.0, 0.2775)]
    public void WilsonsIntervalMatchesPublishedValues(int k, int n, double low, double high)
    {
        var interval = Intervals.Wilson(k, n);

        Assert.Equal(low, interval.Low, 4);
        Assert.Equal(high, interval.High, 4);
    }

    [Fact]
    public void DealSizeAndDaysToCloseCompareWonOpportunitiesWithWelchsInterval()
    {
        // With: amounts 1..10 (mean 5.5, variance 9.1667); without: 3, 5, …, 21 (mean 12, variance 36.667).
        // se² = 0.91667 + 3.66667 = 4.58333; Welch df = 4.58333² / (0.91667²/9 + 3.66667²/9) = 13.235; t = 2.1567;
        // half width = 2.1567 × 2.14087 = 4.617: −6.5 ± 4.617.
        var mine = Enumerable.Range(1, 10).Select(i => Closed($"W{i}", true, new(2026, 2, 1), i, days: i)).Concat(
                   Enumerable.Range(1, 10).Select(i => Closed($"N{i}", true, new(2026, 2, 1), 2 * i + 1, days: 2 * i + 1)))
            .Append(Closed("LOST", false, new(2026, 2, 1), 1_000_000)).ToList();
        var overlapping = mine.Where(o => o.RecordId.StartsWith('W')).Select(o => o.RecordId).ToHashSet();

        var size = PipelineFigures.AverageDealSize(mine, overlapping, "USD", Q1);
        var days = PipelineFigures.DaysToClose(mine, overlapping, Q1);

        foreach (var c in new[] { size, days })
        {
            Assert.Equal((10, 10), (c.WithCount, c.WithoutCount));
            Assert.Equal(5.5, c.With!.Value, 9);
            Assert.Equal(12, c.Without!.Value, 9);
            Assert.Equal(-11.12, c.Interval!.Value.Low, 2);
            Assert.Equal(-1.88, c.Interval!.Value.High, 2);
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(13.235)]
    [InlineData(20)]
    [InlineData(60)]
    [InlineData(1000)]
    public void TheStudentTQuantileIsWithinATenthOfAPercentOfMathNets(double df)
    {
        var exact = StudentT.InvCDF(0, 1, df, 0.975);

        Assert.InRange(Intervals.StudentT975(df) / exact, 0.999, 1.001);
    }

    [Fact]
    public void TheDefaultCurrencyIsTheOneMostOpportunitiesWithAnAmountAreIn()
    {
        Assert.Equal("EUR", PipelineFigures.DefaultCurrency([Open("A", 1, "USD"), Open("B", 1, "EUR"), Open("C", 1, "EUR"), Open("D")]));
        Assert.Equal("EUR", PipelineFigures.DefaultCurrency([Open("A", 1, "USD"), Open("B", 1, "EUR")]));
        Assert.Null(PipelineFigures.DefaultCurrency([Open("A")]));
    }

    [Theory]
    [InlineData("9999-Q4")]
    [InlineData("9999")]
    [InlineData("1899-Q1")]
    [InlineData("2026-Q5")]
    public void APeriodPastTheCalendarsEndOrOtherwiseOutOfRangeIsNoPeriod(string text) => Assert.Null(FigurePeriod.Parse(text));
}
