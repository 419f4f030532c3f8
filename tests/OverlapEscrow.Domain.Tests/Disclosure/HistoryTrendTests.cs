using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class HistoryTrendTests
{
    private static readonly Epsilon Noise = new(20_000);

    private static RecordedPoint P(int minute, SharingLevel level, int count, int partnerCount = -1) =>
        new(T0.AddMinutes(minute), level, count, partnerCount < 0 ? count : partnerCount);

    /// <summary>A counts-level release at a minute, with its noised value.</summary>
    private static ReleasedPoint R(int minute, long value) => new(T0.AddMinutes(minute), new CountDraw(value, value, Noise));

    private static ReleasedPoint Exact(int minute, long value) => new(T0.AddMinutes(minute), new CountDraw(value, value, Epsilon.Zero));

    private static List<int?> Values(IReadOnlyList<TrendPoint> trend) => trend.Select(p => p.Count.Value).ToList();

    [Fact]
    public void AtTheOverlapsLevelEveryChangeShowsExactly()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Overlaps, 3), P(2, SharingLevel.Overlaps, 4), P(3, SharingLevel.Overlaps, 1)], [], Rule(SharingLevel.Overlaps));

        Assert.Equal([3, 4, 1], Values(trend));
    }

    [Fact]
    public void AtTheCountsLevelEveryPointIsARelease()
    {
        // Points recorded under counts hold exact counts; none of them is shown, only the released values.
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 500), P(2, SharingLevel.Counts, 501)], [R(1, 517), R(3, 488)], Rule(SharingLevel.Counts, 5));

        Assert.Equal([517, 488], Values(trend));
        Assert.All(trend, p => Assert.True(p.Count.Protection!.Noised));
        Assert.All(trend, p => Assert.Equal(115, p.Count.Protection!.MarginOfError));
    }

    [Fact]
    public void ARunOfWithheldReleasesReadsAsNoChangeAtAll()
    {
        var trend = HistoryTrend.Render([], [R(1, -40), R(2, 3), R(3, 4), R(4, 1)], Rule(SharingLevel.Counts, 5));

        Assert.Empty(trend);
    }

    [Fact]
    public void CrossingTheMinimumShowsAndFallingBelowItWithholdsAgain()
    {
        var trend = HistoryTrend.Render([], [R(1, 4), R(2, 60), R(3, 72), R(4, 2)], Rule(SharingLevel.Counts, 5));

        Assert.Equal([60, 72, null], Values(trend));
        Assert.Equal(5, trend[^1].Count.WithheldBelow);
    }

    [Fact]
    public void ReleasesUnderCountsStayTheReleasedValuesAfterTheOwnerRaisesTheLevel()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 1), P(2, SharingLevel.Counts, 2), P(3, SharingLevel.Overlaps, 3)],
            [R(1, 44), R(2, 44)], Rule(SharingLevel.Overlaps, 5));

        // The exact single-account moves under counts stay invisible; the release shows as released; the point under overlaps is exact.
        Assert.Equal([44, 3], Values(trend));
        Assert.True(trend[0].Count.Protection!.Noised);
        Assert.Null(trend[1].Count.Protection);
    }

    [Fact]
    public void ExactPointsRecordedUnderOverlapsAreNotShownOnceTheOwnerLowersTheLevelToCounts()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Overlaps, 2), P(2, SharingLevel.Overlaps, 9)], [R(3, 31)], Rule(SharingLevel.Counts, 5));

        Assert.Equal([31], Values(trend));
    }

    [Fact]
    public void ExactReleasesAreShownOnlyWhileTheOwnerStillChoosesExactCounts()
    {
        ReleasedPoint[] releases = [Exact(1, 12), R(2, 80)];

        Assert.Equal([12, 80], Values(HistoryTrend.Render([], releases, Rule(SharingLevel.Counts, 5), exactCountsNow: true)));
        Assert.Equal([80], Values(HistoryTrend.Render([], releases, Rule(SharingLevel.Counts, 5), exactCountsNow: false)));
    }

    [Fact]
    public void AHiddenCellHasNoTrend()
    {
        Assert.Empty(HistoryTrend.Render([P(1, SharingLevel.Overlaps, 10)], [R(1, 10)], EffectiveSharing.Hidden));
    }

    [Fact]
    public void NewSinceNeedsAnOverlapsLevelBaselineWithItsRecordsKept()
    {
        Assert.Equal(NewSinceBaseline.None, NewSince.Judge(null, recordIdsKept: false));
        Assert.Equal(NewSinceBaseline.Usable, NewSince.Judge(P(1, SharingLevel.Overlaps, 3), recordIdsKept: true));
        Assert.Equal(NewSinceBaseline.Expired, NewSince.Judge(P(1, SharingLevel.Overlaps, 3), recordIdsKept: false));
        // Even a point that somehow kept record ids: under counts, which records overlapped is not the viewer's to learn.
        Assert.Equal(NewSinceBaseline.NotSharedThen, NewSince.Judge(P(1, SharingLevel.Counts, 3), recordIdsKept: true));
    }

    [Fact]
    public void RecordIdsAreKeptOnlyWhileTheOwnerSharesTheList()
    {
        Assert.True(HistoryRetention.KeepsRecordIds(SharingLevel.Overlaps));
        Assert.False(HistoryRetention.KeepsRecordIds(SharingLevel.Counts));
        Assert.False(HistoryRetention.KeepsRecordIds(SharingLevel.Hidden));
    }

    [Fact]
    public void TheHistoryOfEveryCellThePartnerHidesNowIsForgottenAndNoOther()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), ForMine("t1", "m2", SharingLevel.Hidden), Default("t2", SharingLevel.Counts)]);

        var forget = HistoryRetention.ToForget(view, [("m1", "t1"), ("m2", "t1"), ("m1", "t2"), ("m1", "t-gone")]);

        Assert.Equal([("m2", "t1"), ("m1", "t-gone")], forget);
    }

    [Fact]
    public void AfterTheEndEveryCellIsForgotten()
    {
        var view = View(Partnerships.PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]);

        Assert.Equal(2, HistoryRetention.ToForget(view, [("m1", "t1"), ("m2", "t1")]).Count);
    }
}
