using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>The co-selling page shows the records the API's signals list for the same member, and no records for a counts-only cell.</summary>
[Collection(DashboardCollection.Name)]
public sealed class SignalsPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task TheCoSellingPageListsTheApisSignalsAndNoRecordsOfACountsOnlyCell()
    {
        // Beta's open opportunities × alpha's customers (shared at overlaps): a reference cell.
        var api = await EscrowClient.Json(await world.Beta.Http.GetAsync($"/v1/partnerships/{world.Partnership}/signals"));
        var reference = api["cells"]!.AsArray().Single(c => c!["kind"]!.GetValue<string>() == "reference")!;
        var expected = reference["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await page.GotoAsync($"/partnerships/{world.Partnership}/signals");
        var rows = page.Locator($"section[data-kind=reference] table.signals[data-cell='{world.BetaOpportunities}/{world.AlphaCustomers}'] tbody th[scope=row]");
        Assert.Equal(expected, (await rows.AllInnerTextsAsync()).Select(t => t.Trim()).Order(StringComparer.Ordinal));
        await page.Context.CloseAsync();

        // Alpha's customers × beta's counts-only opportunities: a reciprocal cell named without accounts.
        var alpha = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await alpha.GotoAsync($"/partnerships/{world.Partnership}/signals");
        var reciprocal = alpha.Locator("section[data-kind=reciprocal]");
        await Assertions.Expect(reciprocal).ToContainTextAsync("Shared as counts only: no accounts.");
        await Assertions.Expect(reciprocal.Locator("table")).ToHaveCountAsync(0);
        await alpha.Context.CloseAsync();
    }
}
