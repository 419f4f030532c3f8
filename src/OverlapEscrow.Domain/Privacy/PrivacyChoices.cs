namespace OverlapEscrow.Domain.Privacy;

/// <summary>What an owner asks for, for its counts-level sharing with one partner; a null leaves the escrow's default in force.</summary>
public sealed record PrivacySettingsInput(decimal? EpsilonPerPeriod, decimal? EpsilonPerRelease, int? RefreshIntervalMinutes, bool? ExactCounts,
    bool? ConfirmExactCounts);

/// <summary>Which privacy settings an owner may choose.</summary>
public static class PrivacyChoices
{
    public static readonly Epsilon MinPerPeriod = new(10_000);      // 0.01
    public static readonly Epsilon MaxPerPeriod = new(100_000_000); // 100
    public static readonly Epsilon MinPerRelease = new(1_000);      // 0.001
    public const int MaxRefreshIntervalMinutes = 90 * 24 * 60;

    /// <summary>The advantage bound above which a choice comes with a warning (the escrow's defaults stay below it).</summary>
    public const double SafeAdvantage = 0.3;

    public const string ExactCountsWarning =
        "Exact counts are not privacy-protected: the partner can learn whether any single account is in your population " +
        "(upload a list that differs by one account and compare, or pad a probe up to the minimum). Use them only with a partner you would show the list to.";

    /// <summary>
    /// The overrides an owner asks for, or null with errors: ε of a period between 0.01 and 100, ε per release between
    /// 0.001 and the period's ε in force, both with at most six decimals; a refresh interval of 0 to 90 days in
    /// minutes; exact counts only with <c>confirmExactCounts</c> true, because they give up the guarantee.
    /// </summary>
    public static PrivacyOverrides? Parse(PrivacySettingsInput input, PrivacySettings defaults, FieldErrors errors)
    {
        var before = errors.All.Count;
        Epsilon? perPeriod = null, perRelease = null;
        if (input.EpsilonPerPeriod is { } p)
        {
            perPeriod = Epsilon.FromDecimal(p);
            if (perPeriod is not { } e || e < MinPerPeriod || e > MaxPerPeriod)
                errors.Add("epsilonPerPeriod", $"epsilonPerPeriod is between {MinPerPeriod} and {MaxPerPeriod}, with at most six decimals.");
        }
        if (input.EpsilonPerRelease is { } r)
        {
            perRelease = Epsilon.FromDecimal(r);
            var ceiling = perPeriod ?? defaults.PerPeriod;
            if (perRelease is not { } e || e < MinPerRelease || e > ceiling)
                errors.Add("epsilonPerRelease", $"epsilonPerRelease is between {MinPerRelease} and the period's ε ({ceiling}), with at most six decimals.");
        }
        else if (perPeriod is { } period && defaults.PerRelease > period)
            errors.Add("epsilonPerRelease", $"The default epsilonPerRelease ({defaults.PerRelease}) is above this epsilonPerPeriod; set one at most {period}.");
        if (input.RefreshIntervalMinutes is < 0 or > MaxRefreshIntervalMinutes)
            errors.Add("refreshIntervalMinutes", $"refreshIntervalMinutes is between 0 and {MaxRefreshIntervalMinutes} (90 days).");
        var exact = input.ExactCounts ?? false;
        if (exact && input.ConfirmExactCounts != true)
            errors.Add("confirmExactCounts", "Set confirmExactCounts to true to choose exact counts. " + ExactCountsWarning);
        if (errors.All.Count > before) return null;
        return new PrivacyOverrides(perPeriod, perRelease,
            input.RefreshIntervalMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null, exact);
    }

    /// <summary>What the owner should be warned about in the settings in force.</summary>
    public static IReadOnlyList<string> Warnings(PrivacySettings settings)
    {
        if (settings.ExactCounts) return [ExactCountsWarning];
        if (settings.AdvantageBound > SafeAdvantage)
            return [$"With epsilonPerPeriod {settings.PerPeriod} an attacker who spends a period's budget on one account can guess its membership " +
                    $"with an advantage up to {settings.AdvantageBound:0.00} (the escrow's default keeps it at most {SafeAdvantage:0.0})."];
        return [];
    }
}
