using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class CountReleaseTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void AtTheCountsLevelACountBelowTheMinimumIsWithheldIncludingZero(int count)
    {
        var released = CountRelease.Release(Rule(SharingLevel.Counts, 5), count, count);

        Assert.True(released.IsWithheld);
        Assert.Null(released.Value);
        Assert.Equal(5, released.WithheldBelow);
    }

    [Fact]
    public void AtTheCountsLevelACountAtTheMinimumIsReleasedExactly()
    {
        var released = CountRelease.Release(Rule(SharingLevel.Counts, 5), 5, 5);

        Assert.Equal(5, released.Value);
        Assert.Null(released.WithheldBelow);
    }

    [Fact]
    public void ManyOfMyRecordsHittingOneOfTheOwnersStayWithheld()
    {
        // One account uploaded five times under five record ids must not turn a minimum of 5 into a membership test.
        var released = CountRelease.Release(Rule(SharingLevel.Counts, 5), viewerCount: 5, ownerCount: 1);

        Assert.True(released.IsWithheld);
    }

    [Fact]
    public void TheOwnersMinimumAppliesNotTheDefault()
    {
        Assert.True(CountRelease.Release(Rule(SharingLevel.Counts, 20), 19, 19).IsWithheld);
        Assert.Equal(20, CountRelease.Release(Rule(SharingLevel.Counts, 20), 20, 20).Value);
        Assert.Equal(1, CountRelease.Release(Rule(SharingLevel.Counts, 1), 1, 1).Value);
    }

    [Fact]
    public void AtTheOverlapsLevelEveryCountIsReleasedBecauseTheListIsVisibleAnyway()
    {
        Assert.Equal(0, CountRelease.Release(Rule(SharingLevel.Overlaps, 5), 0, 0).Value);
        Assert.Equal(1, CountRelease.Release(Rule(SharingLevel.Overlaps, 5), 1, 1).Value);
    }

    [Fact]
    public void AHiddenCellHasNoCountToRelease()
    {
        Assert.Throws<ArgumentException>(() => CountRelease.Release(EffectiveSharing.Hidden, 10, 10));
    }
}
