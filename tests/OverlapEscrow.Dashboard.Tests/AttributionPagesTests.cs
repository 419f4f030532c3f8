using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// The attribution page in the browser, on two organizations of its own (so the shared world's pages stay as they are):
/// Delta's pipeline against Epsilon's customers. Delta records Epsilon as having sourced an opportunity from the
/// evidence shown; Epsilon confirms on its page; both pages and the CSV show what the API answers each side.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class AttributionPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task AManagerClaimsFromTheEvidenceShownAndThePartnerConfirmsOnItsPage()
    {
        var delta = await world.App.SignupAsync("delta");
        var epsilon = await world.App.SignupAsync("epsilon");
        var deals = await delta.CreatePopulationAsync("Deals", "opportunities");
        await delta.UploadOkAsync(deals, Records.Ndjson(
        [
            new Records.Account("DEAL-1", Domain: "shared1.example", Attributes: new() { ["amount"] = "5000.00", ["currency"] = "EUR", ["stage"] = "Proposal" }),
            new Records.Account("DEAL-2", Domain: "alone.example", Attributes: new() { ["amount"] = "700.00", ["currency"] = "EUR" }),
        ]));
        var customers = await epsilon.CreatePopulationAsync("Installed base");
        await epsilon.UploadOkAsync(customers, Records.Ndjson([new Records.Account("E-1", Domain: "shared1.example")]));
        await epsilon.ShareAsync(customers, "overlaps");
        await delta.PartnerAsync(epsilon);
        // The refresher records the first history points of the new partnership in the background.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await delta.Http.GetFromJsonAsync<JsonArray>($"/v1/populations/{deals}/attribution"))!
               .All(o => o!["partners"]!.AsArray().All(p => p!["evidence"]!.AsArray().Count == 0)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no evidence was recorded within 60 seconds");
            await Task.Delay(100);
        }

        var page = await world.SignInAsync(DashboardWorld.AdminOf(delta));
        await page.GotoAsync("/attribution");
        var row = page.Locator("table.attribution tbody tr[data-opportunity='DEAL-1']");
        await Assertions.Expect(row.Locator("td.evidence")).ToContainTextAsync("Installed base");
        await Assertions.Expect(page.Locator("table.attribution tbody tr[data-opportunity='DEAL-2']")).ToContainTextAsync("No partner had this account");
        await row.GetByRole(AriaRole.Button, new() { Name = "epsilon Inc. sourced DEAL-1" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Recorded");
        await Assertions.Expect(page.Locator("table.attribution tbody tr[data-opportunity='DEAL-1'] .claim")).ToHaveTextAsync("sourced, claimed");

        var partner = await world.SignInAsync(DashboardWorld.AdminOf(epsilon));
        await partner.GotoAsync("/attribution");
        var claim = partner.Locator("table.ledger tbody tr").Filter(new() { HasText = "DEAL-1" });
        await Assertions.Expect(claim.Locator("td.evidence")).ToContainTextAsync("Installed base");
        // The opportunity's own fields never reach the partner.
        Assert.DoesNotContain("5,000", await partner.ContentAsync());
        // An answer cannot be taken back: a forged decision that is neither button's value ("Confirm", empty) records
        // nothing (it recorded a dispute).
        var token = await partner.EvaluateAsync<string>("() => document.querySelector('input[name=__RequestVerificationToken]').value");
        var claimId = (await delta.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        foreach (var decision in new[] { "Confirm", "" })
        {
            var forged = await partner.APIRequest.PostAsync("/attribution?handler=Respond", new()
            {
                Form = partner.APIRequest.CreateFormData().Set("claimId", claimId).Set("decision", decision).Set("__RequestVerificationToken", token),
            });
            Assert.True(forged.Status == 400, $"'{decision}': {forged.Status}");
        }
        // A valid decision with a list cursor the page did not make is refused before it is recorded (it was recorded, then 400).
        var foreignCursor = await partner.APIRequest.PostAsync("/attribution?handler=Respond&cursor=zzz", new()
        {
            Form = partner.APIRequest.CreateFormData().Set("claimId", claimId).Set("decision", "dispute").Set("__RequestVerificationToken", token),
        });
        Assert.Equal(400, foreignCursor.Status);
        Assert.Contains("That page link is not one this page made", await foreignCursor.TextAsync());
        Assert.Equal("claimed", (await delta.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray().Single()!["status"]!.GetValue<string>());
        await claim.GetByLabel("Note on DEAL-1").FillAsync("Our referral.");
        await claim.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(partner.Locator("table.ledger tbody tr").Filter(new() { HasText = "DEAL-1" }).Locator("td.status")).ToHaveTextAsync("confirmed: Our referral.");

        var api = (await delta.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray().Single()!;
        Assert.Equal("confirmed", api["status"]!.GetValue<string>());
        await page.GotoAsync("/attribution");
        await Assertions.Expect(page.Locator("table.attribution tbody tr[data-opportunity='DEAL-1'] .claim")).ToHaveTextAsync("sourced, confirmed");
        var download = await page.APIRequest.GetAsync("/attribution?handler=Csv");
        Assert.Equal(200, download.Status);
        Assert.Equal((await (await delta.Http.GetAsync("/v1/attributions/export")).Content.ReadAsStringAsync()).TrimStart('\uFEFF'), (await download.TextAsync()).TrimStart('\uFEFF'));

        // Epsilon lowers its population to counts: the claim stays in delta's ledger, its evidence is withdrawn on the next page load.
        await epsilon.ShareAsync(customers, "counts");
        await page.GotoAsync("/attribution");
        var mine = page.Locator("table.ledger tbody tr").Filter(new() { HasText = "DEAL-1" });
        await Assertions.Expect(mine.Locator("td.evidence")).ToHaveTextAsync("Withdrawn: no longer shared, or the partnership ended");
        await Assertions.Expect(mine.Locator("td.status")).ToContainTextAsync("confirmed");
        Assert.DoesNotContain("Installed base", await page.ContentAsync());
        await page.Context.CloseAsync();
        await partner.Context.CloseAsync();
    }
}
