namespace OverlapEscrow.Domain.Privacy;

/// <summary>
/// The privacy settings in force for one owner's counts-level sharing with one partner organization: the budget ε of a
/// period (every counts-level release to that partner draws on it), the ε each release spends, the shortest time
/// between two releases of one cell, and whether the owner has chosen exact counts instead (no noise, no guarantee).
/// </summary>
public sealed record PrivacySettings(Epsilon PerPeriod, Epsilon PerRelease, TimeSpan RefreshInterval, bool ExactCounts)
{
    /// <summary>The confidence of every stated margin of error.</summary>
    public const double Confidence = 0.9;

    /// <summary>The bound on the membership advantage of an attacker who spends a whole period's budget on one account (<see cref="MembershipAdvantage"/>).</summary>
    public double AdvantageBound => ExactCounts ? 1 : MembershipAdvantage.Bound(PerPeriod);

    /// <summary>Releases one period's budget pays for.</summary>
    public long ReleasesPerPeriod => PerRelease.Millionths == 0 ? 0 : PerPeriod.Millionths / PerRelease.Millionths;

    /// <summary>± this much around the true count at <see cref="Confidence"/> for one release (0 for exact counts).</summary>
    public int MarginOfError => ExactCounts ? 0 : DiscreteLaplaceFacts.MarginOfError(PerRelease, Confidence);
}

/// <summary>What an owner has set for one partner; null means "the escrow's default".</summary>
public sealed record PrivacyOverrides(Epsilon? PerPeriod, Epsilon? PerRelease, TimeSpan? RefreshInterval, bool ExactCounts)
{
    public static readonly PrivacyOverrides None = new(null, null, null, false);

    /// <summary>
    /// The settings in force. A per-release ε above the period's budget (a default changed after the owner set the other)
    /// is capped at the budget, so one release can never spend more than a period holds.
    /// </summary>
    public PrivacySettings Resolve(PrivacySettings defaults)
    {
        var perPeriod = PerPeriod ?? defaults.PerPeriod;
        var perRelease = PerRelease ?? defaults.PerRelease;
        if (perRelease > perPeriod) perRelease = perPeriod;
        return new PrivacySettings(perPeriod, perRelease, RefreshInterval ?? defaults.RefreshInterval, ExactCounts);
    }
}

/// <summary>
/// A budget period: budgets are counted in consecutive periods of a fixed length from the Unix epoch (UTC), the same
/// for every owner, so a period's start names it.
/// </summary>
public readonly record struct BudgetPeriod(DateTimeOffset Start, DateTimeOffset End)
{
    public static BudgetPeriod Of(DateTimeOffset at, TimeSpan length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(length, TimeSpan.Zero);
        var ticks = (at.UtcDateTime - DateTime.UnixEpoch).Ticks;
        var index = ticks >= 0 ? ticks / length.Ticks : (ticks - length.Ticks + 1) / length.Ticks;
        var start = DateTimeOffset.UnixEpoch.AddTicks(index * length.Ticks);
        return new BudgetPeriod(start, start + length);
    }
}

/// <summary>
/// The bound on any attacker's membership advantage (true-positive rate minus false-positive rate when guessing
/// whether one account is in the owner's population) after seeing outputs of an ε-differentially private mechanism:
/// tanh(ε/2) = (e^ε − 1)/(e^ε + 1). From the hypothesis-testing view of differential privacy (Kairouz, Oh and
/// Viswanath, "The Composition Theorem for Differential Privacy", ICML 2015): any test's rates satisfy
/// TPR ≤ e^ε·FPR and 1 − FPR ≤ e^ε·(1 − TPR), and TPR − FPR is largest where both hold with equality.
/// </summary>
public static class MembershipAdvantage
{
    public static double Bound(Epsilon epsilon) => Math.Tanh(epsilon.ToDouble() / 2);
}
