using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// A partner view reads both sides' populations and rules in one statement each: each side must get exactly what its
/// own list gives, in the same order, and nothing of a third organization.
/// </summary>
public class PartnerViewReadTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory, StorageData]
    public async Task BothSidesPopulationsReadTogetherAreEachSidesOwnListAndNothingOfAnotherOrganization(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var stranger = await s.OrganizationAsync("initech");
        await s.PopulationAsync(me, "Zeta");
        await s.PopulationAsync(me, "Alpha");
        await s.PopulationAsync(me, "Customers");
        await s.PopulationAsync(partner, "Prospects");
        // The stranger's population shares a name with mine: only the organization tells them apart.
        await s.PopulationAsync(stranger, "Alpha");

        var (mine, theirs) = await s.Populations.ListBothAsync(me, partner, None);

        Assert.Equal(["Alpha", "Customers", "Zeta"], mine.Select(p => p.Name));
        Assert.Equal((await s.Populations.ListAsync(me, None)).Select(p => p.Id), mine.Select(p => p.Id));
        Assert.All(mine, p => Assert.Equal(me, p.OrganizationId));
        Assert.Equal(["Prospects"], theirs.Select(p => p.Name));
        Assert.All(theirs, p => Assert.Equal(partner, p.OrganizationId));
        var (partnerFirst, meSecond) = await s.Populations.ListBothAsync(partner, me, None);
        Assert.Equal(theirs.Select(p => p.Id), partnerFirst.Select(p => p.Id));
        Assert.Equal(mine.Select(p => p.Id), meSecond.Select(p => p.Id));
        Assert.Empty((await s.Populations.ListBothAsync(me, "org_unknown", None)).Second);
    }

    [Theory, StorageData]
    public async Task BothSidesRulesReadTogetherAreEachSidesOwnRulesAndNothingOfAnotherOrganization(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var stranger = await s.OrganizationAsync("initech");
        var myCustomers = await s.PopulationAsync(me, "Customers");
        var myProspects = await s.PopulationAsync(me, "Prospects");
        var theirCustomers = await s.PopulationAsync(partner, "Customers");
        var strangers = await s.PopulationAsync(stranger, "Customers");
        await s.Partnerships.ReplaceDefaultRulesAsync(me, [
            new SharingRule(myCustomers, null, null, SharingLevel.Overlaps, ["accountName"], null),
            new SharingRule(myProspects, null, null, SharingLevel.Counts, [], 5)], T0, None);
        await s.Partnerships.ReplaceDefaultRulesAsync(partner, [new SharingRule(theirCustomers, null, null, SharingLevel.Counts, [], null)], T0, None);
        await s.Partnerships.ReplaceDefaultRulesAsync(stranger, [new SharingRule(strangers, null, null, SharingLevel.Overlaps, ["stage"], null)], T0, None);

        var (myRules, partnerRules) = await s.Partnerships.ListRulesBothAsync(me, partner, None);

        Assert.Equal(Describe(await s.Partnerships.ListRulesAsync(me, None)), Describe(myRules));
        Assert.Equal(new[] { $"{myCustomers} Overlaps accountName", $"{myProspects} Counts 5" }.Order(StringComparer.Ordinal), Describe(myRules));
        Assert.Equal([$"{theirCustomers} Counts "], Describe(partnerRules));
        var (partnerFirst, mineSecond) = await s.Partnerships.ListRulesBothAsync(partner, me, None);
        Assert.Equal(Describe(partnerRules), Describe(partnerFirst));
        Assert.Equal(Describe(myRules), Describe(mineSecond));
    }

    [Theory, StorageData]
    public async Task RulesComeInTheOrderOfTheirPopulationWhateverOrderTheyWereWrittenIn(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var populations = new List<string>();
        for (var i = 0; i < 6; i++) populations.Add(await s.PopulationAsync(me, $"List {i}"));
        var descending = populations.OrderDescending(StringComparer.Ordinal).ToList();
        // Written in descending id order, so a read in the order rows were written would come back reversed.
        await s.Partnerships.ReplaceDefaultRulesAsync(me,
            descending.Select(p => new SharingRule(p, null, null, SharingLevel.Counts, [], null)).ToList(), T0, None);

        var ascending = populations.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(ascending, (await s.Partnerships.ListRulesAsync(me, None)).Select(r => r.PopulationId));
        Assert.Equal(ascending, (await s.Partnerships.ListRulesBothAsync(me, partner, None)).First.Select(r => r.PopulationId));
        Assert.Equal(ascending, (await s.Partnerships.ListRulesBothAsync(partner, me, None)).Second.Select(r => r.PopulationId));
    }

    private static List<string> Describe(IEnumerable<SharingRule> rules) =>
        rules.Select(r => $"{r.PopulationId} {r.Level} {(r.MinimumCount is { } m ? m.ToString() : string.Join(",", r.Fields))}").Order(StringComparer.Ordinal).ToList();
}
