using OverlapEscrow.Application.Schedules;

namespace OverlapEscrow.Api.Tests;

/// <summary>The next-occurrence rule across daylight-saving changes, without the host (docs/syncs.md).</summary>
public sealed class CronScheduleTests
{
    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso + "Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every run of the schedule from <paramref name="from"/> to <paramref name="to"/>, chained as the runner chains them.</summary>
    private static List<DateTimeOffset> Runs(CronSchedule cron, DateTimeOffset from, DateTimeOffset to)
    {
        var runs = new List<DateTimeOffset>();
        var next = cron.FirstAfter(from);
        while (next.At <= to)
        {
            runs.Add(next.At);
            // The runner claims an occurrence at (or a little after) its instant, then asks for the next one.
            next = cron.NextAfter(next.Wall, next.At);
        }
        return runs;
    }

    [Fact]
    public void ASpringForwardOccurrenceInTheGapRunsOnceAtTheEndOfTheGap()
    {
        // New York, 14 March 2027: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that night.
        var cron = CronSchedule.Create("30 2 * * *", "America/New_York");
        var runs = Runs(cron, Utc("2027-03-13T17:00:00"), Utc("2027-03-15T17:00:00"));
        Assert.Equal([Utc("2027-03-14T07:00:00"), Utc("2027-03-15T06:30:00")], runs); // 03:00 EDT, then 02:30 EDT
    }

    [Fact]
    public void ARepeatedAutumnHourRunsOnceAtItsEarlierInstant()
    {
        // New York, 7 November 2027: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        var cron = CronSchedule.Create("30 1 * * *", "America/New_York");
        var runs = Runs(cron, Utc("2027-11-06T17:00:00"), Utc("2027-11-08T17:00:00"));
        Assert.Equal([Utc("2027-11-07T05:30:00"), Utc("2027-11-08T06:30:00")], runs); // 01:30 EDT only, then 01:30 EST the next day
    }

    [Fact]
    public void TheRepeatedHourDoesNotRunAgainWhenTheRunEndsInItsSecondPass()
    {
        var cron = CronSchedule.Create("30 1 * * *", "America/New_York");
        var first = cron.FirstAfter(Utc("2027-11-06T17:00:00"));
        Assert.Equal(Utc("2027-11-07T05:30:00"), first.At);
        // The run ends at 01:05 EST, in the second pass of the hour: by the clock, 01:30 is still ahead.
        var next = cron.NextAfter(first.Wall, Utc("2027-11-07T06:05:00"));
        Assert.Equal(Utc("2027-11-08T06:30:00"), next.At);
    }

