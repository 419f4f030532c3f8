using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class ApiReferenceTests(DashboardWorld world)
{
    [Fact]
    public async Task TheApiReferenceRendersTheServedDocumentWithNothingFetchedFromElsewhere()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var outside = new List<string>();
        var refused = new List<string>();
        // Offline: every request that leaves this service is aborted, and recorded.
        await page.Context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url.StartsWith(world.BaseUrl, StringComparison.Ordinal) || route.Request.Url.StartsWith("data:", StringComparison.Ordinal)) await route.ContinueAsync();
            else
            {
                lock (outside) outside.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });
        page.Console += (_, m) => { if (m.Type == "error") lock (refused) refused.Add(m.Text); };

        await page.GotoAsync("/api-reference");
        // The document's title and one of its operations, rendered by the served bundle from the served document.
        await Assertions.Expect(page.Locator("#app").GetByRole(AriaRole.Heading, new() { Name = "OverlapEscrow API" }).First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#app").GetByRole(AriaRole.Link, new() { Name = "get /healthz" }).First).ToBeAttachedAsync();
        await page.WaitForTimeoutAsync(500);
        Assert.True(outside.Count == 0, "Requests left the service: " + string.Join(", ", outside));
        Assert.True(refused.Count == 0, "Console errors: " + string.Join(" | ", refused));
        await page.Context.CloseAsync();
    }
}
