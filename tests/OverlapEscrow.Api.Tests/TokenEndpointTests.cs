using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The OAuth 2.0 token endpoint (client credentials, RFC 6749 §4.4) as off-the-shelf client libraries call it. The
/// requests are written out byte for byte as those libraries send them, over a real socket.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class TokenEndpointTests : IAsyncLifetime, IDisposable
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>(), kestrel: true);
    private Uri _server = null!;
    private Org _org = null!;
    private string _keyId = "";
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _server = _app.CreateClient().BaseAddress!;
        _org = await _app.SignupAsync("oauth-clients");
        var created = await _org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "pipeline", scopes = new[] { "populations:write", "overlaps:read" } });
        await Expect(created, HttpStatusCode.Created);
        var body = await Json(created);
        _keyId = body["key"]!["id"]!.GetValue<string>();
        _secret = body["secret"]!.GetValue<string>();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _app.Dispose();

    /// <summary>simple-oauth2's default ("strict") encoding: encodeURIComponent, then !'()* escaped and spaces as '+'.</summary>
    private static string SimpleOAuth2Encode(string value) => Uri.EscapeDataString(value).Replace("%20", "+");

    /// <summary>openid-client 6 (oauth4webapi): the form-urlencoding of RFC 6749 Appendix B, which also escapes -_.!~*'().</summary>
    private static string OpenIdClientEncode(string value) =>
        Uri.EscapeDataString(value).Replace("-", "%2D").Replace("_", "%5F").Replace(".", "%2E").Replace("~", "%7E").Replace("%20", "+");

    private static string Basic(string username, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));

    private Task<RawHttp.Response> SendAsync(string request) => RawHttp.SendAsync(_server, request);

    private async Task AssertTokenAsync(RawHttp.Response response, string expectedScope = "populations:write overlaps:read")
    {
        Assert.True(response.Status == 200, response.ToString());
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal("no-store", response.Header("Cache-Control"));
        Assert.Equal("no-cache", response.Header("Pragma"));
        var body = response.Json;
        Assert.Equal("Bearer", body["token_type"]!.GetValue<string>());
        Assert.True(body["expires_in"]!.GetValue<int>() > 0);
        Assert.Equal(expectedScope, body["scope"]!.GetValue<string>());
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["access_token"]!.GetValue<string>());
        var me = await http.GetAsync("/v1/me");
        await Expect(me, HttpStatusCode.OK);
        Assert.Equal(expectedScope.Split(' '), (await Json(me))["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
    }

    /// <summary>An RFC 6749 §5.2 error: application/json (not problem+json, which OAuth clients refuse) with error and error_description.</summary>
    private static void AssertOAuthError(RawHttp.Response response, int status, string error)
    {
        Assert.True(response.Status == status, response.ToString());
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal("no-store", response.Header("Cache-Control"));
        var body = response.Json;
        Assert.Equal(error, body["error"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(body["error_description"]?.GetValue<string>()));
        if (status == 401)
        {
            var challenge = response.Header("WWW-Authenticate");
            Assert.NotNull(challenge);
            Assert.StartsWith("Basic realm=", challenge);
        }
    }

    [Fact]
    public async Task SimpleOAuth2sDefaultRequestWithHttpBasicGetsAToken()
    {
        var response = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Accept: application/json
            Authorization: Basic {Basic(SimpleOAuth2Encode(_keyId), SimpleOAuth2Encode(_secret))}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials
            """);

        await AssertTokenAsync(response);
    }

    [Fact]
    public async Task OpenIdClientsClientSecretBasicWithEveryPunctuationCharacterEscapedGetsAToken()
    {
        Assert.Contains('_', _secret); // the key has characters that this encoding escapes and others do not
        var response = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            accept: application/json
            authorization: Basic {Basic(OpenIdClientEncode(_keyId), OpenIdClientEncode(_secret))}
            content-type: application/x-www-form-urlencoded;charset=UTF-8

            grant_type=client_credentials
            """);

        await AssertTokenAsync(response);
    }

    [Fact]
    public async Task OpenIdClientsClientSecretPostGetsAToken()
    {
        var response = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            accept: application/json
            content-type: application/x-www-form-urlencoded;charset=UTF-8

            grant_type=client_credentials&client_id={_keyId}&client_secret={_secret}
            """);

        await AssertTokenAsync(response);
    }

    [Fact]
    public async Task TheSecretAloneInTheBodyStillGetsAToken()
    {
        var response = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&client_secret={Uri.EscapeDataString(_secret)}
            """);

        await AssertTokenAsync(response);
    }

    [Fact]
    public async Task AScopeParameterNarrowsTheTokenToASubsetOfTheKeysScopes()
    {
        var narrowed = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {Basic(_keyId, _secret)}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&scope=overlaps%3Aread
            """);
        await AssertTokenAsync(narrowed, "overlaps:read");
        var reader = _app.CreateClient();
        reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", narrowed.Json["access_token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/v1/populations", new { name = "X", type = "customers" })).StatusCode);

        var beyond = await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {Basic(_keyId, _secret)}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&scope=overlaps%3Aread+schedules%3Awrite
            """);
        AssertOAuthError(beyond, 400, "invalid_scope");
    }

    [Fact]
    public async Task AWrongSecretIsInvalidClientWithABasicChallengeWhicheverWayItIsSent()
    {
        var wrong = _secret[..^2] + (_secret[^2..] == "AA" ? "BB" : "AA");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {Basic(_keyId, wrong)}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials
            """), 401, "invalid_client");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&client_id={_keyId}&client_secret={wrong}
            """), 401, "invalid_client");
        AssertOAuthError(await SendAsync("""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic not-base64!
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials
            """), 401, "invalid_client");
        AssertOAuthError(await SendAsync("""
            POST /v1/auth/token HTTP/1.1
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials
            """), 401, "invalid_client");
    }

    [Fact]
    public async Task AClientIdThatIsNotTheKeysIdIsInvalidClient()
    {
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {Basic("key_someoneelse", _secret)}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials
            """), 401, "invalid_client");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&client_id=key_someoneelse&client_secret={_secret}
            """), 401, "invalid_client");
    }

    [Fact]
    public async Task CredentialsInBothTheHeaderAndTheBodyAreAnInvalidRequest()
    {
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {Basic(_keyId, _secret)}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&client_id={_keyId}&client_secret={_secret}
            """), 400, "invalid_request");
    }

    [Fact]
    public async Task AMissingOrUnsupportedGrantTypeOrAMalformedBodyIsRefusedInOAuthsTerms()
    {
        var basic = Basic(_keyId, _secret);
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {basic}
            Content-Type: application/x-www-form-urlencoded

            grant_type=password&username=a&password=b
            """), 400, "unsupported_grant_type");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {basic}
            Content-Type: application/x-www-form-urlencoded

            scope=overlaps%3Aread
            """), 400, "invalid_request");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {basic}
            Content-Type: application/x-www-form-urlencoded

            grant_type=client_credentials&grant_type=client_credentials
            """), 400, "invalid_request");
        AssertOAuthError(await SendAsync($"""
            POST /v1/auth/token HTTP/1.1
            Authorization: Basic {basic}
            Content-Type: application/json

            {"{"}"grant_type":"client_credentials"{"}"}
            """), 400, "invalid_request");
    }
}
