using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Tests.Shared;

namespace OverlapEscrow.Domain.Tests.Privacy;

/// <summary>
/// The samplers draw exactly the distributions the privacy proof assumes. Every test uses fixed seeds, so a failure
/// reproduces; bounds are wide enough (about five standard deviations, or a chi-square quantile at p = 0.0001) that a
/// correct sampler fails them with negligible probability, and narrow enough that an off-by-one in a distribution
/// (zero drawn twice as often, the scale off by a factor, a biased uniform) fails them.
/// </summary>
public class ExactSamplingTests
{
    [Fact]
    public void AUniformIntegerOverARangeThatIsNoPowerOfTwoIsUnbiased()
    {
        var bits = new SeededRandomBits(1);
        var counts = new long[6];
        const int n = 60_000;
        for (var i = 0; i < n; i++) counts[ExactSampling.Uniform(bits, 6)]++;

        var chiSquare = counts.Sum(c => Math.Pow(c - n / 6.0, 2) / (n / 6.0));
        Assert.True(chiSquare < 25.7, $"chi-square {chiSquare:F1} (df 5, p = 0.0001 quantile 25.7)");
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(1, 1)]
    [InlineData(5, 2)]
    [InlineData(0, 9)]
    public void ABernoulliOfExpMinusGammaIsTrueWithProbabilityExpMinusGamma(long numerator, long denominator)
    {
        var bits = new SeededRandomBits((ulong)(numerator * 31 + denominator));
        const int n = 100_000;
        var hits = 0;
        for (var i = 0; i < n; i++) if (ExactSampling.BernoulliExp(bits, numerator, denominator)) hits++;

        var p = Math.Exp(-(double)numerator / denominator);
        var sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.InRange(hits / (double)n, p - 5 * sigma - 1e-9, p + 5 * sigma + 1e-9);
    }

    [Theory]
    [InlineData(500_000)]   // ε = 1/2
    [InlineData(1_000_000)] // ε = 1
    [InlineData(200_000)]   // ε = 1/5
    public void TheDiscreteLaplaceSamplerFollowsItsDistributionValueByValue(long millionths)
    {
        var epsilon = new Epsilon(millionths);
        var bits = new SeededRandomBits((ulong)millionths);
        const int n = 200_000;
        var draws = new Dictionary<long, int>();
        for (var i = 0; i < n; i++)
        {
            var y = ExactSampling.DiscreteLaplace(bits, epsilon);
            draws[y] = draws.GetValueOrDefault(y) + 1;
        }

        // Chi-square over the values with an expected count of at least 20, the two tails pooled.
        var limit = 0L;
        while (n * DiscreteLaplaceFacts.Probability(limit + 1, epsilon) >= 20) limit++;
        var chiSquare = 0.0;
        var degrees = -1;
        for (var y = -limit; y <= limit; y++)
        {
            var expected = n * DiscreteLaplaceFacts.Probability(y, epsilon);
            chiSquare += Math.Pow(draws.GetValueOrDefault(y) - expected, 2) / expected;
            degrees++;
        }
        var tailExpected = n * (1 - DiscreteLaplaceFacts.WithinProbability(limit, epsilon));
        var tailObserved = draws.Where(d => Math.Abs(d.Key) > limit).Sum(d => d.Value);
        chiSquare += Math.Pow(tailObserved - tailExpected, 2) / tailExpected;
        degrees++;
        // The p = 0.0001 quantile of chi-square with k degrees of freedom, by the Wilson–Hilferty approximation.
        var z = 3.719;
        var quantile = degrees * Math.Pow(1 - 2.0 / (9 * degrees) + z * Math.Sqrt(2.0 / (9 * degrees)), 3);
        Assert.True(chiSquare < quantile, $"chi-square {chiSquare:F1} with {degrees} degrees of freedom (bound {quantile:F1})");

        // The variance of the discrete Laplace distribution is 2α/(1 − α)², α = e^−ε; the mean is 0.
        var alpha = Math.Exp(-epsilon.ToDouble());
        var variance = 2 * alpha / Math.Pow(1 - alpha, 2);
        var mean = draws.Sum(d => (double)d.Key * d.Value) / n;
        Assert.InRange(mean, -5 * Math.Sqrt(variance / n), 5 * Math.Sqrt(variance / n));
    }

    [Fact]
    public void AtTheDefaultEpsilonHalfOfAllDrawsAreWithin35AndNineInTenWithin115()
    {
        var epsilon = new Epsilon(20_000);
        var bits = new SeededRandomBits(20);
        const int n = 40_000;
        var magnitudes = Enumerable.Range(0, n).Select(_ => Math.Abs(ExactSampling.DiscreteLaplace(bits, epsilon))).Order().ToList();

        Assert.Equal(35, DiscreteLaplaceFacts.MedianError(epsilon));
        Assert.Equal(115, DiscreteLaplaceFacts.MarginOfError(epsilon, 0.9));
        // The empirical median and 90th percentile of |noise| agree with the analytic figures within sampling error.
        Assert.InRange(magnitudes[n / 2], 33, 37);
        var within = magnitudes.Count(m => m <= 115) / (double)n;
        Assert.InRange(within, 0.9 - 5 * Math.Sqrt(0.09 / n), 0.9 + 5 * Math.Sqrt(0.09 / n));
    }

    [Fact]
    public void ZeroIsNotDrawnTwiceAsOftenAsItShould()
    {
        // The sign/magnitude construction rejects "negative zero"; without that P(0) would be (1 − α)/(1 + α) · 2 … wrongly weighted.
        var epsilon = new Epsilon(1_000_000);
        var bits = new SeededRandomBits(7);
        const int n = 100_000;
        var zeros = Enumerable.Range(0, n).Count(_ => ExactSampling.DiscreteLaplace(bits, epsilon) == 0);
        var p = DiscreteLaplaceFacts.Probability(0, epsilon);
        Assert.InRange(zeros / (double)n, p - 5 * Math.Sqrt(p * (1 - p) / n), p + 5 * Math.Sqrt(p * (1 - p) / n));
    }

    [Fact]
    public void TheSameSeedDrawsTheSameNoiseAndAnotherSeedDoesNot()
    {
        var epsilon = new Epsilon(20_000);
        long[] Draw(ulong seed)
        {
            var bits = new SeededRandomBits(seed);
            return Enumerable.Range(0, 50).Select(_ => ExactSampling.DiscreteLaplace(bits, epsilon)).ToArray();
        }

        Assert.Equal(Draw(42), Draw(42));
        Assert.NotEqual(Draw(42), Draw(43));
    }

    [Fact]
    public void ASampleNeedsOnlyAFewHundredRandomBitsOnAverage()
    {
        var bits = new SeededRandomBits(3);
        for (var i = 0; i < 1000; i++) ExactSampling.DiscreteLaplace(bits, new Epsilon(20_000));
        Assert.True(bits.BitsUsed / 1000 < 400, $"{bits.BitsUsed / 1000} bits per sample");
    }

    [Fact]
    public void NoiseNeedsAPositiveEpsilon()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactSampling.DiscreteLaplace(new SeededRandomBits(1), Epsilon.Zero));
    }

    [Fact]
    public void TheSecureSourceGivesBitsOfTheWidthAskedFor()
    {
        var values = Enumerable.Range(0, 200).Select(_ => SecureRandomBits.Instance.NextBits(3)).ToList();
        Assert.All(values, v => Assert.InRange(v, 0UL, 7UL));
        Assert.Equal(8, values.Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => SecureRandomBits.Instance.NextBits(0));
    }
}
