using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// Possible matches and hashing-specification versions in the browser: the cell page lists possible matches only on
/// request, as the API's <c>matches=all</c> does, and the matrix and cell pages say when the two sides were hashed
/// under different versions exactly when the API does.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class MatchViewPagesTests(DashboardWorld world)
{
    // One exact (shared domain), one strong (distinctive name and country) and one possible (generic name alone) pair.
    private static readonly (string Id, string? Website, string Name)[] MineRows =
        [("m-exact", "https://www.acme-widgets.com", "Acme Widgets"), ("m-strong", null, "Kagi"), ("m-possible", null, "Summit Consulting")];

    private static readonly (string Id, string? Website, string Name)[] TheirRows =
        [("t-exact", "acme-widgets.com", "ACME Widgets Inc."), ("t-strong", null, "Kagi Inc."), ("t-possible", null, "Summit Consulting LLC")];

    [Fact]
    public async Task TheCellPageListsPossibleMatchesOnlyOnRequestAsTheApiDoes()
    {
        var (mine, theirs, partnership, mineOrg) = await PairAsync("mv-list", "v2", "v2");
        var basePath = $"/partnerships/{partnership}/cells/{mine}/{theirs}";
        var page = await world.SignInAsync(DashboardWorld.AdminOf(mineOrg));

        await page.GotoAsync(basePath);
        Assert.Equal(await ListedAsync(mineOrg, partnership, mine, theirs, "default"), await RecordIdsAsync(page));
        Assert.DoesNotContain("m-possible", await RecordIdsAsync(page));
        await Assertions.Expect(page.Locator("table.accounts .confidence", new() { HasText = "possible" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "Show possible matches too" }).ClickAsync();
        await Assertions.Expect(page.Locator("p.match-view")).ToContainTextAsync("Showing every match");
        var all = await ListedAsync(mineOrg, partnership, mine, theirs, "all");
        Assert.Contains("m-possible", all);
        Assert.Equal(all, await RecordIdsAsync(page));
        await Assertions.Expect(page.Locator("table.accounts .confidence", new() { HasText = "possible" })).ToHaveCountAsync(1);
        // The view survives the filter form and is the one the CSV link exports.
        Assert.Equal("all", await page.Locator("form.filters input[name=view]").GetAttributeAsync("value"));
        Assert.Contains("view=all", await page.GetByRole(AriaRole.Link, new() { Name = "Download all as CSV" }).GetAttributeAsync("href"));

        // An unknown view is a field error on the page, never a silent default.
        var bad = await page.GotoAsync(basePath + "?view=everything");
        Assert.Equal((int)HttpStatusCode.BadRequest, bad!.Status);
        await Assertions.Expect(page.Locator("[role=alert]")).ToContainTextAsync("view is default");
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("v1", "v2", true)]
    [InlineData("v2", "v2", false)]
    public async Task TheMatrixAndCellPagesNoteASpecificationMismatchExactlyWhenTheApiDoes(string mySpec, string theirSpec, bool mismatch)
    {
        var (mine, theirs, partnership, mineOrg) = await PairAsync("mv-spec-" + mySpec + theirSpec, mySpec, theirSpec);
        var matrix = await mineOrg.MatrixAsync(partnership);
        var cell = matrix["cells"]!.AsArray().Single(c => c!["myPopulationId"]!.GetValue<string>() == mine)!;
        Assert.Equal(mismatch, cell["hashingSpecMismatch"] is not null);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(mineOrg));
        await page.GotoAsync($"/partnerships/{partnership}");
        await Assertions.Expect(page.Locator("p.notice.spec-mismatch")).ToHaveCountAsync(mismatch ? 1 : 0);
        await Assertions.Expect(page.Locator("table.matrix .badge.spec-mismatch")).ToHaveCountAsync(mismatch ? 1 : 0);
        if (mismatch)
            Assert.Contains($"{mySpec}, theirs under {theirSpec}", await page.Locator("table.matrix .badge.spec-mismatch").GetAttributeAsync("title"));
        await page.GotoAsync($"/partnerships/{partnership}/cells/{mine}/{theirs}");
        await Assertions.Expect(page.Locator("p.notice.spec-mismatch")).ToHaveCountAsync(mismatch ? 1 : 0);
        await page.Context.CloseAsync();
    }

    /// <summary>Two fresh organizations, partners, each with one population uploaded under the given spec version and shared at overlaps.</summary>
    private async Task<(string Mine, string Theirs, string Partnership, Org MineOrg)> PairAsync(string slug, string mySpec, string theirSpec)
    {
        var me = await world.App.SignupAsync(slug + "-a");
        var them = await world.App.SignupAsync(slug + "-b");
        var mine = await me.CreatePopulationAsync("Customers");
        var theirs = await them.CreatePopulationAsync("Customers");
        await me.ShareAsync(mine, "overlaps", "accountName");
        await them.ShareAsync(theirs, "overlaps", "accountName");
        var partnership = await me.PartnerAsync(them);
        await UploadAsync(me, mine, MineRows, mySpec);
        await UploadAsync(them, theirs, TheirRows, theirSpec);
        return (mine, theirs, partnership, me);
    }

    private static async Task UploadAsync(Org org, string population, (string Id, string? Website, string Name)[] rows, string spec)
    {
        var body = string.Join('\n', rows.Select(r =>
        {
            var keys = AccountKeys.From(r.Website, null, r.Name, "US");
            var identifiers = keys.Identifiers.GroupBy(k => k.Type).ToDictionary(g => g.Key, g => g.Select(k => k.Hash()).Distinct().ToArray());
            return JsonSerializer.Serialize(new { recordId = r.Id, identifiers, attributes = new Dictionary<string, string> { ["accountName"] = r.Name } });
        })) + "\n";
        await EscrowClient.Expect(await org.Http.UploadAsync(population, body, hashingSpec: spec), HttpStatusCode.OK);
    }

    private static async Task<List<string>> ListedAsync(Org org, string partnership, string mine, string theirs, string matches)
    {
        var response = await org.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}?limit=100&matches={matches}");
        await EscrowClient.Expect(response, HttpStatusCode.OK);
        var page = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return [.. page["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
    }

    private static async Task<List<string>> RecordIdsAsync(IPage page) =>
        [.. (await page.Locator("table.accounts tbody th[scope=row]").AllInnerTextsAsync()).Select(i => i.Split('\n')[0].Trim()).Order(StringComparer.Ordinal)];
}
