using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class HistoryTrendTests
{
    private static RecordedPoint P(int minute, SharingLevel level, int count, int partnerCount = -1) =>
        new(T0.AddMinutes(minute), level, count, partnerCount < 0 ? count : partnerCount);

    private static List<int?> Values(IReadOnlyList<TrendPoint> trend) => trend.Select(p => p.Count.Value).ToList();

    [Fact]
    public void AtTheOverlapsLevelEveryChangeShowsExactly()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Overlaps, 3), P(2, SharingLevel.Overlaps, 4), P(3, SharingLevel.Overlaps, 1)], Rule(SharingLevel.Overlaps));

        Assert.Equal([3, 4, 1], Values(trend));
    }

    [Fact]
    public void ARunOfWithheldPointsReadsAsNoChangeAtAll()
    {
        // 1 → 2 → 3 → 4 accounts below a minimum of 5: a trend of four withheld points would still say the count moved.
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 1), P(2, SharingLevel.Counts, 2), P(3, SharingLevel.Counts, 3), P(4, SharingLevel.Counts, 4)],
            Rule(SharingLevel.Counts, 5));

        Assert.Empty(trend);
    }

    [Fact]
    public void AOneAccountProbeReadsTheSameWhetherOrNotTheAccountOverlaps()
    {
        // The cell's first point appears only when something overlaps; the trend starts from what an empty cell reads.
        var member = HistoryTrend.Render([P(1, SharingLevel.Counts, 1)], Rule(SharingLevel.Counts, 5));
        var notMember = HistoryTrend.Render([], Rule(SharingLevel.Counts, 5));

        Assert.Equal(notMember.Count, member.Count);
    }

    [Fact]
    public void CrossingTheMinimumShowsAndFallingBelowItWithholdsAgain()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 4), P(2, SharingLevel.Counts, 6), P(3, SharingLevel.Counts, 7), P(4, SharingLevel.Counts, 2)],
            Rule(SharingLevel.Counts, 5));

        Assert.Equal([6, 7, null], Values(trend));
        Assert.Equal(5, trend[^1].Count.WithheldBelow);
    }

    [Fact]
    public void PointsRecordedUnderCountsStayUnderCountsAfterTheOwnerRaisesTheLevel()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 1), P(2, SharingLevel.Counts, 2), P(3, SharingLevel.Overlaps, 3)], Rule(SharingLevel.Overlaps, 5));

        // The two single-account moves under counts stay invisible; the point under overlaps is exact.
        Assert.Equal([3], Values(trend));
    }

    [Fact]
    public void PointsRecordedUnderOverlapsAreShownUnderCountsAfterTheOwnerLowersTheLevel()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Overlaps, 2), P(2, SharingLevel.Overlaps, 9)], Rule(SharingLevel.Counts, 5));

        Assert.Equal([9], Values(trend));
    }

    [Fact]
    public void TheOwnersSideOfTheCountDecidesAsInTheMatrix()
    {
        var trend = HistoryTrend.Render([P(1, SharingLevel.Counts, 8, partnerCount: 1)], Rule(SharingLevel.Counts, 5));

        Assert.Empty(trend);
    }

    [Fact]
    public void AHiddenCellHasNoTrend()
    {
        Assert.Empty(HistoryTrend.Render([P(1, SharingLevel.Overlaps, 10)], EffectiveSharing.Hidden));
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
