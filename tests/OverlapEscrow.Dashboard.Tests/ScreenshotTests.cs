using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// Opens every main page as Alpha's admin and takes a full-page screenshot of each. scripts/dashboard-screenshots
/// runs it with OE_SCREENSHOTS=docs/dashboard to refresh the pictures of docs/dashboard.md; otherwise they go to a
/// temporary folder. Every page must answer 200 and render its heading.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ScreenshotTests(DashboardWorld world)
{
    [Fact]
    public async Task EveryMainPageRendersAndIsPhotographed()
    {
        var folder = Environment.GetEnvironmentVariable("OE_SCREENSHOTS") is { Length: > 0 } f ? f : Path.Combine(Path.GetTempPath(), "oe-screenshots");
        Directory.CreateDirectory(folder);
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        foreach (var stop in await PageTour.StopsAsync(world))
        {
            var response = await page.GotoAsync(stop.Path);
            Assert.True(response!.Status == 200, $"{stop.Path} answered {response.Status}");
            await Assertions.Expect(page.Locator("h1").First).ToBeVisibleAsync();
            if (stop.Name == "api-reference")
                await Assertions.Expect(page.Locator("#app").GetByRole(AriaRole.Heading, new() { Name = "OverlapEscrow API" }).First).ToBeVisibleAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, stop.Name + ".png"), FullPage = stop.Name != "api-reference" });
        }
        await page.Context.CloseAsync();
    }
}
