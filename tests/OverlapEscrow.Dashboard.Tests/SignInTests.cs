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

        await world.SubmitAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }),
            u => new Uri(u).AbsolutePath == "/signin", "signing out");
        await page.GotoAsync("/");
        Assert.Contains("/signin", page.Url);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ANewCompanySignsUpFromThePageAfterABadSlugIsShownNextToItsField()
    {
        var context = await world.Chromium.NewContextAsync(world.BaseUrl);
        var page = await context.NewPageAsync();
        var slug = "delta-" + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/signup");
        await page.GetByLabel("Company name").FillAsync("Delta Widgets");
        await page.GetByLabel("Slug").FillAsync("Not A Slug!");
        await page.GetByLabel("Your email").FillAsync($"admin@{slug}.example");
        await page.GetByLabel("Password").FillAsync(DashboardWorld.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }).ClickAsync();
        await Assertions.Expect(page.Locator("#organizationSlug")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.Locator("#organizationSlug-error")).Not.ToBeEmptyAsync();
        Assert.Contains("/signup", page.Url);

        await page.GetByLabel("Slug").FillAsync(slug);
        await page.GetByLabel("Password").FillAsync(DashboardWorld.Password);
        await world.SubmitAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Sign up" }),
            u => new Uri(u).AbsolutePath == "/populations", $"signing up {slug}");
        await Assertions.Expect(page.Locator("header")).ToContainTextAsync("Delta Widgets");
        await context.CloseAsync();
    }
}
