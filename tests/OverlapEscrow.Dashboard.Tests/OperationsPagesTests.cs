using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>Syncs and admin in the browser: a schedule created and run, an API key created, used and revoked.</summary>
[Collection(DashboardCollection.Name)]
public sealed class OperationsPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task AScheduleCreatedInTheDashboardRunsNowAndShowsItsRun()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync("/syncs/new");
        // A bad cron is refused next to its field, and nothing is created.
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Nightly refresh");
        await page.GetByLabel("Cron expression").FillAsync("99 * * * *");
        await page.GetByLabel("Time zone (IANA)").FillAsync("Europe/Berlin");
        await page.GetByLabel("Refresh overlaps with every partner").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Assertions.Expect(page.Locator("#cron")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(page.Locator("#cron-error")).ToContainTextAsync("5-field expression");
        Assert.DoesNotContain("Nightly refresh", await world.Alpha.Http.GetStringAsync("/v1/schedules"));

        await page.GetByLabel("Cron expression").FillAsync("0 3 * * 1-5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Nightly refresh", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("At 03:00, Monday through Friday in Europe/Berlin");
        // The next runs in the schedule's zone: 03:00 local, at Berlin's offset.
        await Assertions.Expect(page.Locator("ol time").First).ToContainTextAsync("03:00 (UTC+0");

        await page.GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Run queued");
        var succeeded = page.Locator("table.runs tbody tr").Filter(new() { HasText = "succeeded" });
        // The schedule worker polls every second; on a loaded machine the run may take a while.
        var deadline = DateTime.UtcNow.AddMilliseconds(Chromium.WaitMilliseconds);
        while (await succeeded.CountAsync() == 0 && DateTime.UtcNow < deadline)
        {
            await page.WaitForTimeoutAsync(500);
            await page.ReloadAsync();
        }
        await Assertions.Expect(succeeded.First).ToContainTextAsync("manual");

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("Paused");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("Active");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task APullScheduleKeepsTheHashingSpecVersionChosenInItsForm()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync("/syncs/new");
        // A new schedule assumes the current client's version.
        Assert.Equal("v2", await page.GetByLabel("Hashed under").InputValueAsync());
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Legacy export pull");
        await page.GetByLabel("Active (uncheck to pause)").UncheckAsync();
        await page.GetByLabel("Pull a snapshot into a population").CheckAsync();
        await page.GetByLabel("Population", new() { Exact = true }).SelectOptionAsync(world.AlphaProspects);
        await page.GetByLabel("URL of the hashed export").FillAsync("https://crm.alpha.example/prospects.ndjson");
        await page.GetByLabel("Hashed under").SelectOptionAsync("v1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Legacy export pull", Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("hashed under v1");

        var schedule = System.Text.Json.Nodes.JsonNode.Parse(await world.Alpha.Http.GetStringAsync("/v1/schedules"))!.AsArray()
            .Single(s => s!["name"]!.GetValue<string>() == "Legacy export pull")!;
        Assert.Equal("v1", schedule["pull"]!["hashingSpec"]!.GetValue<string>());
        // Editing shows the stored version, not the default.
        await page.GotoAsync($"/syncs/{schedule["id"]!.GetValue<string>()}/edit");
        Assert.Equal("v1", await page.GetByLabel("Hashed under").InputValueAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnApiKeyIsShownOnceWorksAtTheTokenEndpointAndStopsWhenRevoked()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync("/admin/api-keys");
        var name = "crm-export-" + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByLabel("populations:write").CheckAsync();
        await page.GetByLabel("overlaps:read").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = (await page.Locator("#api-key-secret").InnerTextAsync()).Trim();
        Assert.StartsWith("oek_", secret);

        using var http = world.App.CreateClient();
        async Task<HttpStatusCode> Exchange() => (await http.PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_secret"] = secret,
        }))).StatusCode;
        Assert.Equal(HttpStatusCode.OK, await Exchange());

        // Shown once: the next load of the page has the key's name, never its secret.
        await page.GotoAsync("/admin/api-keys");
        Assert.DoesNotContain(secret, await page.ContentAsync());
        Assert.DoesNotContain(secret.Split('.')[1], await page.ContentAsync());
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke " + name }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, await Exchange());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AViewerSeesNoAdminPageAndCannotPostTheirForms()
    {
        var viewer = await world.MemberAsync(world.Alpha, "viewer");
        var page = await world.SignInAsync(viewer);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Admin" })).ToHaveCountAsync(0);
        var response = await page.GotoAsync("/admin/api-keys");
        Assert.Contains("/forbidden", page.Url);
        Assert.Equal(403, response!.Status);
        // The invite form is not offered, and a forged POST is refused by the same policy as the API.
        await page.GotoAsync("/");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send invitation" })).ToHaveCountAsync(0);
        var token = await page.EvaluateAsync<string>("() => document.querySelector('input[name=__RequestVerificationToken]').value");
        var post = await page.APIRequest.PostAsync("/?handler=Invite", new() { Form = page.APIRequest.CreateFormData().Set("partnerSlug", "gamma").Set("__RequestVerificationToken", token) });
        Assert.Equal(403, post.Status);
        Assert.DoesNotContain("gamma", await world.Alpha.Http.GetStringAsync("/v1/partnerships"));

        // Forged POSTs to pages that show a loaded model (a schedule, the partnership's sharing and requests) are a 403 page
        // too, not a failure to draw it.
        var created = await world.Alpha.Http.PostAsJsonAsync("/v1/schedules", new { name = "Viewer probe " + Guid.NewGuid().ToString("N")[..6], cron = "0 4 * * *", timeZone = "UTC", action = "refresh" });
        await EscrowClient.Expect(created, HttpStatusCode.Created);
        var schedule = (await EscrowClient.Json(created))["id"]!.GetValue<string>();
        foreach (var (path, handler) in new[] { ($"/syncs/{schedule}", "Run"), ($"/syncs/{schedule}", "Pause"), ($"/partnerships/{world.Partnership}/sharing", "Save"), ($"/partnerships/{world.Partnership}/requests", "Ask") })
        {
            var forged = await page.APIRequest.PostAsync($"{path}?handler={handler}", new() { Form = page.APIRequest.CreateFormData().Set("__RequestVerificationToken", token) });
            Assert.True(forged.Status == 403, $"{path}?handler={handler}: {forged.Status}");
        }
        Assert.Empty(System.Text.Json.Nodes.JsonNode.Parse(await world.Alpha.Http.GetStringAsync($"/v1/schedules/{schedule}/runs"))!["items"]!.AsArray());
        await page.Context.CloseAsync();
    }
}
