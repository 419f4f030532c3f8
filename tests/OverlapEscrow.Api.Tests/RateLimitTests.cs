using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Login, signup, refresh and the token endpoint are rate limited per client address and per account, and a
/// refused request is 429 problem details with Retry-After that changed nothing.
/// </summary>
public sealed class RateLimitTests
{
    private const string AddressHeader = "X-Test-Client-Address";

    /// <summary>Plenty for everything but the limits under test, which each test sets small.</summary>
    private static EscrowApp App(Dictionary<string, string?> limits, TimeProvider? time = null, Dictionary<string, string?>? dashboard = null)
    {
        var settings = new Dictionary<string, string?>(dashboard ?? []);
        foreach (var name in new[] { "LoginPerEmail", "LoginPerAddress", "SignupPerAddress", "RefreshPerAddress", "TokenPerKey", "TokenPerAddress", "InvitationsPerOrganization" })
        {
            settings[$"Escrow:RateLimits:{name}:PermitLimit"] = "1000";
            settings[$"Escrow:RateLimits:{name}:WindowSeconds"] = "3600";
        }
        foreach (var (key, value) in limits) settings["Escrow:RateLimits:" + key] = value;
        // The test server has no client address; this lets a test choose one per request.
        return new EscrowApp(settings, time: time) { TestServices = s => s.AddSingleton<IStartupFilter>(new ClientAddressFromHeader()) };
    }

    private static HttpRequestMessage From(string address, HttpMethod method, string path, object body) =>
        new(method, path) { Content = JsonContent.Create(body), Headers = { { AddressHeader, address } } };

    private static Task<HttpResponseMessage> LoginAsync(EscrowApp app, string address, string email, string password = "wrong password, surely") =>
        app.CreateClient().SendAsync(From(address, HttpMethod.Post, "/v1/auth/login", new { email, password }));

    private static async Task<int> ExpectTooManyAsync(HttpResponseMessage response, int maxRetryAfter)
    {
        var problem = await ExpectProblem(response, HttpStatusCode.TooManyRequests);
        Assert.Equal("urn:overlap-escrow:problem:rate-limited", problem["type"]!.GetValue<string>());
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        var seconds = (int)retryAfter.Value.TotalSeconds;
        Assert.InRange(seconds, 1, maxRetryAfter);
        return seconds;
    }

