using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Application.Keys;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A member's email, display name and password hash are sealed at rest under the organization's data key, and sign-in
/// finds the member by a keyed lookup of its email (docs/threat-model.md, "Members at rest"): none of them is in the
/// SQLite file or its log, sign-in and the member list work as before (whatever the case of the email), an email cannot
/// be registered twice, members stored before sealing are sealed at a start, a token-key change keeps sign-in working
/// and the next start re-makes the lookups, and a data-key rotation re-seals identities.
/// </summary>
public sealed class SealedMembersTests : IDisposable
{
    // Strings that appear nowhere else, so finding one in the files' bytes can only mean it is stored in plaintext.
    private const string Email = "gwendolyn.okafor-3317@sealed-members.example";
    private const string DisplayName = "Gwendolyn Okafor 3317";
    private const string NewPassword = "a different horse staple 9";

    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private MemberIdentities Identities => _app.Services.GetRequiredService<MemberIdentities>();

    private void AssertNotInTheFiles(params string[] secrets) => _app.AssertNoneHolds(secrets);

    /// <summary>The hashes' common prefix: no Argon2id hash may be stored in plaintext.</summary>
    private const string HashPrefix = "$argon2id$";

    private async Task<Org> OrganizationWithMemberAsync()
    {
        var org = await _app.SignupAsync("sealed-members");
        await Expect(await org.Http.PostAsJsonAsync("/v1/members", new { email = Email, password = Password, displayName = DisplayName, role = "viewer" }),
            HttpStatusCode.Created);
        return org;
    }