    [Fact]
    public void BerlinSpringForwardAndAutumnFallBackEachRunOnce()
    {
        var cron = CronSchedule.Create("30 2 * * *", "Europe/Berlin");
        // 28 March 2027: 02:00 CET jumps to 03:00 CEST.
        Assert.Equal([Utc("2027-03-27T01:30:00"), Utc("2027-03-28T01:00:00"), Utc("2027-03-29T00:30:00")],
            Runs(cron, Utc("2027-03-26T12:00:00"), Utc("2027-03-29T12:00:00")));
        // 31 October 2027: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        Assert.Equal([Utc("2027-10-30T00:30:00"), Utc("2027-10-31T00:30:00"), Utc("2027-11-01T01:30:00")],
            Runs(cron, Utc("2027-10-29T12:00:00"), Utc("2027-11-01T12:00:00")));
    }

    [Fact]
    public void SeveralOccurrencesInTheGapCollapseIntoOneRun()
    {
        var cron = CronSchedule.Create("*/15 * * * *", "America/New_York");
        var runs = Runs(cron, Utc("2027-03-14T06:40:00"), Utc("2027-03-14T07:20:00"));
        // 01:45 EST; 02:00-02:45 and 03:00 are all the instant 03:00 EDT, which runs once; then 03:15 EDT.
        Assert.Equal([Utc("2027-03-14T06:45:00"), Utc("2027-03-14T07:00:00"), Utc("2027-03-14T07:15:00")], runs);
    }

    [Fact]
    public void AnHourlyScheduleRunsTheRepeatedHourOnce()
    {
        var cron = CronSchedule.Create("0 * * * *", "America/New_York");
        var runs = Runs(cron, Utc("2027-11-07T04:30:00"), Utc("2027-11-07T07:30:00"));
        // 00:00 EDT (04:00Z) is before the start; 01:00 EDT, then 02:00 EST: 01:00 EST is the same wall time, skipped.
        Assert.Equal([Utc("2027-11-07T05:00:00"), Utc("2027-11-07T07:00:00")], runs);
    }

    [Fact]
    public void ANormalDayRunsAtTheLocalWallClockTime()
    {
        var cron = CronSchedule.Create("30 2 * * *", "America/New_York");
        Assert.Equal(Utc("2027-06-01T06:30:00"), cron.FirstAfter(Utc("2027-05-31T12:00:00")).At);
        Assert.Equal(Utc("2027-01-15T07:30:00"), cron.FirstAfter(Utc("2027-01-14T12:00:00")).At);
    }

    [Fact]
    public void MissedOccurrencesAreSkippedToTheFirstOneAfterNow()
    {
        var cron = CronSchedule.Create("0 3 * * *", "Europe/Berlin");
        var previous = new DateTime(2027, 6, 1, 3, 0, 0);
        var next = cron.NextAfter(previous, Utc("2027-06-05T12:00:00"));
        Assert.Equal(Utc("2027-06-06T01:00:00"), next.At);
        Assert.Equal("2027-06-06T03:00", next.WallText);
    }

    [Fact]
    public void AMinutelyScheduleAfterAYearDownFindsItsNextOccurrenceQuickly()
    {
        var cron = CronSchedule.Create("* * * * *", "UTC");
        var next = cron.NextAfter(new DateTime(2026, 1, 1, 0, 0, 0), Utc("2027-01-01T00:00:30"));
        Assert.Equal(Utc("2027-01-01T00:01:00"), next.At);
    }

    [Fact]
    public void DayOfMonthAndDayOfWeekMustBothMatch()
    {
        // Friday the 13th: 1 January 2027 is a Friday, the first Friday the 13th is in August (classic cron would run on 1 January).
        var cron = CronSchedule.Create("0 0 13 * fri", "UTC");
        Assert.Equal(Utc("2027-08-13T00:00:00"), cron.FirstAfter(Utc("2026-12-31T12:00:00")).At);
    }

    [Theory]
    [InlineData("")]
    [InlineData("* * * *")]
    [InlineData("* * * * * *")]
    [InlineData("61 * * * *")]
    [InlineData("0 25 * * *")]
    [InlineData("every day")]
    [InlineData("0 3 * * MON-SUN")]
    [InlineData("0 3 1 DEC-JAN *")]
    [InlineData("0 3 * * fri-mon")]
    public void MalformedExpressionsAreRefused(string expression) => Assert.NotNull(CronSchedule.ExpressionError(expression));

    [Fact]
    public void AnExpressionThatNeverOccursIsRefused() => Assert.Contains("never", CronSchedule.ExpressionError("0 0 30 2 *"));

    [Theory]
    [InlineData("30 2 * * *")]
    [InlineData("*/15 8-18 * * 1-5")]
    [InlineData("0 0 29 2 *")]
    [InlineData("0 6 * jan-mar mon-fri")]
    [InlineData("0 6 * * 0")]
    [InlineData("0 6 * * SUN-SAT")]
    [InlineData("0 6 * JAN-DEC 1-5")]
    public void StandardExpressionsAreAccepted(string expression) => Assert.Null(CronSchedule.ExpressionError(expression));

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("")]
    [InlineData("Eastern Standard Time")]
    [InlineData("localtime")]
    [InlineData("posixrules")]
    [InlineData("right/UTC")]
    [InlineData("posix/Europe/Berlin")]
    public void UnknownAndNonIanaZonesAreRefused(string zone) => Assert.NotNull(CronSchedule.TimeZoneError(zone));

    [Theory]
    [InlineData("UTC")]
    [InlineData("Europe/Berlin")]
    [InlineData("Asia/Kolkata")]
    public void IanaZonesAreAccepted(string zone) => Assert.Null(CronSchedule.TimeZoneError(zone));
}
