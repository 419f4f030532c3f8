using OverlapEscrow.Api.Dashboard.Syncs;

namespace OverlapEscrow.Api.Tests;

/// <summary>The Syncs page's next runs, computed by the runner's own rule.</summary>
public sealed class CronTextTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnExpressionWithFewerRunsLeftThanAskedShowsTheRunsThereAreInsteadOfFailingThePage()
    {
        // 29 February on a Monday: 2044 and 2072, then not before 2112, past the runner's 30-year horizon.
        var runs = CronText.NextRuns("0 0 29 2 1", "UTC", Now, 3);

        Assert.Equal([new DateTimeOffset(2044, 2, 29, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2072, 2, 29, 0, 0, 0, TimeSpan.Zero)], runs);
    }

    [Fact]
    public void AnOrdinaryExpressionShowsAsManyRunsAsAsked() =>
        Assert.Equal([new DateTimeOffset(2026, 12, 4, 2, 30, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 5, 2, 30, 0, TimeSpan.Zero)],
            CronText.NextRuns("30 2 * * *", "UTC", Now, 2));

    [Fact]
    public void AnExpressionRestrictingBothDayFieldsIsDescribedAsTheRunnerReadsIt()
    {
        // The runner takes a day matching both (the 1st, when a Monday): its next runs say so, and so must the words.
        Assert.Equal([new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero)],
            CronText.NextRuns("0 0 1 * 1", "UTC", Now, 2));
        Assert.EndsWith("on day 1 of the month when that day is a Monday", CronText.Describe("0 0 1 * 1"));
    }
}
