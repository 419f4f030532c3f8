using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// Data requests in the browser: from a counts-only cell of the matrix, Alpha asks Beta for more; Beta sees the request
/// on its page and answers with a rule for that cell; both pages show what the API answers each side. The answer keeps
/// the cell at counts with Beta's minimum, so the shared world's matrix reads the same afterwards.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DataRequestPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task ACountsOnlyCellLeadsToARequestThePartnerAnswersOnItsPage()
    {
        var alpha = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await alpha.GotoAsync($"/partnerships/{world.Partnership}");
        // Only counts-only cells offer the request; the overlaps-level cell has its list instead.
        var ask = alpha.Locator($"a.ask-link[href*='mine={world.AlphaProspects}&theirs={world.BetaOpportunities}']");
        await Assertions.Expect(ask).ToHaveCountAsync(1);
        await Assertions.Expect(alpha.Locator($"a.ask-link[href*='theirs={world.BetaCustomers}']")).ToHaveCountAsync(0);
        await ask.ClickAsync();
        await Assertions.Expect(alpha.GetByLabel("Cell (your population × theirs)")).ToHaveValueAsync($"{world.AlphaProspects}|{world.BetaOpportunities}");
        var message = $"Which of our prospects are in your open deals? {Guid.NewGuid():N}";
        await alpha.GetByLabel("Message to beta").FillAsync(message);
        await alpha.GetByRole(AriaRole.Button, new() { Name = "Send request" }).ClickAsync();
        await Assertions.Expect(alpha.Locator("[role=status], .notice").First).ToContainTextAsync("Request sent");
        var sentRow = alpha.Locator("table.data tbody tr").Filter(new() { HasText = message });
        await Assertions.Expect(sentRow.Locator("td.status")).ToHaveTextAsync("open");

        var received = (await world.Beta.Http.GetFromJsonAsync<JsonObject>($"/v1/partnerships/{world.Partnership}/data-requests"))!["items"]!.AsArray()
            .Single(r => r!["message"]!.GetValue<string>() == message)!;
        var id = received["id"]!.GetValue<string>();
        var beta = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await beta.GotoAsync($"/partnerships/{world.Partnership}/requests");
        var article = beta.Locator($"article.request[data-request-id='{id}']");
        await Assertions.Expect(article.Locator("blockquote.message")).ToHaveTextAsync(message);
        await Assertions.Expect(article.Locator("h3")).ToContainTextAsync("Open Opportunities");
        await Assertions.Expect(article.Locator("h3")).ToContainTextAsync("Prospects");
        // A minimum that is not a whole number, posted as a hand-made form would ("1,000"), is refused naming the field; the
        // request stays open and the rule unchanged (it was answered with the inherited minimum before).
        var token = await beta.EvaluateAsync<string>("() => document.querySelector('input[name=__RequestVerificationToken]').value");
        foreach (var bad in new[] { "1,000", "abc", "99999999999" })
        {
            var refused = await beta.APIRequest.PostAsync($"/partnerships/{world.Partnership}/requests?handler=Answer", new()
            {
                Form = beta.APIRequest.CreateFormData().Set("requestId", id).Set("level", "counts").Set("minimumCount", bad).Set("__RequestVerificationToken", token),
            });
            Assert.True(refused.Status == 400, $"{bad}: {refused.Status}");
            Assert.Contains("minimumCount is between 1 and", await refused.TextAsync());
        }
        // A valid answer with a list cursor the page did not make is refused before it is recorded (it was recorded, then 400).
        var foreignCursor = await beta.APIRequest.PostAsync($"/partnerships/{world.Partnership}/requests?handler=Answer&cursor=zzz", new()
        {
            Form = beta.APIRequest.CreateFormData().Set("requestId", id).Set("level", "counts").Set("__RequestVerificationToken", token),
        });
        Assert.Equal(400, foreignCursor.Status);
        Assert.Contains("That page link is not one this page made", await foreignCursor.TextAsync());
        Assert.Equal("open", (await EscrowClient.Json(await world.Alpha.Http.GetAsync($"/v1/data-requests/{id}")))["status"]!.GetValue<string>());
        await article.GetByLabel("Share this cell at").SelectOptionAsync("counts");
        await article.GetByLabel("Minimum (optional)").FillAsync("100000");
        await article.GetByRole(AriaRole.Button, new() { Name = "Answer with this rule" }).ClickAsync();
        await Assertions.Expect(beta.Locator($"article.request[data-request-id='{id}'] .status")).ToHaveTextAsync("answered: Counts only");

        var api = await EscrowClient.Json(await world.Alpha.Http.GetAsync($"/v1/data-requests/{id}"));
        Assert.Equal("answered", api["status"]!.GetValue<string>());
        Assert.Equal("counts", api["answer"]!["level"]!.GetValue<string>());
        await alpha.GotoAsync($"/partnerships/{world.Partnership}/requests");
        await Assertions.Expect(sentRow.Locator("td.status")).ToHaveTextAsync("answered: Counts only");
        Assert.Null((await world.MatrixAsync(world.Alpha)).Cell(world.AlphaProspects, world.BetaOpportunities)!["count"]);

        // A viewer reads the page but is offered no form, and a forged post is refused.
        var viewer = await world.SignInAsync(await world.MemberAsync(world.Beta, "viewer"));
        await viewer.GotoAsync($"/partnerships/{world.Partnership}/requests");
        await Assertions.Expect(viewer.Locator($"article.request[data-request-id='{id}']")).ToHaveCountAsync(1);
        await Assertions.Expect(viewer.GetByRole(AriaRole.Button, new() { Name = "Send request" })).ToHaveCountAsync(0);
        await Assertions.Expect(viewer.GetByRole(AriaRole.Button, new() { Name = "Decline" })).ToHaveCountAsync(0);
        await alpha.Context.CloseAsync();
        await beta.Context.CloseAsync();
        await viewer.Context.CloseAsync();
    }
}
