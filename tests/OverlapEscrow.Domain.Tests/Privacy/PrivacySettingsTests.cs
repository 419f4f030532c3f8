using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Domain.Tests.Privacy;

public class PrivacySettingsTests
{
    private static readonly PrivacySettings Defaults = new(new Epsilon(600_000), new Epsilon(20_000), TimeSpan.FromDays(7), false);

    [Fact]
    public void TheDefaultsBoundTheAdvantageOfAWholePeriodOnOneAccountBy03AndKeepA500CellWithin10PercentInTheMedian()
    {
        Assert.True(Defaults.AdvantageBound <= 0.3, Defaults.AdvantageBound.ToString());
        Assert.Equal(Math.Tanh(0.3), Defaults.AdvantageBound, 12);
        Assert.True(DiscreteLaplaceFacts.MedianError(Defaults.PerRelease) <= 50);
        Assert.Equal(115, Defaults.MarginOfError);
        Assert.Equal(30, Defaults.ReleasesPerPeriod);
    }

    [Fact]
    public void TheAdvantageBoundIsTanhOfHalfEpsilon()
    {
        Assert.Equal(0, MembershipAdvantage.Bound(Epsilon.Zero));
        Assert.Equal((Math.E - 1) / (Math.E + 1), MembershipAdvantage.Bound(new Epsilon(1_000_000)), 12);
        Assert.Equal(1.0, new PrivacySettings(Defaults.PerPeriod, Defaults.PerRelease, TimeSpan.Zero, ExactCounts: true).AdvantageBound);
    }

    [Fact]
    public void EpsilonIsExactInMillionths()
    {
        Assert.Equal(new Epsilon(20_000), Epsilon.FromDecimal(0.02m));
        Assert.Null(Epsilon.FromDecimal(0.0000001m));
        Assert.Null(Epsilon.FromDecimal(-1m));
        // Too large to hold, up to decimal's own maximum (scaling it used to overflow: a 500 on PUT …/privacy).
        Assert.Null(Epsilon.FromDecimal(99999999999999999999999m));
        Assert.Null(Epsilon.FromDecimal(decimal.MaxValue));
        Assert.Equal(new Epsilon(1_000_000_000), Epsilon.FromDecimal(1000m));
        Assert.Equal((1L, 50L), new Epsilon(20_000).AsFraction());
        Assert.Equal((3L, 5L), new Epsilon(600_000).AsFraction());
        var sum = Epsilon.Zero;
        for (var i = 0; i < 30; i++) sum += new Epsilon(20_000);
        Assert.Equal(new Epsilon(600_000), sum); // thirty releases spend the period exactly, with no rounding drift
    }

    [Fact]
    public void AnOwnersSettingsOverrideTheDefaultsOneByOne()
    {
        var mine = new PrivacyOverrides(new Epsilon(300_000), null, TimeSpan.FromDays(1), false).Resolve(Defaults);
        Assert.Equal(new PrivacySettings(new Epsilon(300_000), new Epsilon(20_000), TimeSpan.FromDays(1), false), mine);
        Assert.Equal(Defaults, PrivacyOverrides.None.Resolve(Defaults));
        // A release never costs more than a period holds.
        Assert.Equal(new Epsilon(10_000), new PrivacyOverrides(new Epsilon(10_000), null, null, false).Resolve(Defaults).PerRelease);
    }

    [Fact]
    public void AnOwnerMayChooseOnlySettingsWithinTheirBounds()
    {
        var errors = new FieldErrors();
        Assert.Null(PrivacyChoices.Parse(new PrivacySettingsInput(0m, 0.0001m, -1, null, null), Defaults, errors));
        Assert.Equal(["epsilonPerPeriod", "epsilonPerRelease", "refreshIntervalMinutes"], errors.All.Select(e => e.Path));

        errors = new FieldErrors();
        Assert.Null(PrivacyChoices.Parse(new PrivacySettingsInput(0.5m, 0.6m, null, null, null), Defaults, errors));
        Assert.Equal(["epsilonPerRelease"], errors.All.Select(e => e.Path));

        errors = new FieldErrors();
        Assert.Null(PrivacyChoices.Parse(new PrivacySettingsInput(0.01m, null, null, null, null), Defaults, errors));
        Assert.Equal(["epsilonPerRelease"], errors.All.Select(e => e.Path)); // the default 0.02 would exceed it

        errors = new FieldErrors();
        Assert.Null(PrivacyChoices.Parse(new PrivacySettingsInput(0.1234567m, null, null, null, null), Defaults, errors));
        Assert.Equal(["epsilonPerPeriod"], errors.All.Select(e => e.Path));

        var ok = PrivacyChoices.Parse(new PrivacySettingsInput(1m, 0.05m, 60, null, null), Defaults, new FieldErrors());
        Assert.Equal(new PrivacyOverrides(new Epsilon(1_000_000), new Epsilon(50_000), TimeSpan.FromHours(1), false), ok);
    }

    [Fact]
    public void ExactCountsNeedAnExplicitConfirmationAndComeWithAWarning()
    {
        var errors = new FieldErrors();
        Assert.Null(PrivacyChoices.Parse(new PrivacySettingsInput(null, null, null, true, null), Defaults, errors));
        Assert.Equal("confirmExactCounts", Assert.Single(errors.All).Path);
        Assert.Contains("single account", errors.All[0].Message);

        var exact = PrivacyChoices.Parse(new PrivacySettingsInput(null, null, null, true, true), Defaults, new FieldErrors())!;
        Assert.True(exact.ExactCounts);
        Assert.Equal([PrivacyChoices.ExactCountsWarning], PrivacyChoices.Warnings(exact.Resolve(Defaults)));
    }

    [Fact]
    public void ABudgetWhoseAdvantageBoundPassesTheSafeLimitIsWarnedAbout()
    {
        Assert.Empty(PrivacyChoices.Warnings(Defaults));
        var generous = Defaults with { PerPeriod = new Epsilon(2_000_000) };
        Assert.Contains("0.76", Assert.Single(PrivacyChoices.Warnings(generous)));
    }
}
