using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class CellAccessTests
{
    [Fact]
    public void RecordsAreOpenOnlyAtTheOverlapsLevelWithTheOwnersFields()
    {
        var access = CellAccess.Decide(View(theirRules: [Default("t1", SharingLevel.Overlaps, null, "accountName")]), "m1", "t1");

        var records = Assert.IsType<CellAccess.Records>(access);
        Assert.Equal(["accountName"], records.Sharing.Fields);
        Assert.Equal(("m1", "t1"), (records.Mine.Id, records.Theirs.Id));
    }

    [Fact]
    public void TheRecordsOfAnOpportunitiesPopulationComeWithoutItsOpportunityFieldsWhateverTheRuleNames()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps, null, "accountName", "amount", "stage", "won", "owner")]);
        view = view with { PartnerPopulations = [.. view.PartnerPopulations.Select(p => p.Id == "t1" ? p with { Type = "opportunities" } : p)] };

        var records = Assert.IsType<CellAccess.Records>(CellAccess.Decide(view, "m1", "t1"));

        Assert.Equal(["accountName"], records.Sharing.Fields);
    }

    [Fact]
    public void ACountsLevelCellGivesCountsOnly()
    {
        Assert.IsType<CellAccess.CountsOnly>(CellAccess.Decide(View(theirRules: [Default("t1", SharingLevel.Counts)]), "m1", "t1"));
    }

    [Fact]
    public void AHiddenPartnerPopulationAnswersExactlyLikeOneThatDoesNotExist()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Hidden)]);

        var hidden = CellAccess.Decide(view, "m1", "t1");
        var missing = CellAccess.Decide(view, "m1", "t-does-not-exist");

        Assert.Equal(new CellAccess.NotFound("partner population"), hidden);
        Assert.Equal(hidden, missing);
    }

    [Fact]
    public void APopulationOfThePartnerInMyPlaceIsNotFound()
    {
        // Swapping the two ids must not open the partner's side of the cell.
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps)]);

        Assert.Equal(new CellAccess.NotFound("population"), CellAccess.Decide(view, "t1", "m1"));
    }

    [Fact]
    public void AnOverrideForMyPopulationBeatsTheDefault()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), ForMine("t1", "m2", SharingLevel.Counts)]);

        Assert.IsType<CellAccess.Records>(CellAccess.Decide(view, "m1", "t1"));
        Assert.IsType<CellAccess.CountsOnly>(CellAccess.Decide(view, "m2", "t1"));
    }

    [Theory]
    [InlineData(PartnershipStatus.Invited)]
    [InlineData(PartnershipStatus.Terminated)]
    public void AnInactivePartnershipOpensNoCell(PartnershipStatus status)
    {
        Assert.IsType<CellAccess.PartnershipInactive>(CellAccess.Decide(View(status, theirRules: [Default("t1", SharingLevel.Overlaps)]), "m1", "t1"));
    }
}
