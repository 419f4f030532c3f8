using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Sessions end when they should, at once: a replayed refresh token, a removed or re-roled member, a sign-out, a
/// password change; and old PBKDF2 password hashes become Argon2id at the next sign-in.
/// </summary>
public sealed class AccountSecurityTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private static Task<HttpResponseMessage> RefreshAsync(HttpClient http, string refreshToken) =>
        http.PostAsJsonAsync("/v1/auth/refresh", new { refreshToken });

    private HttpClient Bearer(string accessToken)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return http;
    }

    /// <summary>Adds a member and signs it in: its id, an authorized client, and its refresh token.</summary>
    private async Task<(string Id, HttpClient Http, string RefreshToken)> MemberAsync(Org org, string role, string? email = null)
    {
        email ??= $"{role}-{Guid.NewGuid():N}@{org.Slug}.example";
        var added = await org.Http.PostAsJsonAsync("/v1/members", new { email, password = Password, role });
        await Expect(added, HttpStatusCode.Created);
        var id = (await Json(added))["id"]!.GetValue<string>();
        var login = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        await Expect(login, HttpStatusCode.OK);
        var tokens = await Json(login);
        return (id, Bearer(tokens["accessToken"]!.GetValue<string>()), tokens["refreshToken"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReusedRefreshTokenRevokesItsWholeFamily()
    {
        var org = await _app.SignupAsync("reuse");
        var anonymous = _app.CreateClient();

        var first = await RefreshAsync(anonymous, org.RefreshToken);
        await Expect(first, HttpStatusCode.OK);
        var rotated = await Json(first);
        var nextRefresh = rotated["refreshToken"]!.GetValue<string>();
        var nextAccess = Bearer(rotated["accessToken"]!.GetValue<string>());
        await Expect(await nextAccess.GetAsync("/v1/me"), HttpStatusCode.OK);

        // The first token again: a replay, as a thief holding a copy would make it.
        await ExpectProblem(await RefreshAsync(anonymous, org.RefreshToken), HttpStatusCode.Unauthorized);

        // The whole family is revoked: the legitimate successor and every access token of the session.
        await ExpectProblem(await RefreshAsync(anonymous, nextRefresh), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, (await nextAccess.GetAsync("/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await org.Http.GetAsync("/v1/me")).StatusCode);
    }

    [Fact]
    public async Task AReplayEndsOnlyItsOwnSessionNotTheMembersOthers()
    {
        var org = await _app.SignupAsync("reuse-other");
        var (_, other, _) = await MemberAsync(org, "admin", "second@reuse-other.example");
        var login = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = "second@reuse-other.example", password = Password });
        var secondSession = await Json(login);
        var refresh = secondSession["refreshToken"]!.GetValue<string>();
        await Expect(await RefreshAsync(_app.CreateClient(), refresh), HttpStatusCode.OK);
        await ExpectProblem(await RefreshAsync(_app.CreateClient(), refresh), HttpStatusCode.Unauthorized);

        await Expect(await other.GetAsync("/v1/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ARemovedMembersTokenIsRefusedOnItsNextRequest()
    {
        var org = await _app.SignupAsync("removal");
        var (id, member, refresh) = await MemberAsync(org, "sales_ops");
        await Expect(await member.GetAsync("/v1/me"), HttpStatusCode.OK);

        await Expect(await org.Http.DeleteAsync($"/v1/members/{id}"), HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.Unauthorized, (await member.GetAsync("/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await member.GetAsync("/v1/populations")).StatusCode);
        await ExpectProblem(await RefreshAsync(_app.CreateClient(), refresh), HttpStatusCode.Unauthorized);
        Assert.Contains("member.removed", await org.Http.GetStringAsync("/v1/audit?limit=1000"));
    }

    [Fact]
    public async Task AnotherOrganizationsAdminCannotRemoveOrReRoleMyMembers()
    {
        var mine = await _app.SignupAsync("mine-members");
        var theirs = await _app.SignupAsync("their-members");
        var (id, member, _) = await MemberAsync(mine, "sales_ops");

        await ExpectProblem(await theirs.Http.DeleteAsync($"/v1/members/{id}"), HttpStatusCode.NotFound);
        await ExpectProblem(await theirs.Http.PatchAsJsonAsync($"/v1/members/{id}", new { role = "viewer" }), HttpStatusCode.NotFound);
        await Expect(await member.GetAsync("/v1/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task TheLastAdminCannotBeRemovedOrDemoted()
    {
        var org = await _app.SignupAsync("last-admin");
        var me = (await Json(await org.Http.GetAsync("/v1/me")))["id"]!.GetValue<string>();

        await ExpectProblem(await org.Http.DeleteAsync($"/v1/members/{me}"), HttpStatusCode.Conflict);
        await ExpectProblem(await org.Http.PatchAsJsonAsync($"/v1/members/{me}", new { role = "viewer" }), HttpStatusCode.Conflict);
        await Expect(await org.Http.GetAsync("/v1/members"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task AChangedRoleAppliesToTheNextRequestOfAnExistingToken()
    {
        var org = await _app.SignupAsync("demotion");
        var (id, admin, _) = await MemberAsync(org, "admin");
        await Expect(await admin.GetAsync("/v1/members"), HttpStatusCode.OK);

        await Expect(await org.Http.PatchAsJsonAsync($"/v1/members/{id}", new { role = "viewer" }), HttpStatusCode.OK);

        // The token still says "admin": it is refused rather than trusted.
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/v1/members")).StatusCode);
    }

    [Fact]
    public async Task SigningOutEndsTheSessionAndItsRefreshToken()
    {
        var org = await _app.SignupAsync("signout");
        var (_, member, refresh) = await MemberAsync(org, "sales_ops");

        await Expect(await member.PostAsJsonAsync("/v1/auth/logout", new { }), HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.Unauthorized, (await member.GetAsync("/v1/me")).StatusCode);
        await ExpectProblem(await RefreshAsync(_app.CreateClient(), refresh), HttpStatusCode.Unauthorized);
        // The admin's own session is another one: untouched.
        await Expect(await org.Http.GetAsync("/v1/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ChangingThePasswordEndsTheOtherSessionsAndNeedsTheCurrentOne()
    {
        var org = await _app.SignupAsync("password");
        var email = "admin@password.example";
        var other = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        var otherSession = Bearer((await Json(other))["accessToken"]!.GetValue<string>());

        await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/me/password", new { currentPassword = "wrong one", newPassword = "a brand new passphrase" }),
            HttpStatusCode.BadRequest);
        await Expect(await otherSession.GetAsync("/v1/me"), HttpStatusCode.OK);

        await Expect(await org.Http.PostAsJsonAsync("/v1/me/password", new { currentPassword = Password, newPassword = "a brand new passphrase" }),
            HttpStatusCode.NoContent);

        Assert.Equal(HttpStatusCode.Unauthorized, (await otherSession.GetAsync("/v1/me")).StatusCode);
        await Expect(await org.Http.GetAsync("/v1/me"), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = Password })).StatusCode);
        await Expect(await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = "a brand new passphrase" }), HttpStatusCode.OK);
    }

    [Fact]
    public async Task APbkdf2HashBecomesArgon2idAtTheNextSignIn()
    {
        await _app.SignupAsync("legacy");
        var email = "admin@legacy.example";
        // The hash is sealed with the email and display name: read and replaced through the member's identity.
        var identities = _app.Services.GetRequiredService<MemberIdentities>();
        var accounts = _app.Services.GetRequiredService<IAccountRepository>();
        async Task<(StoredMember Stored, Member Member)> ReadAsync()
        {
            var stored = (await accounts.FindMemberByEmailAsync(identities.Forms(email), CancellationToken.None))!;
            return (stored, (await identities.OpenAsync(stored, CancellationToken.None))!);
        }
        var (stored, member) = await ReadAsync();
        Assert.StartsWith("$argon2id$v=19$", member.PasswordHash);
        Assert.True(await accounts.ReplaceMemberIdentityAsync(stored,
            await identities.StoredAsync(member with { PasswordHash = new PlatformPasswordHasher().Hash(Password) }, CancellationToken.None), CancellationToken.None));
        Assert.DoesNotContain("argon2id", (await ReadAsync()).Member.PasswordHash);

        await Expect(await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = Password }), HttpStatusCode.OK);

        Assert.StartsWith("$argon2id$v=19$", (await ReadAsync()).Member.PasswordHash);
        await Expect(await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password = Password }), HttpStatusCode.OK);
    }
}
