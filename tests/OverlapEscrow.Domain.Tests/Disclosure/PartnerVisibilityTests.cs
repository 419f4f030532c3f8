using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class PartnerVisibilityTests
{
    [Fact]
    public void APartnerPopulationWithoutRulesDoesNotExistForMe()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts)]);

        Assert.Equal(["t1"], PartnerVisibility.VisiblePopulations(view).Select(p => p.Id));
    }

    [Fact]
    public void APopulationSharedWithOneOfMyPopulationsOnlyIsVisibleButOnlyThatCellExists()
    {
        var view = View(theirRules: [ForMine("t2", "m2", SharingLevel.Overlaps)]);

        Assert.Equal(["t2"], PartnerVisibility.VisiblePopulations(view).Select(p => p.Id));
        var cells = PartnerVisibility.Cells(view).Select(c => (c.Mine.Id, c.Theirs.Id)).ToList();
        Assert.Equal([("m2", "t2")], cells);
    }

    [Fact]
    public void AnOverrideThatHidesAPopulationFromEveryOneOfMineHidesItEntirely()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), ForMine("t1", "m1", SharingLevel.Hidden), ForMine("t1", "m2", SharingLevel.Hidden)]);

        Assert.Empty(PartnerVisibility.VisiblePopulations(view));
        Assert.Empty(PartnerVisibility.Cells(view));
    }

    [Theory]
    [InlineData(PartnershipStatus.Invited)]
    [InlineData(PartnershipStatus.Declined)]
    [InlineData(PartnershipStatus.Terminated)]
    public void NoPartnerPopulationExistsUnlessThePartnershipIsActive(PartnershipStatus status)
    {
        var view = View(status, theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Counts)]);

        Assert.Empty(PartnerVisibility.VisiblePopulations(view));
        Assert.Empty(PartnerVisibility.Cells(view));
    }

    [Fact]
    public void WhileIHaveNoPopulationThePartnersGeneralRuleDecides()
    {
        var view = View(myPopulations: [], theirRules: [Default("t1", SharingLevel.Counts), ForMine("t2", "m9", SharingLevel.Overlaps)]);

        Assert.Equal(["t1"], PartnerVisibility.VisiblePopulations(view).Select(p => p.Id));
    }

    [Fact]
    public void MyOwnRulesNeverMakeAPartnerPopulationVisible()
    {
        var view = View(myRules: [Default("m1", SharingLevel.Overlaps), Default("t1", SharingLevel.Overlaps)]);

        Assert.Empty(PartnerVisibility.VisiblePopulations(view));
    }

    [Fact]
    public void ARuleOfAnotherPartnershipDoesNotApply()
    {
        var view = View(theirRules: [new SharingRule("t1", "ptn-other", null, SharingLevel.Overlaps, [], null)]);

        Assert.Empty(PartnerVisibility.VisiblePopulations(view));
    }
}
