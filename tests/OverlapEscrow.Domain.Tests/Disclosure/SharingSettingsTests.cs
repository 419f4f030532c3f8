using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class SharingSettingsTests
{
    private static SharingRule? Parse(string? level, string?[]? fields = null, int? min = null, FieldErrors? errors = null) =>
        SharingSettings.Parse(new SharingSettingInput(level, fields, min), "m1", null, null, "$", errors ?? new FieldErrors());

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("everything")]
    [InlineData("2")]
    [InlineData("-1")]
    public void OnlyTheThreeLevelsAreAccepted(string? level)
    {
        var errors = new FieldErrors();
        Assert.Null(Parse(level, errors: errors));
        Assert.Equal("$.level", Assert.Single(errors.All).Path);
    }

    [Fact]
    public void FieldsAreSharedOnlyAtTheOverlapsLevel()
    {
        var errors = new FieldErrors();
        Assert.Null(Parse("counts", ["accountName"], errors: errors));
        Assert.Equal("$.fields", Assert.Single(errors.All).Path);
        Assert.Equal(["accountName"], Parse("OVERLAPS", ["accountName"])!.Fields);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1_000_001)]
    public void AMinimumOutsideItsRangeIsRefused(int min)
    {
        var errors = new FieldErrors();
        Assert.Null(Parse("counts", min: min, errors: errors));
        Assert.Equal("$.minimumCount", Assert.Single(errors.All).Path);
    }

    [Fact]
    public void BadFieldNamesAndDuplicatesAreRefused()
    {
        foreach (var fields in new[] { new string?[] { null }, ["1st"], ["a b"], ["x", "x"], Enumerable.Range(0, SharingPolicy.MaxFields + 1).Select(i => (string?)$"f{i}").ToArray() })
        {
            var errors = new FieldErrors();
            Assert.Null(Parse("overlaps", fields, errors: errors));
            Assert.Contains(errors.All, e => e.Path == "$.fields");
        }
    }

    [Fact]
    public void AnOverrideMayNotNameAHiddenPartnerPopulationNorOneOfAnotherPartner()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Counts), Default("t2", SharingLevel.Hidden)]);
        var errors = new FieldErrors();

        var rules = SharingSettings.PartnershipOverrides(view, [
            new PopulationSharingInput("m1", new SharingSettingInput(null, null, null), [
                new OverrideInput("t1", new SharingSettingInput("overlaps", ["accountName"], null)),
                new OverrideInput("t2", new SharingSettingInput("hidden", null, null)),
                new OverrideInput("t-elsewhere", new SharingSettingInput("hidden", null, null)),
            ]),
        ], errors);

        Assert.Equal(["populations[0].overrides[1].partnerPopulationId", "populations[0].overrides[2].partnerPopulationId"], errors.All.Select(e => e.Path));
        // The hidden one and the unknown one get the very same message.
        Assert.Equal(errors.All[0].Message, errors.All[1].Message);
        var rule = Assert.Single(rules);
        Assert.Equal(("m1", PartnershipId, "t1", SharingLevel.Overlaps), (rule.PopulationId, rule.PartnershipId, rule.PartnerPopulationId, rule.Level));
    }

    [Fact]
    public void BeforeThePartnershipIsActiveNoOverrideMayNameAPartnerPopulation()
    {
        var view = View(PartnershipStatus.Invited, theirRules: [Default("t1", SharingLevel.Overlaps)]);
        var errors = new FieldErrors();

        SharingSettings.PartnershipOverrides(view, [new PopulationSharingInput("m1", new SharingSettingInput("counts", null, null),
            [new OverrideInput("t1", new SharingSettingInput("counts", null, null))])], errors);

        Assert.Equal("populations[0].overrides[0].partnerPopulationId", Assert.Single(errors.All).Path);
    }

    [Fact]
    public void OnlyMyOwnPopulationsEachOnceAndOverridesWithALevel()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps)]);
        var errors = new FieldErrors();

        SharingSettings.PartnershipOverrides(view, [
            new PopulationSharingInput("t1", new SharingSettingInput("counts", null, null), null),
            new PopulationSharingInput("m1", new SharingSettingInput("counts", null, null), null),
            new PopulationSharingInput("m1", new SharingSettingInput("counts", null, null), null),
            new PopulationSharingInput("m2", new SharingSettingInput(null, null, null), [new OverrideInput("t1", new SharingSettingInput(null, null, null))]),
        ], errors);

        Assert.Equal(["populations[0].populationId", "populations[2].populationId", "populations[3].overrides[0].level"], errors.All.Select(e => e.Path));
    }
}