    private async Task<HttpStatusCode> SignInAsync(string email, string password = Password) =>
        (await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email, password })).StatusCode;

    private async Task AssertReadableAsync(Org org)
    {
        var members = JsonNode.Parse(await org.Http.GetStringAsync("/v1/members"))!.AsArray();
        var member = Assert.Single(members, m => m!["email"]!.GetValue<string>() == Email)!;
        Assert.Equal(DisplayName, member["displayName"]!.GetValue<string>());
        Assert.Contains(members, m => m!["email"]!.GetValue<string>() == "admin@sealed-members.example");
        Assert.Equal(HttpStatusCode.OK, await SignInAsync(Email));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync(Email.ToUpperInvariant()));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(Email, "not the password at all"));
    }

    [Fact]
    public async Task NoEmailDisplayNameOrPasswordHashIsInTheDatabaseFileOrItsLogAndSignInAndTheListWorkAsBefore()
    {
        var org = await OrganizationWithMemberAsync();

        using (var db = _app.OpenDatabase())
        {
            Assert.Equal(0, db.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM members WHERE display_name <> '' OR password_hash <> '' OR identity_sealed IS NULL OR email NOT LIKE 'e1:%' OR length(email) <> 67"));
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT COUNT(*) FROM members"));
        }
        AssertNotInTheFiles(Email, DisplayName, "admin@sealed-members.example", HashPrefix);
        await AssertReadableAsync(org);

        // A password change re-seals the identity: the new password signs in, the old one no longer does.
        var member = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = Email, password = Password });
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", (await Json(member))["accessToken"]!.GetValue<string>());
        await Expect(await http.PostAsJsonAsync("/v1/me/password", new { currentPassword = Password, newPassword = NewPassword }), HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.OK, await SignInAsync(Email, NewPassword));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(Email));
        AssertNotInTheFiles(Email, DisplayName, HashPrefix);
    }

    [Fact]
    public async Task AnEmailCannotBeRegisteredTwiceWhateverItsCase()
    {
        var org = await OrganizationWithMemberAsync();
        var twice = await org.Http.PostAsJsonAsync("/v1/members", new { email = Email.ToUpperInvariant(), password = Password, role = "viewer" });
        await ExpectProblem(twice, HttpStatusCode.Conflict);
        var signup = await _app.CreateClient().PostAsJsonAsync("/v1/signup", new
        {
            organizationName = "Twin Inc.", organizationSlug = "twin-org", email = "Admin@Sealed-Members.example", password = Password,
        });
        await ExpectProblem(signup, HttpStatusCode.Conflict);
        Assert.Equal(2, JsonNode.Parse(await org.Http.GetStringAsync("/v1/members"))!.AsArray().Count);
    }

    [Fact]
    public async Task MembersStoredInPlaintextBeforeSealingAreSealedAtAStartAndSignInAsBefore()
    {
        var org = await OrganizationWithMemberAsync();
        // What rows written before migration 2026-12-04-0022 look like: email, display name and hash in their columns.
        var keyring = _app.Services.GetRequiredService<IKeyring>();
        using (var db = _app.OpenDatabase())
        using (var cipher = await keyring.ForOrganizationAsync(org.Id, CancellationToken.None))
        {
            foreach (var (id, nonce, data) in db.Query<(string, byte[], byte[])>("SELECT id, identity_nonce, identity_sealed FROM members").ToList())
            {
                var identity = JsonNode.Parse(cipher.Open(MemberIdentities.Label, id, new SealedValue(nonce, data, 1)))!;
                db.Execute(
                    """
                    UPDATE members SET email = @email, display_name = @displayName, password_hash = @passwordHash,
                        identity_nonce = NULL, identity_sealed = NULL, identity_key_version = NULL WHERE id = @id
                    """,
                    new
                    {
                        email = identity["Email"]!.GetValue<string>(), displayName = identity["DisplayName"]!.GetValue<string>(),
                        passwordHash = identity["PasswordHash"]!.GetValue<string>(), id,
                    });
            }
        }
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertNotInTheFiles(Email)); // the control: the check finds plaintext where there is some
        await AssertReadableAsync(org); // readable as they are until a start seals them

        await StartSteps.RunAsync(_app.Services, CancellationToken.None);

        using (var db = _app.OpenDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM members WHERE identity_sealed IS NULL OR display_name <> '' OR email NOT LIKE 'e1:%'"));
        AssertNotInTheFiles(Email, DisplayName, "admin@sealed-members.example", HashPrefix); // the sealing purged the freed pages and the log
        Assert.Equal(0, await Identities.SealLegacyAsync(CancellationToken.None));
        await AssertReadableAsync(org);
    }

    [Fact]
    public async Task AfterATokenKeyChangeMembersSignInUnderTheOlderLookupAndTheNextStartMakesThemAgainUnderTheNewer()
    {
        var org = await OrganizationWithMemberAsync();
        var secrets = _app.Services.GetRequiredService<EscrowSecrets>();
        secrets.CreateNext(SecretKind.Token);
        Assert.StartsWith("e2:", Identities.Lookup(Email));

        await AssertReadableAsync(org);
        // The older lookup still counts: the email cannot be registered again under the newer one.
        await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/members", new { email = Email, password = Password, role = "viewer" }), HttpStatusCode.Conflict);

        // The older token key cannot go while a member is found by a lookup made under it…
        var administration = _app.Services.GetRequiredService<KeyAdministration>();
        var refused = await administration.RetireTokenKeyAsync(1, CancellationToken.None);
        Assert.Contains("2 members", refused.Failure!.Detail);
        Assert.Equal(2, secrets.Versions(SecretKind.Token).Count);

        Assert.Equal(2, await Identities.SealLegacyAsync(CancellationToken.None));
        using (var db = _app.OpenDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM members WHERE email NOT LIKE 'e2:%'"));
        // …and once the lookups are made again under the newer one, it goes without anyone losing their sign-in.
        Assert.Equal(1, (await administration.RetireTokenKeyAsync(1, CancellationToken.None)).Value);
        await AssertReadableAsync(org);
    }

    [Fact]
    public async Task ALookupTypedAsTheEmailSignsNoOneIn()
    {
        await OrganizationWithMemberAsync();
        string lookup;
        using (var db = _app.OpenDatabase())
            lookup = db.ExecuteScalar<string>("SELECT email FROM members WHERE role = 'viewer'")!;
        Assert.Equal(Identities.Lookup(Email), lookup); // the control: it is the member's lookup
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(lookup));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync(Email));
    }

    [Fact]
    public async Task TwoStoredAddressesThatOneLookupCannotTellApartDoNotStopAStartAndTheFirstStillSignsIn()
    {
        var org = await OrganizationWithMemberAsync();
        // SQLite compared addresses without regard to ASCII case only, so both of these could be stored before sealing;
        // the lookup lower-cases every letter, so they share one.
        var hash = _app.Services.GetRequiredService<IPasswordHasher>().Hash(Password);
        using (var db = _app.OpenDatabase())
            foreach (var (id, email) in new[] { ("mem_jurgen_1", "jürgen@sealed-members.example"), ("mem_jurgen_2", "JÜRGEN@sealed-members.example") })
                db.Execute(
                    """
                    INSERT INTO members (id, organization_id, email, display_name, password_hash, role, created_at)
                    VALUES (@id, @org, @email, 'Jürgen', @hash, 'viewer', 1)
                    """, new { id, org = org.Id, email, hash });

        await StartSteps.RunAsync(_app.Services, CancellationToken.None);

        using (var db = _app.OpenDatabase())
            Assert.Equal(["mem_jurgen_2"], db.Query<string>("SELECT id FROM members WHERE identity_sealed IS NULL").ToList());
        Assert.Contains(_app.Logs, l => l.Contains("1 members stay unsealed", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("jürgen@sealed-members.example"));
        await AssertReadableAsync(org);
    }

    [Fact]
    public async Task AMemberWhoseIdentityNoKeyOpensIsAnUnknownEmailAtSignInAndTheOthersGoOn()
    {
        var org = await OrganizationWithMemberAsync();
        var viewerId = JsonNode.Parse(await org.Http.GetStringAsync("/v1/members"))!.AsArray()
            .Single(m => m!["email"]!.GetValue<string>() == Email)!["id"]!.GetValue<string>();
        var login = await _app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = Email, password = Password });
        await Expect(login, HttpStatusCode.OK);
        var refreshToken = JsonNode.Parse(await login.Content.ReadAsStringAsync())!["refreshToken"]!.GetValue<string>();
        // What a restore of a backup older than a finished data-key rotation leaves: an identity no key present opens.
        using (var db = _app.OpenDatabase())
            db.Execute("UPDATE members SET identity_key_version = 7 WHERE role = 'viewer'");

        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(Email));
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("admin@sealed-members.example"));
        var members = JsonNode.Parse(await org.Http.GetStringAsync("/v1/members"))!.AsArray();
        Assert.Equal(["admin@sealed-members.example"], members.Select(m => m!["email"]!.GetValue<string>()));
        // Its session's refresh token no longer signs it in; to the admin it is not found (as the list leaves it out), and
        // it can still be removed.
        await ExpectProblem(await _app.CreateClient().PostAsJsonAsync("/v1/auth/refresh", new { refreshToken }), HttpStatusCode.Unauthorized);
        await ExpectProblem(await org.Http.PatchAsJsonAsync($"/v1/members/{viewerId}", new { role = "admin" }), HttpStatusCode.NotFound);
        using (var db = _app.OpenDatabase())
            Assert.Equal("viewer", db.ExecuteScalar<string>("SELECT role FROM members WHERE id = @viewerId", new { viewerId }));
        await Expect(await org.Http.DeleteAsync($"/v1/members/{viewerId}"), HttpStatusCode.NoContent);
        await Expect(await org.Http.PostAsJsonAsync("/v1/members", new { email = Email, password = NewPassword, displayName = DisplayName, role = "viewer" }),
            HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.OK, await SignInAsync(Email, NewPassword));
        // A token-key change's re-keying at a start passes it by.
        _app.Services.GetRequiredService<EscrowSecrets>().CreateNext(SecretKind.Token);
        await StartSteps.RunAsync(_app.Services, CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, await SignInAsync("admin@sealed-members.example"));
        Assert.Empty(_app.Exceptions);
    }

    [Fact]
    public async Task ADataKeyRotationReSealsIdentitiesAndAnotherOrganizationsKeyCannotOpenThem()
    {
        var org = await OrganizationWithMemberAsync();
        var other = await _app.SignupAsync("sealed-members-other");
        var result = await _app.Services.GetRequiredService<DataKeyRotation>()
            .RotateAsync(org.Id, new DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);

        Assert.NotEmpty(result.DestroyedKeyIds);
        string id;
        byte[] nonce, data;
        using (var db = _app.OpenDatabase())
        {
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM members WHERE organization_id = @Id AND identity_key_version <> 2", new { org.Id }));
            (id, nonce, data) = db.QuerySingle<(string, byte[], byte[])>(
                "SELECT id, identity_nonce, identity_sealed FROM members WHERE organization_id = @Id AND role = 'viewer'", new { org.Id });
        }
        AssertNotInTheFiles(Email, DisplayName, HashPrefix);
        await AssertReadableAsync(org);

        var keyring = _app.Services.GetRequiredService<IKeyring>();
        using (var mine = await keyring.ForOrganizationAsync(org.Id, CancellationToken.None))
        {
            Assert.Contains(Email, Encoding.UTF8.GetString(mine.Open(MemberIdentities.Label, id, new SealedValue(nonce, data, 2))));
            Assert.ThrowsAny<CryptographicException>(() => mine.Open(MemberIdentities.Label, id + "x", new SealedValue(nonce, data, 2)));
        }
        using var theirs = await keyring.ForOrganizationAsync(other.Id, CancellationToken.None);
        Assert.ThrowsAny<CryptographicException>(() => theirs.Open(MemberIdentities.Label, id, new SealedValue(nonce, data, 1)));
    }
}
