using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class FieldProjectionTests
{
    private static readonly EscrowRecord Partner = new("THEIR-SECRET-ID", [], [new("accountName", "Acme"), new("owner", "bo@them"), new("amount", "5000")]);

    [Fact]
    public void OnlyTheFieldsTheOwnerNamesAreProjected()
    {
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "accountName", "stage"), "customers");

        Assert.Equal(new Dictionary<string, string> { ["accountName"] = "Acme" }, shared);
    }

    [Fact]
    public void NothingIsProjectedBelowTheOverlapsLevelWhateverFieldsTheRuleCarries()
    {
        Assert.Empty(FieldProjection.Project(Partner, Rule(SharingLevel.Counts, 5, "accountName"), "customers"));
        Assert.Empty(FieldProjection.Project(Partner, new EffectiveSharing(SharingLevel.Hidden, ["accountName"], 5), "customers"));
    }

    [Fact]
    public void FieldNamesMatchExactlySoCaseVariantsLeakNothing()
    {
        Assert.Empty(FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "AccountName", "OWNER"), "customers"));
    }

    [Fact]
    public void ThePartnersRecordIdIsNeverPartOfTheProjection()
    {
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "recordId", "RecordId", "accountName", "owner", "amount"), "customers");

        Assert.DoesNotContain("THEIR-SECRET-ID", shared.Values);
    }

    [Fact]
    public void TheOpportunityFieldsOfAnOpportunitiesPopulationAreNeverProjectedEvenWhenTheRuleNamesThem()
    {
        var opportunity = new EscrowRecord("OPP-1", [], [new("accountName", "Acme"), new("amount", "5000"), new("currency", "USD"), new("stage", "Proposal"),
            new("created_date", "2026-01-05"), new("close_date", "2026-03-01"), new("closed", "true"), new("won", "true"), new("owner", "bo@them")]);

        var shared = FieldProjection.Project(opportunity, Rule(SharingLevel.Overlaps, 5, ["accountName", .. OpportunityFields.All]), "opportunities");

        Assert.Equal(new Dictionary<string, string> { ["accountName"] = "Acme" }, shared);
    }

    [Fact]
    public void TheSameNamesOnAnotherPopulationTypeAreOrdinaryAttributesTheOwnerMayShare()
    {
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "owner", "amount"), "customers");

        Assert.Equal(new Dictionary<string, string> { ["owner"] = "bo@them", ["amount"] = "5000" }, shared);
    }

    [Fact]
    public void TheProjectionIsInTheRulesOrderWithAFieldTheRuleNamesTwiceOnceAndReadsLikeADictionary()
    {
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "owner", "accountName", "owner", "missing"), "customers");

        Assert.Equal(["owner", "accountName"], shared.Keys);
        Assert.Equal(["bo@them", "Acme"], shared.Values);
        Assert.Equal(2, shared.Count);
        Assert.Equal("Acme", shared["accountName"]);
        Assert.True(shared.TryGetValue("owner", out var owner));
        Assert.Equal("bo@them", owner);
        Assert.False(shared.ContainsKey("amount"));
        Assert.False(shared.ContainsKey("missing"));
        Assert.Throws<KeyNotFoundException>(() => shared["amount"]);
    }

    [Fact]
    public void AMapOfARecordsAttributesReadsThemInTheirOrderWithoutChangingThem()
    {
        var map = new AttributeMap(Partner.Attributes);

        Assert.Equal(Partner.Attributes.Select(a => new KeyValuePair<string, string>(a.Name, a.Value)), map);
        Assert.Equal("5000", map.GetValueOrDefault("amount"));
        Assert.Null(map.GetValueOrDefault("Amount"));
        Assert.Empty(AttributeMap.Empty);
    }
}
