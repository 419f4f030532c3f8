using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class ChangeNoticeTests
{
    private static CellChange Change(string mine, string theirs, int before, int after) => new(mine, theirs, before, before, after, after, SharingLevel.Overlaps);

    private static ReleasedPoint R(int minute, long value) => new(T0.AddMinutes(minute), new CountDraw(value, value, new Epsilon(20_000)));

    private static ReleaseChange Released(string mine, string theirs, ReleasedPoint? before, ReleasedPoint after) => new(mine, theirs, before, after, after.At.AddDays(7));

    [Fact]
    public void ANoticeCarriesReleasedCountsOfVisibleCellsOnly()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Hidden)]);

        var cells = ChangeNotice.For(view, [Change("m1", "t1", 3, 4), Change("m1", "t2", 3, 40)], [Released("m1", "t2", null, R(1, 90))]);

        var cell = Assert.Single(cells);
        Assert.Equal(("m1", "t1", 4, 3), (cell.MyPopulationId, cell.PartnerPopulationId, cell.Count.Value, cell.Previous.Value));
    }

    [Fact]
    public void AfterARaiseToOverlapsThePreviousValueIsNotTheExactCountRecordedWhileCountsOnly()
    {
        // The point before was recorded under the counts rule: its exact 1 was never the viewer's to read (trial 7, F5).
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps)]);

        var cell = Assert.Single(ChangeNotice.For(view, [new CellChange("m1", "t1", 1, 1, 0, 0, SharingLevel.Counts)], []));

        Assert.Equal((0, (int?)null), (cell.Count.Value, cell.Previous.Value));
        // A point recorded at the overlaps level is the value before, as always.
        Assert.Equal(1, Assert.Single(ChangeNotice.For(view, [new CellChange("m1", "t1", 1, 1, 0, 0, SharingLevel.Overlaps)], [])).Previous.Value);
    }

    [Fact]
    public void ARecordedChangeOfACountsLevelCellMakesNoNoticeByItself()
    {
        // Whether an event comes must not say whether the exact count moved: only a new release can make one.
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        Assert.Empty(ChangeNotice.For(view, [Change("m1", "t1", 3, 400)], []));
    }

    [Fact]
    public void ANewReleaseIsNoticedWithThePreviousReleaseAndItsProtection()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        var cell = Assert.Single(ChangeNotice.For(view, [], [Released("m1", "t1", R(1, 480), R(2, 530))]));
        Assert.Equal((530, 480), (cell.Count.Value, cell.Previous.Value));
        Assert.Equal(SharingLevel.Counts, cell.Level);
        Assert.True(cell.Count.Protection!.Noised);
        Assert.Equal(T0.AddMinutes(2).AddDays(7), cell.Count.Protection.RefreshesAt);
    }

    [Fact]
    public void AReleaseThatReadsLikeTheOneBeforeSendsNoNotice()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        Assert.Empty(ChangeNotice.For(view, [], [Released("m1", "t1", R(1, 3), R(2, -20))])); // withheld, then withheld
        Assert.Empty(ChangeNotice.For(view, [], [Released("m1", "t1", null, R(2, 4))]));     // from an empty cell, still withheld
    }

    [Fact]
    public void AFirstReleaseAboveTheMinimumIsNoticedWithTheEarlierValueWithheld()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        var cell = Assert.Single(ChangeNotice.For(view, [], [Released("m1", "t1", null, R(1, 6))]));
        Assert.Equal(6, cell.Count.Value);
        Assert.True(cell.Previous.IsWithheld);
    }

    [Fact]
    public void NoNoticeForAnInactivePartnership()
    {
        Assert.Empty(ChangeNotice.For(View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]), [Change("m1", "t1", 0, 10)], []));
    }

    private static SentCell Sent(string mine, string theirs, SharingLevel level, int? count = null, int? previous = null, bool exact = false, int? minimum = null) =>
        new(mine, theirs, level, count, previous, exact, minimum);

    [Fact]
    public void ACountsNoticeCarriesTheMinimumItWasRenderedUnderAndAnOverlapsNoticeNone()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 7), Default("t2", SharingLevel.Overlaps)]);

        var cells = ChangeNotice.For(view, [Change("m1", "t2", 3, 4)], [Released("m1", "t1", R(1, 480), R(2, 530))]);

        Assert.Equal([("t1", (int?)7), ("t2", null)], cells.Select(c => (c.PartnerPopulationId, c.MinimumCount)).OrderBy(c => c.PartnerPopulationId));
    }

    [Fact]
    public void OnceTheMinimumIsRaisedAnExactOrWithheldValueIsWithdrawnAndANoisedOneAboveItStillGoes()
    {
        var raised = View(theirRules: [Default("t1", SharingLevel.Counts, 10)]);

        // Exact 12 rendered under a minimum of 5: its gate (the smaller of both sides' counts) may be below 10 now.
        Assert.NotNull(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 12, 11, exact: true, minimum: 5)], exactCountsNow: true));
        // Withheld "below 5": no longer the bound of now.
        Assert.NotNull(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, null, 12, minimum: 5)], exactCountsNow: false));
        // Noised 12 and 11: the minimum is compared with the value itself, and both reach 10.
        Assert.Null(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 12, 11, minimum: 5)], exactCountsNow: false));
        // Rendered under the minimum of now (or a higher one): as it was.
        Assert.Null(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 12, 11, exact: true, minimum: 10)], exactCountsNow: true));
        Assert.Null(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, null, null, minimum: 20)], exactCountsNow: false));
    }

    [Fact]
    public void ANoticeIsWithdrawnWhenThePartnershipEndsOrIsNotTheViewers()
    {
        Assert.NotNull(ChangeNotice.WithdrawalReason(null, [Sent("m1", "t1", SharingLevel.Overlaps)], exactCountsNow: false));
        Assert.NotNull(ChangeNotice.WithdrawalReason(View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]),
            [Sent("m1", "t1", SharingLevel.Overlaps)], exactCountsNow: false));
    }

    [Fact]
    public void ANoticeIsWithdrawnWhenACellItNamesIsHiddenOrSharedAtAnotherLevelNow()
    {
        var hiddenNow = View(theirRules: [Default("t1", SharingLevel.Hidden)]);
        var loweredNow = View(theirRules: [Default("t1", SharingLevel.Counts)]);
        var raisedNow = View(theirRules: [Default("t1", SharingLevel.Overlaps)]);

        Assert.NotNull(ChangeNotice.WithdrawalReason(hiddenNow, [Sent("m1", "t1", SharingLevel.Overlaps)], exactCountsNow: false));
        Assert.NotNull(ChangeNotice.WithdrawalReason(loweredNow, [Sent("m1", "t1", SharingLevel.Overlaps)], exactCountsNow: false));
        Assert.NotNull(ChangeNotice.WithdrawalReason(raisedNow, [Sent("m1", "t1", SharingLevel.Counts, 40, 30)], exactCountsNow: false));
    }

    [Fact]
    public void ANoticeWhoseCellsAreSharedAsBeforeIsStillDeliverable()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Counts, 5)]);

        Assert.Null(ChangeNotice.WithdrawalReason(view, [Sent("m1", "t1", SharingLevel.Overlaps, 3, 2), Sent("m2", "t2", SharingLevel.Counts, 5, null)], exactCountsNow: false));
        Assert.Null(ChangeNotice.WithdrawalReason(view, [Sent("m2", "t2", SharingLevel.Counts, 9, 7, exact: true)], exactCountsNow: true));
    }

    [Fact]
    public void AnExactCountsValueIsWithdrawnOnceThePartnerNoLongerGivesExactCounts()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts, 5)]);

        Assert.NotNull(ChangeNotice.WithdrawalReason(view, [Sent("m1", "t1", SharingLevel.Counts, 25, 20, exact: true)], exactCountsNow: false));
        // Withheld both times, but exact: still not what the rules of now would show.
        Assert.NotNull(ChangeNotice.WithdrawalReason(view, [Sent("m1", "t1", SharingLevel.Counts, null, null, exact: true)], exactCountsNow: false));
        // A noised value is unaffected by the switch; the overlaps level is exact by nature.
        Assert.Null(ChangeNotice.WithdrawalReason(view, [Sent("m1", "t1", SharingLevel.Counts, 25, 20)], exactCountsNow: false));
        Assert.Null(ChangeNotice.WithdrawalReason(View(theirRules: [Default("t1", SharingLevel.Overlaps)]), [Sent("m1", "t1", SharingLevel.Overlaps, 25, 20)], exactCountsNow: false));
    }

    [Fact]
    public void ACountsValueBelowAMinimumRaisedSinceIsWithdrawn()
    {
        var raised = View(theirRules: [Default("t1", SharingLevel.Counts, 10)]);

        Assert.NotNull(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 9, 12)], exactCountsNow: false));
        Assert.NotNull(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 12, 9)], exactCountsNow: false));
        Assert.NotNull(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 12, null), Sent("m1", "t1", SharingLevel.Counts, null, 3)], exactCountsNow: false));
        Assert.Null(ChangeNotice.WithdrawalReason(raised, [Sent("m1", "t1", SharingLevel.Counts, 10, null)], exactCountsNow: false));
    }

    [Fact]
    public void AJointOpportunityNoticeIsWithdrawnWhenThePartnershipEndsOrThePartnersPopulationIsNoLongerSharedAtTheOverlapsLevel()
    {
        foreach (var level in new[] { SharingLevel.Hidden, SharingLevel.Counts })
            Assert.NotNull(ChangeNotice.JointOpportunityWithdrawalReason(View(theirRules: [Default("t1", level)]), "m1", "t1"));
        Assert.NotNull(ChangeNotice.JointOpportunityWithdrawalReason(View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps)]), "m1", "t1"));
        Assert.NotNull(ChangeNotice.JointOpportunityWithdrawalReason(null, "m1", "t1"));
        Assert.NotNull(ChangeNotice.JointOpportunityWithdrawalReason(View(PartnershipStatus.Terminated), "m1", null));

        Assert.Null(ChangeNotice.JointOpportunityWithdrawalReason(View(theirRules: [Default("t1", SharingLevel.Overlaps)]), "m1", "t1"));
        // One queued before notices named the partner's population cannot be judged: withdrawn.
        Assert.NotNull(ChangeNotice.JointOpportunityWithdrawalReason(View(theirRules: [Default("t1", SharingLevel.Overlaps)]), "m1", null));
    }
}
