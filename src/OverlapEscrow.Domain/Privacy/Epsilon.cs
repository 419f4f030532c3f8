using System.Globalization;

namespace OverlapEscrow.Domain.Privacy;

/// <summary>
/// A privacy-loss parameter ε of differential privacy, held exactly as an integer number of millionths. Budgets are
/// added up and compared in integers, so spending never drifts, and the noise is drawn with ε as an exact fraction
/// (never a floating-point number: see <see cref="ExactSampling"/>).
/// </summary>
public readonly record struct Epsilon(long Millionths) : IComparable<Epsilon>
{
    public const long Scale = 1_000_000;

    public static readonly Epsilon Zero = new(0);

    /// <summary>ε from a decimal; null when it has more than six decimals, is negative or too large to hold.</summary>
    public static Epsilon? FromDecimal(decimal value)
    {
        // Compared before scaling: a value near decimal's maximum would overflow the multiplication.
        if (value < 0 || value > long.MaxValue / 4 / Scale) return null;
        var scaled = value * Scale;
        if (scaled != decimal.Truncate(scaled) || scaled > long.MaxValue / 4) return null;
        return new Epsilon((long)scaled);
    }

    public decimal ToDecimal() => (decimal)Millionths / Scale;

    /// <summary>For display and for figures only (the advantage bound, a margin of error); never for drawing noise.</summary>
    public double ToDouble() => (double)Millionths / Scale;

    /// <summary>ε as a fraction in lowest terms, numerator / denominator.</summary>
    public (long Numerator, long Denominator) AsFraction()
    {
        var gcd = (long)System.Numerics.BigInteger.GreatestCommonDivisor(Millionths, Scale);
        return gcd == 0 ? (0, 1) : (Millionths / gcd, Scale / gcd);
    }

    public static Epsilon operator +(Epsilon a, Epsilon b) => new(checked(a.Millionths + b.Millionths));
    public static Epsilon operator -(Epsilon a, Epsilon b) => new(checked(a.Millionths - b.Millionths));
    public static bool operator <(Epsilon a, Epsilon b) => a.Millionths < b.Millionths;
    public static bool operator >(Epsilon a, Epsilon b) => a.Millionths > b.Millionths;
    public static bool operator <=(Epsilon a, Epsilon b) => a.Millionths <= b.Millionths;
    public static bool operator >=(Epsilon a, Epsilon b) => a.Millionths >= b.Millionths;

    public static Epsilon Max(Epsilon a, Epsilon b) => a >= b ? a : b;

    public int CompareTo(Epsilon other) => Millionths.CompareTo(other.Millionths);

    public override string ToString() => ToDecimal().ToString("0.######", CultureInfo.InvariantCulture);
}
