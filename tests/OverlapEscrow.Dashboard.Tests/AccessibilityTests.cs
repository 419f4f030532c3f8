using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// axe-core (Deque.AxeCore.Playwright, the engine bundled in the package) on every main page, signed out and signed in:
/// no serious or critical violation (WCAG 2.1 A and AA rules, best practices included).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class AccessibilityTests(DashboardWorld world)
{
    [Fact]
    public async Task EveryMainPageHasNoSeriousAccessibilityViolation()
    {
        var failures = new List<string>();
        var context = await world.Chromium.NewContextAsync(world.BaseUrl);
        var anonymous = await context.NewPageAsync();
        foreach (var path in new[] { "/signin", "/signup" })
        {
            await anonymous.GotoAsync(path);
            failures.AddRange(await SeriousViolationsAsync(anonymous, path));
        }
        // The check can fail: an image without a text alternative added to the page is found.
        await anonymous.EvaluateAsync("() => document.querySelector('main').appendChild(document.createElement('img'))");
        Assert.Contains(await SeriousViolationsAsync(anonymous, "probe"), v => v.Contains("image-alt", StringComparison.Ordinal));
        await context.CloseAsync();

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        foreach (var stop in await PageTour.StopsAsync(world))
        {
            if (stop.Name == "api-reference") continue; // Scalar's own interface, not the dashboard's markup (see docs/dashboard.md)
            await page.GotoAsync(stop.Path);
            failures.AddRange(await SeriousViolationsAsync(page, stop.Path));
        }
        await page.Context.CloseAsync();
        Assert.True(failures.Count == 0, "Accessibility violations:\n" + string.Join("\n", failures));
    }

    private static async Task<IEnumerable<string>> SeriousViolationsAsync(IPage page, string where)
    {
        var results = await page.RunAxe();
        return results.Violations
            .Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{where}: {v.Id} ({v.Impact}) {v.Help}: {string.Join(" | ", v.Nodes.Take(3).Select(n => n.Html))}");
    }
}
