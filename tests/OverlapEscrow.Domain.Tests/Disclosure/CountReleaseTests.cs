using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Tests.Privacy;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;
using OverlapEscrow.Tests.Shared;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class CountReleaseTests
{
    private static readonly Epsilon Default = new(20_000);

    private static ReleasedCount Shown(int minimum, CountDraw draw) =>
        CountRelease.Show(Rule(SharingLevel.Counts, minimum), draw, T0, T0.AddDays(7), ReleaseState.Current);

    [Fact]
    public void AtTheOverlapsLevelEveryCountIsReleasedExactlyBecauseTheListIsVisibleAnyway()
    {
        Assert.Equal(0, CountRelease.Release(Rule(SharingLevel.Overlaps, 5), 0, 0).Value);
        Assert.Equal(1, CountRelease.Release(Rule(SharingLevel.Overlaps, 5), 1, 1).Value);
        Assert.Null(CountRelease.Release(Rule(SharingLevel.Overlaps, 5), 1, 1).Protection);
    }

    [Fact]
    public void ACountsLevelValueIsNeverReleasedFromExactCountsDirectly()
    {
        // It was, before privacy-protected counts: "Release(counts, 5, 5)" read 5 and "Release(counts, 4, 4)" withheld,
        // which with a padded probe is a membership test. Now it must come from a stored draw.
        Assert.Throws<ArgumentException>(() => CountRelease.Release(Rule(SharingLevel.Counts, 5), 5, 5));
    }

    [Fact]
    public void AHiddenCellHasNoCountToRelease()
    {
        Assert.Throws<ArgumentException>(() => CountRelease.Release(EffectiveSharing.Hidden, 10, 10));
        Assert.Throws<ArgumentException>(() => CountRelease.Show(EffectiveSharing.Hidden, new CountDraw(10, 10, Default), T0, null, ReleaseState.Current));
    }

    [Fact]
    public void ANoisedDrawIsTheBoundedCountPlusNoiseCenteredOnIt()
    {
        var bits = new SeededRandomBits(11);
        var draws = Enumerable.Range(0, 20_000).Select(_ => CountRelease.Draw(new CellCounts(900, 800, 500), Default, bits)).ToList();

        Assert.All(draws, d => Assert.Equal(d.Value, d.Gate));
        Assert.All(draws, d => Assert.Equal(Default, d.Noise));
        // Centered on the bounded count (500), not on the viewer's count (900): the bound is what the noise protects.
        var mean = draws.Average(d => (double)d.Value);
        Assert.InRange(mean, 500 - 2.5, 500 + 2.5); // 5 standard errors (σ ≈ 70.7, n = 20,000)
        Assert.True(draws.Select(d => d.Value).Distinct().Count() > 100);
    }

    [Fact]
    public void TheMinimumIsAppliedToTheNoisedValueSoCrossingItIsNoExactOracle()
    {
        var bits = new SeededRandomBits(12);
        // A true count of 0 is sometimes shown, and a true count of 10 is sometimes withheld, under a minimum of 5.
        var fromZero = Enumerable.Range(0, 2000).Select(_ => Shown(5, CountRelease.Draw(new CellCounts(0, 0, 0), Default, bits))).ToList();
        var fromTen = Enumerable.Range(0, 2000).Select(_ => Shown(5, CountRelease.Draw(new CellCounts(10, 10, 10), Default, bits))).ToList();
        var shownFromZero = fromZero.Count(c => !c.IsWithheld) / 2000.0;
        var shownFromTen = fromTen.Count(c => !c.IsWithheld) / 2000.0;

        Assert.InRange(shownFromZero, 0.40, 0.50); // P(Y ≥ 5) ≈ 0.447 at ε = 0.02
        Assert.InRange(shownFromTen, 0.50, 0.60);  // P(Y ≥ −5) ≈ 0.553
        Assert.All(fromZero.Where(c => c.IsWithheld), c => Assert.Equal(5, c.WithheldBelow));
        Assert.All(fromZero.Where(c => !c.IsWithheld), c => Assert.True(c.Value >= 5));
    }

    [Fact]
    public void ANoisedValueCarriesItsProtectionAndMarginOfError()
    {
        var shown = Shown(5, new CountDraw(512, 512, Default));

        Assert.Equal(512, shown.Value);
        Assert.Equal(new CountProtection(true, 115, T0, T0.AddDays(7), ReleaseState.Current), shown.Protection);
        Assert.Equal(0.9, shown.Protection!.Confidence);
    }

    [Fact]
    public void AnExactDrawIsTheViewersCountGatedByBothSidesAsBeforeNoise()
    {
        var exact = CountRelease.Draw(new CellCounts(5, 1, 1), null, new SeededRandomBits(1));
        Assert.True(exact.IsExact);
        // Five of my records hitting one of the owner's stay below a minimum of 5, even when exact.
        Assert.True(Shown(5, exact).IsWithheld);
        var shown = Shown(5, CountRelease.Draw(new CellCounts(7, 6, 6), null, new SeededRandomBits(1)));
        Assert.Equal(7, shown.Value);
        Assert.False(shown.Protection!.Noised);
        Assert.Equal(0, shown.Protection.MarginOfError);
    }

    [Fact]
    public void TheOwnersMinimumAppliesAtEveryReadNotTheOneAtTheRelease()
    {
        var draw = new CountDraw(19, 19, Default);
        Assert.True(Shown(20, draw).IsWithheld);
        Assert.Equal(19, Shown(5, draw).Value);
        Assert.True(Shown(1, new CountDraw(-3, -3, Default)).IsWithheld); // a negative draw is never shown
    }

    [Fact]
    public void ACellWithNothingReleasedYetShowsNoValueAndWhenItRefreshes()
    {
        var none = CountRelease.NotYetReleased(Default, T0.AddDays(3));
        Assert.Null(none.Value);
        Assert.Null(none.WithheldBelow);
        Assert.Equal(ReleaseState.BudgetExhausted, none.Protection!.State);
        Assert.Equal(T0.AddDays(3), none.Protection.RefreshesAt);
    }
}
