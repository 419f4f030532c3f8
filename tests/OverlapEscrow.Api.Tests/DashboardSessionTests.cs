using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The dashboard's cookie session ends after the idle time without a request and after the absolute time however
/// active it is (Escrow:Dashboard:SessionIdleMinutes, SessionMaxHours), on the service's clock.
/// </summary>
public sealed partial class DashboardSessionTests : IDisposable
{
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.Parse("2027-01-04T09:00:00Z"));
    private readonly EscrowApp _app;

    public DashboardSessionTests() => _app = new EscrowApp(new Dictionary<string, string?>
    {
        // The test client speaks plain HTTP to "localhost", where a Secure cookie is not sent back.
        ["Escrow:Dashboard:SecureCookies"] = "false",
        ["Escrow:Dashboard:SessionIdleMinutes"] = "30",
        ["Escrow:Dashboard:SessionMaxHours"] = "12",
        ["Escrow:Schedules:PollSeconds"] = "0",
        ["Escrow:RateLimits:SignupPerAddress:PermitLimit"] = "1000",
        ["Escrow:RateLimits:LoginPerAddress:PermitLimit"] = "1000",
    }, time: _clock);

    public void Dispose() => _app.Dispose();

    private string? _lastCookies;

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    /// <summary>Signs in through the page's form; the client keeps the session cookie.</summary>
    private async Task<HttpClient> SignInAsync(string slug) => (await SignUpAndInAsync(slug)).Browser;

    /// <summary>Signs an organization up, then its admin in through the page's form.</summary>
    private async Task<(HttpClient Browser, Org Org)> SignUpAndInAsync(string slug)
    {
        var org = await _app.SignupAsync(slug);
        var browser = _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var form = await (await browser.GetAsync("/signin")).Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(form);
        Assert.True(token.Success, "the sign-in form carries no antiforgery token");
        var signedIn = await browser.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = $"admin@{slug}.example", ["password"] = Password, ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        _lastCookies = string.Join("; ", signedIn.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/")).StatusCode);
        return (browser, org);
    }

    private static async Task<bool> SignedInAsync(HttpClient browser)
    {
        var home = await browser.GetAsync("/");
        if (home.StatusCode == HttpStatusCode.OK) return true;
        Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
        Assert.StartsWith("/signin", home.Headers.Location!.OriginalString.Replace("http://localhost", ""));
        return false;
    }

    [Fact]
    public async Task TheVeryNextPageAfterSigningInIsSignedInWhileReadsUploadsAndAuditWritesRunAlongside()
    {
        // The dashboard's sign-in starts a session on one connection and redirects; the next page's session check runs on a
        // connection kept open for reads, which matrix reads, API key checks and the audit writer used a moment before.
        var alpha = await _app.SignupAsync("load-a");
        var beta = await _app.SignupAsync("load-b");
        var mine = await alpha.CreatePopulationAsync("Customers");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, PartnerData.Ndjson("alpha", "customers"));
        await beta.UploadOkAsync(theirs, PartnerData.Ndjson("beta", "customers"));
        await alpha.ShareAsync(mine, "overlaps", "accountName");
        await beta.ShareAsync(theirs, "overlaps", "accountName");
        var partnership = await alpha.PartnerAsync(beta);
        using var stop = new CancellationTokenSource();
        async Task Loop(Func<Task> work)
        {
            while (!stop.IsCancellationRequested) await work();
        }
        var others = new[]
        {
            Task.Run(() => Loop(async () => await alpha.MatrixAsync(partnership))),
            Task.Run(() => Loop(async () => await beta.MatrixAsync(partnership))),
            Task.Run(() => Loop(async () => await alpha.UploadOkAsync(mine, PartnerData.Ndjson("alpha", "customers")))),
        };
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var browser = await SignInAsync($"next-{i}");
                Assert.True(await SignedInAsync(browser), $"sign-in {i}: the next page was signed out");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(others);
        }
    }

    [Fact]
    public async Task APageAnswersOnlyGetHeadAndItsFormsOtherMethodsAre405()
    {
        var browser = await SignInAsync("methods");
        var org = await _app.SignupAsync("methods-data");
        var population = await org.CreatePopulationAsync("Customers");
        // TRACE rendered a detail page without its handler (a 500 on a model that assumes one ran); OPTIONS an empty 200.
        foreach (var method in new[] { "TRACE", "OPTIONS", "PATCH" })
            foreach (var path in new[] { "/", "/populations", $"/populations/{population}", "/signin" })
            {
                var response = await browser.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
                Assert.True(response.StatusCode == HttpStatusCode.MethodNotAllowed, $"{method} {path}: {(int)response.StatusCode}");
            }
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/populations"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/populations")).StatusCode);
    }

    [Fact]
    public async Task RefusedInvitationFormsAnswerWithTheStatusOfTheirRefusal()
    {
        var browser = await SignInAsync("inviter");
        var invitee = await _app.SignupAsync("invitee");
        async Task<HttpResponseMessage> PostAsync(string handler, Dictionary<string, string> fields)
        {
            var token = AntiforgeryToken().Match(await (await browser.GetAsync("/")).Content.ReadAsStringAsync());
            Assert.True(token.Success, "the page carries no antiforgery token");
            fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value);
            return await browser.PostAsync("/?handler=" + handler, new FormUrlEncodedContent(fields));
        }

        Assert.Equal(HttpStatusCode.OK, (await PostAsync("Invite", new() { ["partnerSlug"] = "invitee" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync("Invite", new() { ["partnerSlug"] = "invitee" })).StatusCode);
        var partnership = System.Text.Json.Nodes.JsonNode.Parse(await invitee.Http.GetStringAsync("/v1/partnerships"))!.AsArray().Single()!["id"]!.GetValue<string>();
        // The inviter answering its own invitation: refused with the API's status, 409 (it answered 200 with the alert).
        var own = await PostAsync("Answer", new() { ["partnershipId"] = partnership, ["accept"] = "true" });
        Assert.Equal(HttpStatusCode.Conflict, own.StatusCode);
        Assert.Contains("Only the invited organization answers an invitation.", WebUtility.HtmlDecode(await own.Content.ReadAsStringAsync()));
        Assert.Equal("invited", (await Json(await invitee.Http.GetAsync($"/v1/partnerships/{partnership}")))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task APartnershipWhosePartnerDeletedItselfNamesADeletedOrganizationNotABlank()
    {
        var (browser, survivor) = await SignUpAndInAsync("survivor");
        var leaving = await _app.SignupAsync("leaving");
        var partnership = await survivor.PartnerAsync(leaving);
        await Expect(await leaving.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "leaving" }), HttpStatusCode.OK);

        var home = WebUtility.HtmlDecode(await browser.GetStringAsync("/"));
        Assert.Contains("a deleted organization: ended", home);
        Assert.DoesNotContain("( )", home);
        Assert.Contains("Partnership with a deleted organization ended", WebUtility.HtmlDecode(await browser.GetStringAsync($"/partnerships/{partnership}/end")));
    }

    [Fact]
    public async Task TheNewSincePageIsAuditedAsTheDashboardsPageNotAsTheApi()
    {
        var (browser, reader) = await SignUpAndInAsync("reader");
        var owner = await _app.SignupAsync("owner");
        var mine = await reader.CreatePopulationAsync("Customers");
        var theirs = await owner.CreatePopulationAsync("Customers");
        await reader.UploadOkAsync(mine, Records.Range("N", 0, 20));
        await owner.UploadOkAsync(theirs, Records.Range("N", 5, 20));
        await owner.ShareAsync(theirs, "overlaps");
        var partnership = await reader.PartnerAsync(owner);

        var page = await browser.GetAsync($"/partnerships/{partnership}/cells/{mine}/{theirs}/new?since=2020-01-01T00:00");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        await Expect(await reader.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}/new?since=2020-01-01T00:00:00Z"), HttpStatusCode.OK);

        var formats = (await Json(await reader.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray()
            .Where(e => e!["action"]!.GetValue<string>() == "overlaps.released" && e["detail"]?["since"] is not null)
            .Select(e => e!["detail"]!["format"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["html", "json"], formats);
    }

    [Fact]
    public async Task ASessionEndsAfterThirtyIdleMinutesButNotWhileInUse()
    {
        var browser = await SignInAsync("idle");
        // Requests every 20 minutes keep it alive past the idle time…
        for (var i = 0; i < 4; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(20));
            Assert.True(await SignedInAsync(browser), $"signed out after {20 * (i + 1)} active minutes");
        }
        // …31 minutes without one end it.
        _clock.Advance(TimeSpan.FromMinutes(31));
        Assert.False(await SignedInAsync(browser));
    }

    [Fact]
    public async Task ASessionEndsTwelveHoursAfterSignInHoweverActive()
    {
        var browser = await SignInAsync("absolute");
        for (var minutes = 0; minutes < 11 * 60 + 40; minutes += 20)
        {
            _clock.Advance(TimeSpan.FromMinutes(20));
            Assert.True(await SignedInAsync(browser), $"signed out after {minutes + 20} active minutes");
        }
        _clock.Advance(TimeSpan.FromMinutes(21)); // 12 h 1 min after sign-in, 21 min after the last request
        Assert.False(await SignedInAsync(browser));
    }

    [Fact]
    public async Task SigningOutEndsTheSessionOnTheServerSoAKeptCopyOfTheCookieIsRefused()
    {
        var browser = await SignInAsync("signout");
        var kept = CopyOf(browser);
        Assert.True(await SignedInAsync(kept));

        var form = await (await browser.GetAsync("/")).Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(form);
        Assert.True(token.Success, "the page carries no antiforgery token");
        var signedOut = await browser.PostAsync("/signout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);

        Assert.False(await SignedInAsync(browser));
        Assert.False(await SignedInAsync(kept));
    }

    [Fact]
    public async Task SigningOutEverywhereThroughTheApiEndsTheDashboardSessionToo()
    {
        var browser = await SignInAsync("everywhere");
        var api = _app.CreateClient();
        var login = await api.PostAsJsonAsync("/v1/auth/login", new { email = "admin@everywhere.example", password = Password });
        var member = _app.CreateClient();
        member.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());

        await Expect(await member.PostAsJsonAsync("/v1/auth/logout", new { everywhere = true }), HttpStatusCode.NoContent);

        Assert.False(await SignedInAsync(browser));
    }

    /// <summary>A second client that sends the same cookies (what a stolen or kept cookie would be).</summary>
    private HttpClient CopyOf(HttpClient _)
    {
        var copy = _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        var cookies = _lastCookies ?? throw new InvalidOperationException("no cookie captured at sign-in");
        copy.DefaultRequestHeaders.Add("Cookie", cookies);
        return copy;
    }
}
