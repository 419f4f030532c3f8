using OverlapEscrow.Domain.Health;

namespace OverlapEscrow.Domain.Tests.Health;

public class PartnerScoresTests
{
    private static PipelineFigureSet Figures(decimal potential, int open, int covered, Interval? lift = null)
    {
        var none = new Comparison(0, 0, null, null, null, null);
        var winRate = lift is { } i ? new Comparison(20, 20, 0.6, 0.4, 0.2, i) : none;
        return new PipelineFigureSet(potential, new Coverage(open, covered, 0, potential), winRate, none, none);
    }

    [Fact]
    public void EachInputIsScaledToTheBestPartnerAndWeightedIntoPointsThatAddUpToTheScore()
    {
        // A: 1000 revenue (best), coverage 0.2, no lift. B: 500, coverage 0.4 (best), lift low end 0.1 (best). C: a lift that could be chance.
        var scores = PartnerScores.Rank([
            ("A", Figures(1000, 10, 2)),
            ("B", Figures(500, 10, 4, new Interval(0.1, 0.3))),
            ("C", Figures(0, 10, 0, new Interval(-0.05, 0.3))),
        ]);

        var b = scores.Single(s => s.PartnershipId == "B");
        Assert.Equal([25.0, 20.0, 30.0], b.Inputs.Select(i => Math.Round(i.Points, 6)));
        Assert.Equal(75.0, b.Score);
        Assert.Equal("strategic", b.Tier);
        var a = scores.Single(s => s.PartnershipId == "A");
        Assert.Equal(60.0, a.Score); // 50 + 10 + 0
        Assert.Equal(0.0, scores.Single(s => s.PartnershipId == "C").Score);
        Assert.Equal("dormant", scores.Single(s => s.PartnershipId == "C").Tier);
        Assert.Equal(["B", "A", "C"], scores.Select(s => s.PartnershipId));
        Assert.Equal(2.0 / 3, a.PipelineShare, 9);
    }

    [Theory]
    [InlineData(60, "strategic")]
    [InlineData(59.9, "growth")]
    [InlineData(30, "growth")]
    [InlineData(0.1, "emerging")]
    [InlineData(0, "dormant")]
    public void TiersFollowFromTheScore(double score, string tier) => Assert.Equal(tier, PartnerScores.TierOf(score));

    [Fact]
    public void ConcentrationCountsTheFewestPartnersMakingFourFifthsAndTheHerfindahlIndex()
    {
        // 600 + 200 = 800 of 1000: two partners; shares .6 .2 .1 .1 → .36 + .04 + .01 + .01 = .42.
        var c = PartnerScores.ConcentrationOf([100m, 600m, 100m, 200m]);

        Assert.Equal(1000m, c.Total);
        Assert.Equal(2, c.PartnersForFourFifths);
        Assert.Equal(0.42, c.Herfindahl, 9);
        Assert.Equal(new Concentration(0, 0, 0), PartnerScores.ConcentrationOf([0m, 0m]));
    }
}
