using OverlapEscrow.Domain.Disclosure;
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
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "accountName", "stage"));

        Assert.Equal(new Dictionary<string, string> { ["accountName"] = "Acme" }, shared);
    }

    [Fact]
    public void NothingIsProjectedBelowTheOverlapsLevelWhateverFieldsTheRuleCarries()
    {
        Assert.Empty(FieldProjection.Project(Partner, Rule(SharingLevel.Counts, 5, "accountName")));
        Assert.Empty(FieldProjection.Project(Partner, new EffectiveSharing(SharingLevel.Hidden, ["accountName"], 5)));
    }

    [Fact]
    public void FieldNamesMatchExactlySoCaseVariantsLeakNothing()
    {
        Assert.Empty(FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "AccountName", "OWNER")));
    }

    [Fact]
    public void ThePartnersRecordIdIsNeverPartOfTheProjection()
    {
        var shared = FieldProjection.Project(Partner, Rule(SharingLevel.Overlaps, 5, "recordId", "RecordId", "accountName", "owner", "amount"));

        Assert.DoesNotContain("THEIR-SECRET-ID", shared.Values);
    }
}
