using OverlapEscrow.Dashboard.Tests.Infrastructure;

// One browser, one service at a time: the suite must stay reliable on a loaded two-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// The demo as scripts/run starts it: signing in as its admin opens on a populated dashboard, and every main page
/// renders and is photographed. scripts/dashboard-screenshots runs this with OE_SCREENSHOTS=docs/dashboard to refresh
/// the pictures of docs/dashboard.md from the demo data; otherwise they go to a temporary folder.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ScreenshotTests(DashboardWorld world, DemoService demo) : IClassFixture<DemoService>
{
    [Fact]
    public async Task TheDemoOpensOnAPopulatedDashboard()
    {
        var page = await world.SignInAtAsync(demo.BaseUrl, DemoService.Admin, DemoService.Password);
        Assert.Equal(demo.BaseUrl + "/", page.Url);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Contoso Cloud" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Contoso Cloud" }).ClickAsync();
        await Assertions.Expect(page.Locator("table.matrix a.count").First).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task EveryMainPageOfTheDemoRendersAndIsPhotographed()
    {
        var folder = Environment.GetEnvironmentVariable("OE_SCREENSHOTS") is { Length: > 0 } f ? f : Path.Combine(Path.GetTempPath(), "oe-screenshots");
        Directory.CreateDirectory(folder);
        var page = await world.SignInAtAsync(demo.BaseUrl, DemoService.Admin, DemoService.Password);
        foreach (var stop in PageTour.For(demo.Partnership, demo.Customers, demo.PartnerCustomers))
        {
            var response = await page.GotoAsync(stop.Path);
            Assert.True(response!.Status == 200, $"{stop.Path} answered {response.Status}");
            await Assertions.Expect(page.Locator("h1").First).ToBeVisibleAsync();
            if (stop.Name == "api-reference")
                await Assertions.Expect(page.Locator("#app").GetByRole(AriaRole.Heading, new() { Name = "OverlapEscrow API" }).First).ToBeVisibleAsync();
            if (stop.Name == "partnerships")
            {
                // Fabrikam's headline is a noised count: it says so, with its margin, as the matrix does.
                var fabrikam = page.Locator("tr", new() { HasText = "Fabrikam Retail" });
                await Assertions.Expect(fabrikam.Locator("strong")).ToContainTextAsync("≈");
                await Assertions.Expect(fabrikam.Locator(".badge.privacy")).ToContainTextAsync("protected ±");
            }
            if (stop.Name == "health-pipeline")
            {
                // The demo's Fabrikam shares its customers at the counts level only: its figures, and the coverage over all
                // partners, are released with noise, each shown ≈ with its 95 % range (docs/health.md).
                await Assertions.Expect(page.Locator(".coverage-overall.released .margin")).ToContainTextAsync("95 %");
                await Assertions.Expect(page.Locator("tr", new() { HasText = "Fabrikam Retail" }).Locator(".potential .margin")).ToContainTextAsync("95 %");
                await page.Locator("section[aria-labelledby='overall-heading']").ScreenshotAsync(new() { Path = Path.Combine(folder, "health-released.png") });
            }
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, stop.Name + ".png"), FullPage = stop.Name == "health-pipeline" });
        }
        await page.Context.CloseAsync();
    }
}
