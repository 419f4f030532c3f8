using System.Numerics;

namespace OverlapEscrow.Domain.Privacy;

/// <summary>
/// Exact samplers over the integers, driven only by uniform random bits and integer arithmetic: a uniform integer,
/// a Bernoulli of a rational probability, a Bernoulli of exp(−γ) for rational γ, and the discrete Laplace
/// distribution. They follow Algorithms 1 and 2 of Canonne, Kamath and Steinke, "The Discrete Gaussian for
/// Differential Privacy" (NeurIPS 2020, arXiv:2004.00010), and their reference implementation.
/// </summary>
/// <remarks>
/// Why not floating point: Mironov, "On Significance of the Least Significant Bits for Differential Privacy" (CCS
/// 2012), showed that Laplace noise computed in double precision (−b·ln(U) for a uniform double U) has gaps and
/// uneven steps in the set of values it can produce, and that which values are possible depends on the true answer:
/// from one noised output an attacker can often tell the input, whatever ε. Rounding such noise to an integer does not
/// remove the problem. Drawing an integer directly, with every probability an exact rational number compared with a
/// uniform integer, gives exactly the distribution the privacy proof assumes. No floating-point number is computed on
/// the way to a sample here.
/// </remarks>
public static class ExactSampling
{
    /// <summary>A uniform integer in [0, <paramref name="n"/>): the fewest bits that can hold n − 1, redrawn while ≥ n (so each draw succeeds with probability &gt; 1/2).</summary>
    public static long Uniform(IRandomBits bits, long n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1L);
        if (n == 1) return 0;
        var width = 64 - BitOperations.LeadingZeroCount((ulong)(n - 1));
        while (true)
        {
            var value = bits.NextBits(width);
            if (value < (ulong)n) return (long)value;
        }
    }

    /// <summary>True with probability exactly <paramref name="numerator"/> / <paramref name="denominator"/> (0 ≤ p ≤ 1).</summary>
    public static bool Bernoulli(IRandomBits bits, long numerator, long denominator)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numerator);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numerator, denominator);
        return Uniform(bits, denominator) < numerator;
    }

    /// <summary>
    /// True with probability exactly exp(−γ), γ = <paramref name="numerator"/> / <paramref name="denominator"/> ≥ 0
    /// (CKS 2020, Algorithm 1). For γ ≤ 1: draw Bernoulli(γ/k) for k = 1, 2, … until one fails; the index of the
    /// failure is odd with probability Σ (−γ)^j / j! = exp(−γ). For γ &gt; 1: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)).
    /// </summary>
    public static bool BernoulliExp(IRandomBits bits, long numerator, long denominator)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numerator);
        ArgumentOutOfRangeException.ThrowIfLessThan(denominator, 1L);
        while (numerator > denominator)
        {
            if (!BernoulliExpAtMostOne(bits, 1, 1)) return false;
            numerator -= denominator;
        }
        return BernoulliExpAtMostOne(bits, numerator, denominator);
    }

    private static bool BernoulliExpAtMostOne(IRandomBits bits, long numerator, long denominator)
    {
        long k = 1;
        while (Bernoulli(bits, numerator, checked(denominator * k))) k++;
        return k % 2 == 1;
    }

    /// <summary>A geometric variable: P(k) = (1 − e^−γ) e^(−γk) for k ≥ 0, by counting successes of Bernoulli(exp(−γ)).</summary>
    private static long GeometricSlow(IRandomBits bits, long numerator, long denominator)
    {
        long k = 0;
        while (BernoulliExp(bits, numerator, denominator)) k++;
        return k;
    }

    /// <summary>
    /// The same geometric variable for γ = s/t in expected O(1) Bernoulli draws whatever t (CKS 2020, Algorithm 2,
    /// first part): the remainder U of a geometric with parameter 1/t modulo t is drawn uniformly and accepted with
    /// probability exp(−U/t), the quotient V is geometric with parameter 1, and ⌊(V·t + U)/s⌋ is the result.
    /// </summary>
    private static long GeometricFast(IRandomBits bits, long s, long t)
    {
        while (true)
        {
            var u = Uniform(bits, t);
            if (!BernoulliExp(bits, u, t)) continue;
            var v = GeometricSlow(bits, 1, 1);
            return checked(v * t + u) / s;
        }
    }

    /// <summary>
    /// A draw of the discrete Laplace distribution (the two-sided geometric distribution) with parameter ε:
    /// P(Y = y) = (1 − e^−ε)/(1 + e^−ε) · e^(−ε|y|) for every integer y (CKS 2020, Algorithm 2). Added to a count whose
    /// sensitivity is 1, it gives ε-differential privacy (Ghosh, Roughgarden and Sundararajan, "Universally
    /// Utility-Maximizing Privacy Mechanisms", STOC 2009).
    /// </summary>
    public static long DiscreteLaplace(IRandomBits bits, Epsilon epsilon) => DiscreteLaplace(bits, epsilon, 1);

    /// <summary>
    /// A draw of the discrete Laplace distribution with parameter ε/<paramref name="sensitivity"/>:
    /// P(Y = y) ∝ e^(−ε|y|/Δ), the scale Δ/ε kept as the exact fraction t·Δ/s. Added to an integer-valued function whose
    /// sensitivity is Δ (a sum of amounts clipped to a bound, say), it gives ε-differential privacy, as the Laplace
    /// mechanism with scale Δ/ε does for real values (Dwork and Roth 2014, Theorem 3.6; CKS 2020, Section 2.2).
    /// Dividing ε among several releases this way (ε/k each) is the same draw with Δ·k.
    /// </summary>
    public static long DiscreteLaplace(IRandomBits bits, Epsilon epsilon, long sensitivity)
    {
        if (epsilon <= Epsilon.Zero) throw new ArgumentOutOfRangeException(nameof(epsilon), "ε must be positive.");
        ArgumentOutOfRangeException.ThrowIfLessThan(sensitivity, 1L);
        var (s, t) = epsilon.AsFraction(); // the scale is Δ/ε = t·Δ/s
        t = checked(t * sensitivity);
        while (true)
        {
            var negative = Bernoulli(bits, 1, 2);
            var magnitude = GeometricFast(bits, s, t);
            if (negative && magnitude == 0) continue; // zero would otherwise be drawn twice as often
            return negative ? -magnitude : magnitude;
        }
    }
}

