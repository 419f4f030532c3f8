namespace OverlapEscrow.Domain.Health;

/// <summary>A two-sided 95 % confidence interval.</summary>
public readonly record struct Interval(double Low, double High);

/// <summary>
/// The interval estimates the health figures use, at the 95 % level. No package: the domain has none. The formulas
/// are closed forms; the one quantile they need (Student's t) is an expansion whose accuracy a test checks against
/// Math.NET Numerics' <c>StudentT.InvCDF</c>.
/// </summary>
public static class Intervals
{
    /// <summary>The 97.5 % point of the standard normal distribution.</summary>
    public const double Z = 1.959963984540054;

    /// <summary>The smallest group a comparison is made with (docs/health.md, "Too small to say").</summary>
    public const int MinimumGroup = 10;

    /// <summary>
    /// Wilson's score interval for a proportion k/n (Wilson 1927; Newcombe 1998, method 3):
    /// (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
    /// </summary>
    public static Interval Wilson(int k, int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        var p = (double)k / n;
        var z2 = Z * Z;
        var denominator = 1 + z2 / n;
        var center = (p + z2 / (2 * n)) / denominator;
        var half = Z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return new Interval(Math.Max(0, center - half), Math.Min(1, center + half));
    }

    /// <summary>
    /// Newcombe's hybrid score interval for the difference of two independent proportions p1 − p2 (Newcombe, "Interval
    /// estimation for the difference between independent proportions", Statistics in Medicine 17, 1998, method 10),
    /// from the Wilson intervals (l1, u1) and (l2, u2): [d − √((p1−l1)² + (u2−p2)²), d + √((u1−p1)² + (p2−l2)²)].
    /// </summary>
    public static Interval NewcombeDifference(int k1, int n1, int k2, int n2)
    {
        var p1 = (double)k1 / n1;
        var p2 = (double)k2 / n2;
        var (l1, u1) = Wilson(k1, n1);
        var (l2, u2) = Wilson(k2, n2);
        var d = p1 - p2;
        return new Interval(d - Math.Sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)), d + Math.Sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)));
    }

    /// <summary>
    /// Welch's interval for the difference of two means with unequal variances (Welch, Biometrika 34, 1947): d ± t·se with
    /// se = √(s1²/n1 + s2²/n2) and the Welch–Satterthwaite degrees of freedom se⁴ / ((s1²/n1)²/(n1−1) + (s2²/n2)²/(n2−1)).
    /// </summary>
    public static Interval WelchDifference(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2) throw new ArgumentException("Each sample needs at least two values.");
        var (m1, v1) = MeanAndVariance(a);
        var (m2, v2) = MeanAndVariance(b);
        var d = m1 - m2;
        var q1 = v1 / a.Count;
        var q2 = v2 / b.Count;
        var se2 = q1 + q2;
        if (se2 == 0) return new Interval(d, d);
        var df = se2 * se2 / (q1 * q1 / (a.Count - 1) + q2 * q2 / (b.Count - 1));
        var half = StudentT975(df) * Math.Sqrt(se2);
        return new Interval(d - half, d + half);
    }

    /// <summary>The mean and the unbiased sample variance (n − 1), in two passes.</summary>
    public static (double Mean, double Variance) MeanAndVariance(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        var sum = 0.0;
        foreach (var v in values) sum += (v - mean) * (v - mean);
        return (mean, values.Count > 1 ? sum / (values.Count - 1) : 0);
    }

    /// <summary>
    /// The 97.5 % point of Student's t with <paramref name="df"/> degrees of freedom (real, ≥ 1), by the Cornish–Fisher
    /// type expansion of Abramowitz &amp; Stegun, Handbook of Mathematical Functions, 26.7.5, in powers of 1/df around
    /// the normal quantile. Within 0.2 % of the exact value from df = 3, and closer as df grows (the test measures it).
    /// </summary>
    public static double StudentT975(double df)
    {
        if (df < 1) throw new ArgumentOutOfRangeException(nameof(df));
        var x = Z;
        var x2 = x * x;
        var g1 = (x2 + 1) * x / 4;
        var g2 = ((5 * x2 + 16) * x2 + 3) * x / 96;
        var g3 = (((3 * x2 + 19) * x2 + 17) * x2 - 15) * x / 384;
        var g4 = ((((79 * x2 + 776) * x2 + 1482) * x2 - 1920) * x2 - 945) * x / 92160;
        return x + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
    }
}
