using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Domain.Tests.Privacy;

public class ReleasePlanTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly PrivacySettings Settings = new(new Epsilon(600_000), new Epsilon(20_000), TimeSpan.FromDays(7), ExactCounts: false);
    private static readonly BudgetPeriod Period = BudgetPeriod.Of(T0, TimeSpan.FromDays(30));

    private static ReleaseStamp Stamp(string viewer, string owner, DateTimeOffset at, bool exact = false) => new(viewer, owner, at, exact);

    [Fact]
    public void TheSameDataReusesTheStoredValueAndSpendsNothing()
    {
        var decision = ReleasePlan.Decide(Stamp("v1", "o1", T0), "v1", "o1", Settings, Epsilon.Zero, Period, T0.AddDays(20));
        Assert.Equal(new ReleaseDecision.Reuse(T0.AddDays(7)), decision);
    }

    [Fact]
    public void ChangedDataWaitsForTheRefreshInterval()
    {
        Assert.Equal(new ReleaseDecision.Wait(T0.AddDays(7)),
            ReleasePlan.Decide(Stamp("v1", "o1", T0), "v2", "o1", Settings, Epsilon.Zero, Period, T0.AddDays(7).AddTicks(-1)));
        Assert.Equal(new ReleaseDecision.Wait(T0.AddDays(7)),
            ReleasePlan.Decide(Stamp("v1", "o1", T0), "v1", "o2", Settings, Epsilon.Zero, Period, T0.AddMinutes(1)));
        Assert.Equal(new ReleaseDecision.Draw(new Epsilon(20_000)),
            ReleasePlan.Decide(Stamp("v1", "o1", T0), "v2", "o1", Settings, Epsilon.Zero, Period, T0.AddDays(7)));
    }

    [Fact]
    public void AFirstValueIsReleasedAtOnce()
    {
        Assert.Equal(new ReleaseDecision.Draw(new Epsilon(20_000)), ReleasePlan.Decide(null, "v1", "o1", Settings, Epsilon.Zero, Period, T0));
    }

    [Fact]
    public void ASpentBudgetKeepsTheLastValueUntilThePeriodEnds()
    {
        var spent = new Epsilon(590_000); // 0.59 + 0.02 > 0.6
        Assert.Equal(new ReleaseDecision.Exhausted(Period.End),
            ReleasePlan.Decide(Stamp("v1", "o1", T0.AddDays(-10)), "v2", "o1", Settings, spent, Period, T0));
        Assert.Equal(new ReleaseDecision.Exhausted(Period.End), ReleasePlan.Decide(null, "v1", "o1", Settings, spent, Period, T0));
        // The last release that fits is allowed: spending exactly the budget.
        Assert.IsType<ReleaseDecision.Draw>(ReleasePlan.Decide(null, "v1", "o1", Settings, new Epsilon(580_000), Period, T0));
    }

    [Fact]
    public void ExactCountsAreDrawnOnEveryChangeWithoutBudgetOrInterval()
    {
        var exact = Settings with { ExactCounts = true };
        Assert.Equal(new ReleaseDecision.Draw(null),
            ReleasePlan.Decide(Stamp("v1", "o1", T0, exact: true), "v2", "o1", exact, new Epsilon(600_000), Period, T0.AddSeconds(1)));
        Assert.IsType<ReleaseDecision.Reuse>(ReleasePlan.Decide(Stamp("v1", "o1", T0, exact: true), "v1", "o1", exact, Epsilon.Zero, Period, T0));
    }

    [Fact]
    public void AValueOfTheOtherKindIsNeverReused()
    {
        // Turning exact counts off withdraws the exact value at once, even for the same data and within the interval.
        Assert.Equal(new ReleaseDecision.Draw(new Epsilon(20_000)),
            ReleasePlan.Decide(Stamp("v1", "o1", T0, exact: true), "v1", "o1", Settings, Epsilon.Zero, Period, T0.AddSeconds(1)));
        Assert.Equal(new ReleaseDecision.Draw(null),
            ReleasePlan.Decide(Stamp("v1", "o1", T0), "v1", "o1", Settings with { ExactCounts = true }, Epsilon.Zero, Period, T0.AddSeconds(1)));
    }

    [Fact]
    public void BudgetPeriodsFollowOneAnotherFromTheEpoch()
    {
        var length = TimeSpan.FromDays(30);
        var period = BudgetPeriod.Of(T0, length);
        Assert.True(period.Start <= T0 && T0 < period.End);
        Assert.Equal(length, period.End - period.Start);
        Assert.Equal(0, (period.Start - DateTimeOffset.UnixEpoch).Ticks % length.Ticks);
        Assert.Equal(period.End, BudgetPeriod.Of(period.End, length).Start);
        Assert.Equal(period, BudgetPeriod.Of(period.End.AddTicks(-1), length));
        var before = BudgetPeriod.Of(DateTimeOffset.UnixEpoch.AddTicks(-1), length);
        Assert.Equal(DateTimeOffset.UnixEpoch, before.End);
    }
}