/// <summary>
/// What the discrete Laplace distribution implies, for display and documentation: its probabilities, its median error
/// and its margin of error. Computed in floating point, which is harmless here: none of these is ever used to draw
/// noise, and each is a function of ε alone, never of the data.
/// </summary>
public static class DiscreteLaplaceFacts
{
    /// <summary>P(Y = y) for the discrete Laplace distribution with parameter ε.</summary>
    public static double Probability(long y, Epsilon epsilon)
    {
        var alpha = Math.Exp(-epsilon.ToDouble());
        return (1 - alpha) / (1 + alpha) * Math.Pow(alpha, Math.Abs(y));
    }

    /// <summary>P(|Y| ≤ m) = 1 − 2α^(m+1)/(1 + α), α = e^−ε.</summary>
    public static double WithinProbability(long m, Epsilon epsilon)
    {
        var alpha = Math.Exp(-epsilon.ToDouble());
        return 1 - 2 * Math.Pow(alpha, m + 1) / (1 + alpha);
    }

    /// <summary>The smallest m with P(|noise| ≤ m) ≥ <paramref name="confidence"/>: a released count is within ±m of the true one with that probability.</summary>
    public static int MarginOfError(Epsilon epsilon, double confidence)
    {
        if (epsilon <= Epsilon.Zero) return 0;
        var alpha = Math.Exp(-epsilon.ToDouble());
        // α^(m+1) ≤ (1 − c)(1 + α)/2  ⇔  m + 1 ≥ ln((1 − c)(1 + α)/2) / ln α
        var m = (long)Math.Max(0, Math.Floor(Math.Log((1 - confidence) * (1 + alpha) / 2) / Math.Log(alpha) - 1));
        while (m > 0 && WithinProbability(m - 1, epsilon) >= confidence) m--;
        while (WithinProbability(m, epsilon) < confidence) m++;
        return (int)Math.Min(m, int.MaxValue);
    }

    /// <summary>
    /// The smallest m with P(|noise| ≤ m) ≥ <paramref name="confidence"/> for the discrete Laplace distribution with
    /// parameter ε/<paramref name="sensitivity"/> (the noise of <see cref="ExactSampling.DiscreteLaplace(IRandomBits, Epsilon, long)"/>).
    /// </summary>
    public static long MarginOfError(Epsilon epsilon, long sensitivity, double confidence)
    {
        if (epsilon <= Epsilon.Zero) return 0;
        if (sensitivity <= 1) return MarginOfError(epsilon, confidence);
        // P(|Y| ≤ m) = 1 − 2α^(m+1)/(1 + α), α = e^(−ε/Δ): m + 1 ≥ ln((1 − c)(1 + α)/2) / ln α, the ceiling of it.
        var rate = epsilon.ToDouble() / sensitivity;
        var alpha = Math.Exp(-rate);
        var m = Math.Ceiling(Math.Log((1 - confidence) * (1 + alpha) / 2) / -rate - 1);
        return (long)Math.Max(0, m);
    }

    /// <summary>The median of |noise|: half of all released counts are at least this close to the true one.</summary>
    public static int MedianError(Epsilon epsilon) => MarginOfError(epsilon, 0.5);
}
