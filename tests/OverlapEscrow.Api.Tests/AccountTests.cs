using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>Sign-up, passwords, tokens, roles and API keys.</summary>
public sealed class AccountTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<string> TokenForKeyAsync(string secret, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await _app.CreateClient().PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_secret"] = secret,
        }));
        if (expected != HttpStatusCode.OK)
        {
            Assert.Equal("invalid_client", await ExpectOAuthError(response, expected));
            return "";
        }
        await Expect(response, HttpStatusCode.OK);
        var body = await Json(response);
        Assert.Equal("Bearer", body["token_type"]!.GetValue<string>());
        return body["access_token"]!.GetValue<string>();
    }

    private async Task<(string Id, string Secret)> CreateKeyAsync(Org org, params string[] scopes)
    {
        var response = await org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "pipeline", scopes });
        await Expect(response, HttpStatusCode.Created);
        var body = await Json(response);
        return (body["key"]!["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private HttpClient Bearer(string token)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task SignupValidatesEveryFieldAndRefusesTakenSlugs()
    {
        var http = _app.CreateClient();
        var problem = await ExpectProblem(await http.PostAsJsonAsync("/v1/signup", new { organizationName = "", organizationSlug = "Not A Slug", email = "nope", password = "short" }), HttpStatusCode.BadRequest);
        foreach (var field in new[] { "organizationName", "organizationSlug", "email", "password" })
            Assert.NotNull(problem["errors"]![field]);
        await _app.SignupAsync("taken");
        await ExpectProblem(await http.PostAsJsonAsync("/v1/signup", new { organizationName = "X", organizationSlug = "taken", email = "other@x.example", password = Password }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task NamesAndEmailsOthersReadRefuseInvisibleFormattingCharactersAndKeepJoiners()
    {
        var http = _app.CreateClient();
        // A right-to-left override (reorders what follows on screen) in a name partners read, and a zero-width space
        // making a second address look like the first: each a 400 naming its field, and nothing created.
        var reversed = await ExpectProblem(await http.PostAsJsonAsync("/v1/signup",
            new { organizationName = "Acme \u202Etseb", organizationSlug = "spoofed", email = "admin@spoofed.example", password = Password }), HttpStatusCode.BadRequest);
        Assert.Equal(["organizationName"], reversed["errors"]!.AsObject().Select(e => e.Key));
        var hidden = await ExpectProblem(await http.PostAsJsonAsync("/v1/signup",
            new { organizationName = "Spoofed", organizationSlug = "spoofed", email = "admin@spoofed.example\u200B", password = Password }), HttpStatusCode.BadRequest);
        Assert.Equal(["email"], hidden["errors"]!.AsObject().Select(e => e.Key));
        await Expect(await http.PostAsJsonAsync("/v1/auth/login", new { email = "admin@spoofed.example", password = Password }), HttpStatusCode.Unauthorized);

        var org = await _app.SignupAsync("plain-text");
        var member = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/members",
            new { email = "admin@plain-text.example\u200B", password = Password, role = "admin" }), HttpStatusCode.BadRequest);
        Assert.NotNull(member["errors"]!["email"]);
        var display = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/members",
            new { email = "second@plain-text.example", password = Password, role = "viewer", displayName = "Ann\u2066 (admin)" }), HttpStatusCode.BadRequest);
        Assert.NotNull(display["errors"]!["displayName"]);
        var key = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "pipe\u00ADline", scopes = new[] { "populations:read" } }), HttpStatusCode.BadRequest);
        Assert.NotNull(key["errors"]!["name"]);
        var population = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/populations", new { name = "Customers\U000E0041", type = "customers" }), HttpStatusCode.BadRequest);
        Assert.NotNull(population["errors"]!["name"]);
        Assert.DoesNotContain("second@", await (await org.Http.GetAsync("/v1/members")).Content.ReadAsStringAsync());

        // The joiners scripts and emoji need are kept: a Persian name with a zero-width non-joiner, an emoji sequence.
        await Expect(await org.Http.PostAsJsonAsync("/v1/populations", new { name = "می\u200Cخواهم", type = "customers" }), HttpStatusCode.Created);
        await Expect(await org.Http.PostAsJsonAsync("/v1/populations", new { name = "Family \U0001F468\u200D\U0001F469\u200D\U0001F467", type = "prospects" }), HttpStatusCode.Created);
    }

    [Fact]
    public async Task MalformedJsonGetsAProblemNamingTheField()
    {
        var http = _app.CreateClient();
        var response = await http.PostAsync("/v1/signup", new StringContent("""{"organizationName": 12""", System.Text.Encoding.UTF8, "application/json"));
        var problem = await ExpectProblem(response, HttpStatusCode.BadRequest);
        Assert.DoesNotContain("   at ", problem.ToJsonString());
        var typed = await http.PostAsync("/v1/signup", new StringContent("""{"organizationName": {"a":1}}""", System.Text.Encoding.UTF8, "application/json"));
        var typedProblem = await ExpectProblem(typed, HttpStatusCode.BadRequest);
        Assert.NotNull(typedProblem["errors"]!["$.organizationName"]);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task LoginRefreshAndTheRefreshTokenIsSingleUse()
    {
        var org = await _app.SignupAsync("acme");
        var http = _app.CreateClient();
        await ExpectProblem(await http.PostAsJsonAsync("/v1/auth/login", new { email = "admin@acme.example", password = "wrong password!!" }), HttpStatusCode.Unauthorized);
        await ExpectProblem(await http.PostAsJsonAsync("/v1/auth/login", new { email = "nobody@acme.example", password = Password }), HttpStatusCode.Unauthorized);
        await Expect(await http.PostAsJsonAsync("/v1/auth/login", new { email = "admin@acme.example", password = Password }), HttpStatusCode.OK);

        var refreshed = await http.PostAsJsonAsync("/v1/auth/refresh", new { refreshToken = org.RefreshToken });
        await Expect(refreshed, HttpStatusCode.OK);
        var token = (await Json(refreshed))["accessToken"]!.GetValue<string>();
        await Expect(await Bearer(token).GetAsync("/v1/me"), HttpStatusCode.OK);
        await ExpectProblem(await http.PostAsJsonAsync("/v1/auth/refresh", new { refreshToken = org.RefreshToken }), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task RequestsWithoutAValidTokenAreRefused()
    {
        var anonymous = _app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/populations")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer("not.a.jwt").GetAsync("/v1/populations")).StatusCode);
        // A token signed by another escrow (another signing key) is not accepted.
        using var other = new EscrowApp();
        var stranger = await other.SignupAsync("stranger");
        var foreignToken = stranger.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(foreignToken).GetAsync("/v1/populations")).StatusCode);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task RolesLimitWhatMembersMayDo()
    {
        var org = await _app.SignupAsync("roles");
        await _app.SignupAsync("someone");
        var viewer = await _app.MemberAsync(org, "viewer");
        var salesOps = await _app.MemberAsync(org, "sales_ops");
        var manager = await _app.MemberAsync(org, "partner_manager");

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/v1/populations", new { name = "X", type = "customers" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/v1/populations")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await salesOps.PostAsJsonAsync("/v1/populations", new { name = "Y", type = "customers" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await salesOps.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "someone" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await manager.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "someone" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.GetAsync("/v1/api-keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await manager.PostAsJsonAsync("/v1/members", new { email = "x@roles.example", password = Password, role = "admin" })).StatusCode);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ApiKeysGetScopedTokensAndStopWorkingTheMomentTheyAreRevoked()
    {
        var org = await _app.SignupAsync("machines");
        var population = await org.CreatePopulationAsync("Customers");
        var (keyId, secret) = await CreateKeyAsync(org, "populations:write");
        Assert.StartsWith("oek_", secret);

        var listed = await (await org.Http.GetAsync("/v1/api-keys")).Content.ReadAsStringAsync();
        Assert.Contains(keyId, listed);
        Assert.DoesNotContain(secret, listed);

        var uploader = Bearer(await TokenForKeyAsync(secret));
        await Expect(await uploader.UploadAsync(population, Records.Range("K", 0, 3)), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Forbidden, (await uploader.GetAsync("/v1/partnerships")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await uploader.GetAsync("/v1/api-keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await uploader.PutAsJsonAsync($"/v1/populations/{population}/sharing", new { level = "overlaps" })).StatusCode);

        var (_, readerSecret) = await CreateKeyAsync(org, "overlaps:read");
        var reader = Bearer(await TokenForKeyAsync(readerSecret));
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.UploadAsync(population, Records.Range("K", 0, 3))).StatusCode);

        await Expect(await org.Http.DeleteAsync($"/v1/api-keys/{keyId}"), HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Unauthorized, (await uploader.UploadAsync(population, Records.Range("K", 0, 3))).StatusCode);
        await TokenForKeyAsync(secret, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task TheTokenEndpointFollowsOAuthAndRejectsForgedKeys()
    {
        var org = await _app.SignupAsync("oauth");
        var (keyId, secret) = await CreateKeyAsync(org, "overlaps:read");
        var http = _app.CreateClient();
        var wrongGrant = await http.PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "password", ["client_secret"] = secret }));
        Assert.Equal("unsupported_grant_type", await ExpectOAuthError(wrongGrant, HttpStatusCode.BadRequest));
        await TokenForKeyAsync(secret[..^2] + (secret[^2..] == "AA" ? "BB" : "AA"), HttpStatusCode.Unauthorized);
        await TokenForKeyAsync("oek_" + keyId + ".guess", HttpStatusCode.Unauthorized);
        await TokenForKeyAsync("garbage", HttpStatusCode.Unauthorized);
        var mismatched = await http.PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_secret"] = secret, ["client_id"] = "key_other",
        }));
        Assert.Equal("invalid_client", await ExpectOAuthError(mismatched, HttpStatusCode.Unauthorized));
    }

    /// <summary>An RFC 6749 §5.2 error of the token endpoint; returns its error code.</summary>
    private static async Task<string> ExpectOAuthError(HttpResponseMessage response, HttpStatusCode status)
    {
        await Expect(response, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await Json(response);
        Assert.False(string.IsNullOrEmpty(body["error_description"]?.GetValue<string>()));
        return body["error"]!.GetValue<string>();
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AnOrganizationCannotTouchAnotherOrganizationsKeysOrMembers()
    {
        var a = await _app.SignupAsync("tenant-a");
        var b = await _app.SignupAsync("tenant-b");
        var (keyOfA, secretOfA) = await CreateKeyAsync(a, "overlaps:read");
        await ExpectProblem(await b.Http.DeleteAsync($"/v1/api-keys/{keyOfA}"), HttpStatusCode.NotFound);
        await TokenForKeyAsync(secretOfA);
        Assert.DoesNotContain(keyOfA, await (await b.Http.GetAsync("/v1/api-keys")).Content.ReadAsStringAsync());
        Assert.DoesNotContain("tenant-a", await (await b.Http.GetAsync("/v1/members")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ARoleChangeOrRemovalIsNotOutlivedByAnOldToken()
    {
        var org = await _app.SignupAsync("revoker");
        var viewer = await _app.MemberAsync(org, "viewer");
        await Expect(await viewer.GetAsync("/v1/populations"), HttpStatusCode.OK);
        using (var db = _app.OpenDatabase())
        {
            using var command = db.CreateCommand();
            command.CommandText = "DELETE FROM members WHERE role = 'viewer'";
            command.ExecuteNonQuery();
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await viewer.GetAsync("/v1/populations")).StatusCode);
    }

    [Fact]
    public async Task TheAttributionLedgerIsOverlapDataAKeyWithoutOverlapsReadCannotReadOrProbe()
    {
        var org = await _app.SignupAsync("ledger-scopes");
        var (_, partnershipsOnly) = await CreateKeyAsync(org, "partnerships:read", "partnerships:write");
        var (_, overlaps) = await CreateKeyAsync(org, "overlaps:read");
        var narrow = Bearer(await TokenForKeyAsync(partnershipsOnly));
        var wide = Bearer(await TokenForKeyAsync(overlaps));

        foreach (var path in new[] { "/v1/attributions", "/v1/attributions/export", "/v1/attributions/att_none" })
            Assert.Equal(HttpStatusCode.Forbidden, (await narrow.GetAsync(path)).StatusCode);
        // A claim's 201 or 409 would say whether an account had evidence: probing it needs overlaps:read too.
        var claim = new { populationId = "pop_x", opportunityId = "O-1", partnershipId = "prt_x", role = "sourced" };
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.PostAsJsonAsync("/v1/attributions", claim)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await wide.GetAsync("/v1/attributions")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await wide.PostAsJsonAsync("/v1/attributions", claim)).StatusCode);
    }
}
