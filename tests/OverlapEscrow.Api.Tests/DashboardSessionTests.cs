using System.Net;
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
    }, time: _clock);

    public void Dispose() => _app.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();

    /// <summary>Signs in through the page's form; the client keeps the session cookie.</summary>
    private async Task<HttpClient> SignInAsync(string slug)
    {
        await _app.SignupAsync(slug);
        var browser = _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var form = await (await browser.GetAsync("/signin")).Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(form);
        Assert.True(token.Success, "the sign-in form carries no antiforgery token");
        var signedIn = await browser.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = $"admin@{slug}.example", ["password"] = Password, ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/")).StatusCode);
        return browser;
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
}
