using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

[Collection(DashboardCollection.Name)]
public sealed class SignInTests(DashboardWorld world)
{
    [Fact]
    public async Task AMemberSignsInLandsOnPartnershipsAndSignsOut()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        Assert.Equal(world.BaseUrl + "/", page.Url);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Partnerships", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "beta Inc." })).ToBeVisibleAsync();

        var session = (await page.Context.CookiesAsync()).Single(c => c.Name == "__Host-oe-session");
        Assert.True(session.HttpOnly);
        Assert.True(session.Secure);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync("**/signin");
        await page.GotoAsync("/");
        Assert.Contains("/signin", page.Url);
        await page.Context.CloseAsync();
    }
}
