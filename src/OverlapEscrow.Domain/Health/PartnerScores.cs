namespace OverlapEscrow.Domain.Health;

/// <summary>One input of a partner's score: its raw value, the value scaled to 0..1 against the best partner, its weight and what it adds (0..100).</summary>
public sealed record ScoreInput(string Name, double Value, double Scaled, double Weight)
{
    public double Points => 100 * Weight * Scaled;
}

/// <summary>A partner's place on the leaderboard: its score (0..100, the sum of its inputs' points) and the tier that follows.</summary>
public sealed record PartnerScore(string PartnershipId, double Score, string Tier, IReadOnlyList<ScoreInput> Inputs, double PipelineShare);

/// <summary>How few partners account for most of the overlap-driven pipeline.</summary>
public sealed record Concentration(decimal Total, int PartnersForFourFifths, double Herfindahl);

/// <summary>
/// The leaderboard of docs/health.md: an explainable score per partner from its pipeline figures, tiers from the score,
/// and the concentration of the overlap-driven pipeline. Only partners with exact figures are scored.
/// </summary>
public static class PartnerScores
{
    public const string PotentialRevenue = "potential_revenue";
    public const string Coverage = "coverage";
    public const string WinRateLift = "win_rate_lift";

    /// <summary>The weights, shown with every score: what a manager is paid to grow first.</summary>
    public static readonly IReadOnlyDictionary<string, double> Weights = new Dictionary<string, double>
    {
        [PotentialRevenue] = 0.5,
        [Coverage] = 0.2,
        [WinRateLift] = 0.3,
    };

    /// <summary>Tiers by score, highest first: Strategic from 60, Growth from 30, Emerging above 0, otherwise Dormant.</summary>
    public static string TierOf(double score) => score >= 60 ? "strategic" : score >= 30 ? "growth" : score > 0 ? "emerging" : "dormant";

    /// <summary>
    /// Each input is scaled by the largest value among the partners scored (the best partner scores 1 on it; all zero gives
    /// zero). The win-rate lift is the lower end of the 95 % interval of the difference (for a released figure, lowered
    /// further by its noise), counted only when above zero, so a lift that could be chance or noise adds nothing; too few
    /// closed opportunities add nothing either.
    /// </summary>
    public static IReadOnlyList<PartnerScore> Rank(IReadOnlyList<(string PartnershipId, PipelineFigureSet Figures)> partners)
    {
        var revenue = partners.Select(p => (double)p.Figures.PotentialRevenue).ToList();
        var coverage = partners.Select(p => p.Figures.Coverage.CountShare ?? 0).ToList();
        var lift = partners.Select(p => p.Figures.WinRate.LowerBound is double low && low > 0 ? low : 0).ToList();
        var total = partners.Sum(p => p.Figures.PotentialRevenue);
        var scores = new List<PartnerScore>();
        for (var i = 0; i < partners.Count; i++)
        {
            ScoreInput[] inputs =
            [
                Input(PotentialRevenue, revenue, i),
                Input(Coverage, coverage, i),
                Input(WinRateLift, lift, i),
            ];
            var score = Math.Round(inputs.Sum(x => x.Points), 1);
            scores.Add(new PartnerScore(partners[i].PartnershipId, score, TierOf(score), inputs,
                total == 0 ? 0 : (double)(partners[i].Figures.PotentialRevenue / total)));
        }
        return scores.OrderByDescending(s => s.Score).ThenBy(s => s.PartnershipId, StringComparer.Ordinal).ToList();

        static ScoreInput Input(string name, List<double> values, int i)
        {
            var max = values.Max();
            return new ScoreInput(name, values[i], max > 0 ? values[i] / max : 0, Weights[name]);
        }
    }

    /// <summary>
    /// Over the partners' potential revenues: their total, the fewest partners whose potential revenue makes at least four
    /// fifths of it (largest first; 0 when the total is 0), and the Herfindahl–Hirschman index Σ share² (1 = one partner
    /// holds it all, 1/n = spread evenly over n).
    /// </summary>
    public static Concentration ConcentrationOf(IReadOnlyList<decimal> potentialRevenues)
    {
        var total = potentialRevenues.Sum();
        if (total == 0) return new Concentration(0, 0, 0);
        var sorted = potentialRevenues.OrderByDescending(v => v).ToList();
        decimal running = 0;
        var k = 0;
        foreach (var v in sorted)
        {
            running += v;
            k++;
            if (running * 5 >= total * 4) break;
        }
        var hhi = sorted.Sum(v => Math.Pow((double)(v / total), 2));
        return new Concentration(total, k, hhi);
    }
}
