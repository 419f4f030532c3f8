using OverlapEscrow.Api.Tests.Infrastructure;
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
    public async Task TheBrowserUploadIsRefusedWithoutTheSessionsAntiforgeryTokenAndChangesNothing()
    {
        // The session cookie alone (what a cross-site request would carry) must not replace a population's records.
        var population = await world.Alpha.CreatePopulationAsync("Antiforgery target " + Guid.NewGuid().ToString("N")[..6]);
        await world.Alpha.UploadOkAsync(population, Records.Range("CSRF", 0, 3));
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync($"/populations/{population}/upload");
        var token = await page.Locator("#browser-upload input[name=__RequestVerificationToken]").InputValueAsync();
        async Task<int> PutAsync(string? csrf)
        {
            var headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-ndjson" };
            if (csrf is not null) headers["X-CSRF-TOKEN"] = csrf;
            var response = await page.APIRequest.PutAsync($"/dashboard/populations/{population}/records",
                new() { Headers = headers, DataString = Records.Range("EVIL", 0, 1) });
            return response.Status;
        }

        Assert.Equal(400, await PutAsync(null));
        Assert.Equal(400, await PutAsync("not-the-token"));
        Assert.Equal(3, (await EscrowClient.Json(await world.Alpha.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        // The page's own token is taken.
        Assert.Equal(200, await PutAsync(token));
        Assert.Equal(1, (await EscrowClient.Json(await world.Alpha.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AFileHashedInTheBrowserUploadsAndAfterTheSessionEndsTheUploadSaysSoAndChangesNothing()
    {
        var population = await world.Alpha.CreatePopulationAsync("Session end " + Guid.NewGuid().ToString("N")[..6]);
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        async Task HashAsync(string csv)
        {
            await page.GotoAsync($"/populations/{population}/upload");
            await page.Locator("#csv-file").SetInputFilesAsync(new FilePayload { Name = "accounts.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(csv) });
            await Assertions.Expect(page.Locator("#upload-form")).ToBeVisibleAsync();
            await page.Locator("#hash-button").ClickAsync();
            await Assertions.Expect(page.Locator("#upload-button")).ToBeEnabledAsync();
        }
        async Task<long> RecordsAsync() => (await EscrowClient.Json(await world.Alpha.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>();

        // Signed in: the hashed file is committed.
        await HashAsync("Account ID,Website,Account Name,Billing Country\nA-1,acme.example,Acme Inc,US\nA-2,globex.example,Globex,DE\n");
        await page.Locator("#upload-button").ClickAsync();
        await Assertions.Expect(page.Locator("#upload-status")).ToHaveTextAsync("Upload committed.");
        Assert.Equal(2, await RecordsAsync());

        // The next file is hashed, then the member signs out in another tab before pressing Upload.
        await HashAsync("Account ID,Website,Account Name,Billing Country\nB-1,initech.example,Initech,US\n");
        var other = await page.Context.NewPageAsync();
        await other.GotoAsync("/populations");
        await world.SubmitAsync(other, other.GetByRole(AriaRole.Button, new() { Name = "Sign out" }), u => new Uri(u).AbsolutePath == "/signin", "signing out");
        await page.Locator("#upload-button").ClickAsync();
        await Assertions.Expect(page.Locator("#upload-status")).ToContainTextAsync("Your session has ended"); // it read "refused (405)"
        await Assertions.Expect(page.Locator("#upload-result a[href='/signin']")).ToHaveCountAsync(1);
        Assert.Equal(2, await RecordsAsync());
        await page.Context.CloseAsync();

        // A viewer's session may not upload: 403 as problem+json, not a redirect to the forbidden page.
        var viewer = await world.SignInAsync(await world.MemberAsync(world.Alpha, "viewer"));
        await viewer.GotoAsync("/populations");
        var token = await viewer.Locator("input[name=__RequestVerificationToken]").First.InputValueAsync();
        var refused = await viewer.APIRequest.PutAsync($"/dashboard/populations/{population}/records", new()
        {
            Headers = new Dictionary<string, string> { ["Content-Type"] = "application/x-ndjson", ["X-CSRF-TOKEN"] = token },
            DataString = Records.Range("VIEWER", 0, 1), MaxRedirects = 0,
        });
        Assert.Equal(403, refused.Status);
        Assert.StartsWith("application/problem+json", refused.Headers["content-type"]);
        Assert.Equal(2, await RecordsAsync());
        await viewer.Context.CloseAsync();
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