    [Fact]
    public async Task TheLoginAfterTheLimitForOneEmailIs429FromWhateverAddressItComes()
    {
        using var app = App(new() { ["LoginPerEmail:PermitLimit"] = "3", ["LoginPerEmail:WindowSeconds"] = "600" });
        await app.SignupAsync("guessed");
        for (var i = 1; i <= 3; i++)
            await ExpectProblem(await LoginAsync(app, $"203.0.113.{i}", "admin@guessed.example"), HttpStatusCode.Unauthorized);

        // The right password does not help once the email's attempts are used up, nor does another spelling of it.
        var seconds = await ExpectTooManyAsync(await LoginAsync(app, "203.0.113.4", "admin@guessed.example", Password), 600);
        Assert.Equal(200, seconds); // the next attempt comes back after window / limit
        await ExpectTooManyAsync(await LoginAsync(app, "203.0.113.5", " Admin@GUESSED.example ", Password), 600);
        // Other emails are not affected.
        await ExpectProblem(await LoginAsync(app, "203.0.113.4", "someone-else@guessed.example"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TheLoginAfterTheLimitFromOneAddressIs429WhateverEmailItNames()
    {
        using var app = App(new() { ["LoginPerAddress:PermitLimit"] = "3", ["LoginPerAddress:WindowSeconds"] = "60" });
        await app.SignupAsync("sprayed");
        for (var i = 1; i <= 3; i++)
            await ExpectProblem(await LoginAsync(app, "198.51.100.7", $"user{i}@sprayed.example"), HttpStatusCode.Unauthorized);

        await ExpectTooManyAsync(await LoginAsync(app, "198.51.100.7", "admin@sprayed.example", Password), 60);
        // An IPv6 client is counted by its /64, which one host usually holds whole.
        for (var i = 1; i <= 3; i++)
            await ExpectProblem(await LoginAsync(app, $"2001:db8:1:2::{i}", $"user{i}@sprayed.example"), HttpStatusCode.Unauthorized);
        await ExpectTooManyAsync(await LoginAsync(app, "2001:db8:1:2:ffff::9", "admin@sprayed.example", Password), 60);
        // Another address logs in.
        await Expect(await LoginAsync(app, "198.51.100.8", "admin@sprayed.example", Password), HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheDashboardsSignInDrawsOnTheSameBucketPerAddressAsTheApisLogin()
    {
        // A password sprayer alternating the two doors gets one budget, not one each (the sign-in page had no limit per address).
        using var app = App(new() { ["LoginPerAddress:PermitLimit"] = "3", ["LoginPerAddress:WindowSeconds"] = "60" },
            dashboard: new() { ["Escrow:Dashboard:SecureCookies"] = "false" }); // plain HTTP to "localhost": a Secure cookie is not sent back
        await app.SignupAsync("doors");
        var browser = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        async Task<HttpResponseMessage> SignInPageAsync(string address, string email, string password)
        {
            var form = await (await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/signin") { Headers = { { AddressHeader, "192.0.2.200" } } })).Content.ReadAsStringAsync();
            var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"");
            Assert.True(token.Success, "the sign-in form carries no antiforgery token");
            return await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/signin")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["email"] = email, ["password"] = password, ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
                }),
                Headers = { { AddressHeader, address } },
            });
        }

        await ExpectProblem(await LoginAsync(app, "198.51.100.20", "user1@doors.example"), HttpStatusCode.Unauthorized);
        var second = await SignInPageAsync("198.51.100.20", "user2@doors.example", "wrong password, surely");
        Assert.True(second.StatusCode == HttpStatusCode.Unauthorized, await second.Content.ReadAsStringAsync());
        await ExpectProblem(await LoginAsync(app, "198.51.100.20", "user3@doors.example"), HttpStatusCode.Unauthorized);

        var refused = await SignInPageAsync("198.51.100.20", "admin@doors.example", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("Too many sign-in attempts from this address", await refused.Content.ReadAsStringAsync());
        Assert.NotNull(refused.Headers.RetryAfter);
        await ExpectTooManyAsync(await LoginAsync(app, "198.51.100.20", "admin@doors.example", Password), 60);
        // Another address signs in on the page.
        Assert.Equal(HttpStatusCode.Redirect, (await SignInPageAsync("198.51.100.21", "admin@doors.example", Password)).StatusCode);
    }

    [Fact]
    public async Task AnOrganizationSendsOnlySoManyInvitationsAndARefusedOneCreatesNothing()
    {
        // Invite-and-withdraw in a loop flooded another organization's partnership list, audit log and webhooks.
        using var app = App(new() { ["InvitationsPerOrganization:PermitLimit"] = "3", ["InvitationsPerOrganization:WindowSeconds"] = "3600" });
        var spammer = await app.SignupAsync("spammer");
        var target = await app.SignupAsync("target");
        var bystander = await app.SignupAsync("bystander");
        for (var i = 0; i < 2; i++)
        {
            var invite = await spammer.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "target" });
            await Expect(invite, HttpStatusCode.Created);
            await Expect(await spammer.Http.PostAsync($"/v1/partnerships/{(await Json(invite))["id"]!.GetValue<string>()}/terminate", null), HttpStatusCode.OK);
        }
        // An attempt at a slug that does not exist counts too (it would otherwise probe slugs for free).
        await ExpectProblem(await spammer.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "no-such-slug" }), HttpStatusCode.BadRequest);

        await ExpectTooManyAsync(await spammer.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "target" }), 3600);
        Assert.Equal(2, JsonNode.Parse(await target.Http.GetStringAsync("/v1/partnerships"))!.AsArray().Count);
        // Other organizations invite as before.
        await Expect(await bystander.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "target" }), HttpStatusCode.Created);
    }

    [Fact]
    public async Task ARefusedSignupCreatesNoOrganization()
    {
        using var app = App(new() { ["SignupPerAddress:PermitLimit"] = "1", ["SignupPerAddress:WindowSeconds"] = "3600" });
        var http = app.CreateClient();
        object Signup(string slug) => new { organizationName = slug, organizationSlug = slug, email = $"admin@{slug}.example", password = Password };
        await Expect(await http.SendAsync(From("192.0.2.1", HttpMethod.Post, "/v1/signup", Signup("first"))), HttpStatusCode.Created);

        await ExpectTooManyAsync(await http.SendAsync(From("192.0.2.1", HttpMethod.Post, "/v1/signup", Signup("second"))), 3600);

        using var db = app.OpenDatabase();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM organizations WHERE slug = 'second'";
        Assert.Equal(0L, command.ExecuteScalar());
        await Expect(await http.SendAsync(From("192.0.2.2", HttpMethod.Post, "/v1/signup", Signup("second"))), HttpStatusCode.Created);
    }

    [Fact]
    public async Task ARefusedRefreshDoesNotUseUpTheRefreshToken()
    {
        using var app = App(new() { ["RefreshPerAddress:PermitLimit"] = "2", ["RefreshPerAddress:WindowSeconds"] = "600" });
        var org = await app.SignupAsync("refresher");
        var http = app.CreateClient();
        for (var i = 0; i < 2; i++)
            await ExpectProblem(await http.SendAsync(From("192.0.2.9", HttpMethod.Post, "/v1/auth/refresh", new { refreshToken = "guess" + i })), HttpStatusCode.Unauthorized);

        await ExpectTooManyAsync(await http.SendAsync(From("192.0.2.9", HttpMethod.Post, "/v1/auth/refresh", new { refreshToken = org.RefreshToken })), 600);

        await Expect(await http.SendAsync(From("192.0.2.10", HttpMethod.Post, "/v1/auth/refresh", new { refreshToken = org.RefreshToken })), HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheTokenEndpointIsLimitedPerKeyAndPerAddressAndARefusalLeavesTheKeyUntouched()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero));
        using var app = App(new()
        {
            ["TokenPerKey:PermitLimit"] = "2", ["TokenPerKey:WindowSeconds"] = "600",
            ["TokenPerAddress:PermitLimit"] = "3", ["TokenPerAddress:WindowSeconds"] = "60",
        }, clock);
        var org = await app.SignupAsync("machines");
        async Task<string> KeyAsync()
        {
            var created = await org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "job", scopes = new[] { "overlaps:read" } });
            await Expect(created, HttpStatusCode.Created);
            return (await Json(created))["secret"]!.GetValue<string>();
        }
        Task<HttpResponseMessage> TokenAsync(string address, string secret) => app.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/auth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_secret"] = secret }),
            Headers = { { AddressHeader, address } },
        });
        async Task<string?> LastUsedAsync(string secret)
        {
            var keys = await org.Http.GetFromJsonAsync<JsonArray>("/v1/api-keys");
            var id = secret["oek_".Length..secret.IndexOf('.')];
            return keys!.Single(k => k!["id"]!.GetValue<string>() == id)!["lastUsedAt"]?.GetValue<string>();
        }

        var key = await KeyAsync();
        await Expect(await TokenAsync("192.0.2.21", key), HttpStatusCode.OK);
        await Expect(await TokenAsync("192.0.2.22", key), HttpStatusCode.OK);
        var used = await LastUsedAsync(key);
        Assert.NotNull(used);
        clock.Advance(TimeSpan.FromMinutes(1));

        await ExpectTooManyAsync(await TokenAsync("192.0.2.23", key), 600);
        Assert.Equal(used, await LastUsedAsync(key));

        var others = new[] { await KeyAsync(), await KeyAsync(), await KeyAsync(), await KeyAsync() };
        for (var i = 0; i < 3; i++) await Expect(await TokenAsync("192.0.2.30", others[i]), HttpStatusCode.OK);
        await ExpectTooManyAsync(await TokenAsync("192.0.2.30", others[3]), 60);
    }

    /// <summary>The limiters time themselves with the system clock (System.Threading.RateLimiting takes no
    /// TimeProvider), so the reset is shown with a one-second window in real time.</summary>
    [Fact]
    public async Task AnAttemptComesBackWhenItsShareOfTheWindowHasPassed()
    {
        // A window long enough that the second attempt falls in it even on a loaded machine (a login hashes a password).
        using var app = App(new() { ["LoginPerEmail:PermitLimit"] = "1", ["LoginPerEmail:WindowSeconds"] = "4" });
        await ExpectProblem(await LoginAsync(app, "203.0.113.50", "nobody@reset.example"), HttpStatusCode.Unauthorized);
        Assert.InRange(await ExpectTooManyAsync(await LoginAsync(app, "203.0.113.50", "nobody@reset.example"), 4), 1, 4);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        HttpResponseMessage again;
        do
        {
            await Task.Delay(250);
            again = await LoginAsync(app, "203.0.113.50", "nobody@reset.example");
        } while (again.StatusCode == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline);
        await ExpectProblem(again, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public void AnImpossibleLimitStopsTheServiceAtStartUp()
    {
        using var app = App(new() { ["TokenPerKey:PermitLimit"] = "0" });
        var failure = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        var validation = Assert.IsType<OptionsValidationException>(failure is AggregateException a ? a.InnerException : failure);
        Assert.Contains("Escrow:RateLimits:TokenPerKey", validation.Message);
    }

    private sealed class ClientAddressFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (IPAddress.TryParse(http.Request.Headers[AddressHeader].ToString(), out var address)) http.Connection.RemoteIpAddress = address;
                return nextMiddleware(http);
            });
            next(app);
        };
    }
}
