using System.ComponentModel.DataAnnotations;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Application.Privacy;

/// <summary>
/// Settings under Escrow:Privacy (environment: Escrow__Privacy__Name): the escrow's defaults for privacy-protected
/// counts, which each owner may change per partner, and the length of a budget period. docs/privacy.md justifies the
/// defaults: a whole period's budget spent on one account bounds an attacker's membership advantage by
/// tanh(0.6 / 2) ≈ 0.29, and a cell of 500 overlapping accounts reads within ±35 (7 %) of its true count in the median.
/// </summary>
public sealed class PrivacyOptions : IValidatableObject
{
    /// <summary>ε of one budget period, per owner and partner organization: what all counts-level releases to that partner in a period may spend together.</summary>
    [Range(typeof(decimal), "0.01", "10")]
    public decimal EpsilonPerPeriod { get; set; } = 0.6m;

    /// <summary>ε one release of one cell spends: the noise's parameter.</summary>
    [Range(typeof(decimal), "0.001", "10")]
    public decimal EpsilonPerRelease { get; set; } = 0.02m;

    /// <summary>The length of a budget period; periods follow one another from the Unix epoch.</summary>
    [Range(1, 3650)]
    public int PeriodDays { get; set; } = 30;

    /// <summary>The shortest time between two releases of one cell (a new value needs changed data as well).</summary>
    [Range(0, PrivacyChoices.MaxRefreshIntervalMinutes)]
    public int RefreshIntervalMinutes { get; set; } = 7 * 24 * 60;

    public TimeSpan PeriodLength => TimeSpan.FromDays(PeriodDays);

    public PrivacySettings Defaults => new(Epsilon.FromDecimal(EpsilonPerPeriod) ?? Epsilon.Zero, Epsilon.FromDecimal(EpsilonPerRelease) ?? Epsilon.Zero,
        TimeSpan.FromMinutes(RefreshIntervalMinutes), ExactCounts: false);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Epsilon.FromDecimal(EpsilonPerPeriod) is null)
            yield return new ValidationResult("EpsilonPerPeriod has at most six decimals.", [nameof(EpsilonPerPeriod)]);
        if (Epsilon.FromDecimal(EpsilonPerRelease) is null)
            yield return new ValidationResult("EpsilonPerRelease has at most six decimals.", [nameof(EpsilonPerRelease)]);
        if (EpsilonPerRelease > EpsilonPerPeriod)
            yield return new ValidationResult("EpsilonPerRelease is at most EpsilonPerPeriod.", [nameof(EpsilonPerRelease)]);
    }
}
