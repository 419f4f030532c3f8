extern alias BouncyCastle;

using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using BouncyCastle::Org.BouncyCastle.Crypto.Parameters;
using BouncyCastle::Org.BouncyCastle.Crypto.Signers;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Deleting an organization destroys its keys (crypto-shredding): a database backup taken before the deletion,
/// restored afterwards with the escrow's current secrets, yields nothing of it — through the API or by reading the
/// files. The partner keeps a tombstone of the partnership and its audit evidence; the receipt verifies offline.
/// </summary>
public sealed class ErasureTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
    private readonly string _backups = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N") + "-backups");

    private const string SecretName = "Zanzibar Secret Customers";
    // Tokens a receiver and a source put in their URLs: sealed, so a backup holds neither in plaintext.
    private const string HookToken = "zanzibar-hook-Ocelot-2291";
    private const string PullToken = "zanzibar-pull-Tapir-8830";
    // A member's email and name: sealed with the password hash, so a backup holds none of them in plaintext.
    private const string MemberEmail = "okonkwo.vireo-5108@zanzibar.example";
    private const string MemberName = "Okonkwo Vireo 5108";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var dir in new[] { _dataDirectory, _backups })
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private EscrowApp NewApp() => new(new Dictionary<string, string?>(), _dataDirectory);

    private async Task<(int Code, string Output)> AdminAsync(params string[] args)
    {
        var output = new StringWriter();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _dataDirectory };
        var code = await AdminCommand.RunAsync(args, output, output, settings);
        return (code, output.ToString());
    }

    /// <summary>Every sealed segment of the organization's populations in a database file.</summary>
    private static List<(string VersionId, long Seq, byte[] Nonce, byte[] Data)> Segments(string databasePath, string organizationId)
    {
        using var db = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        db.Open();
        return db.Query<(string, long, byte[], byte[])>(
            """
            SELECT s.version_id, s.seq, s.nonce, s.data FROM segments s
            JOIN population_versions v ON v.id = s.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId
            """, new { organizationId }).ToList();
    }

    /// <summary>Every sealed part of the organization's versions' stored columns in a database file.</summary>
    private static List<(string VersionId, long Part, byte[] Nonce, byte[] Data)> Columns(string databasePath, string organizationId)
    {
        using var db = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        db.Open();
        return db.Query<(string, long, byte[], byte[])>(
            """
            SELECT c.version_id, c.part, c.nonce, c.data FROM version_columns c
            JOIN population_versions v ON v.id = c.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId
            """, new { organizationId }).ToList();
    }

    private static SealedValue Sealed(byte[] nonce, byte[] data, int version) => new(nonce, data, version);

    /// <summary>
    /// The organization's sealed webhook targets, pull source URLs and member identities in a database file, with the
    /// label and row id each is bound to.
    /// </summary>
    private static List<(string Label, string Id, byte[] Nonce, byte[] Data)> SealedMetadata(string databasePath, string organizationId)
    {
        using var db = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        db.Open();
        return db.Query<(string, string, byte[], byte[])>(
            """
            SELECT 'oe-webhook-target-v1', id, target_nonce, target_sealed FROM webhooks WHERE organization_id = @organizationId
            UNION ALL
            SELECT 'oe-schedule-source-v1', id, source_url_nonce, source_url_sealed FROM schedules WHERE organization_id = @organizationId
            UNION ALL
            SELECT 'oe-member-identity-v1', id, identity_nonce, identity_sealed FROM members WHERE organization_id = @organizationId
            """, new { organizationId }).ToList();
    }

    [Fact]
    public async Task APreDeletionBackupRestoredAfterTheDeletionYieldsNothingOfTheDeletedOrganization()
    {
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_backups, "before-deletion.db");
        string goneId, partnershipId;
        JsonObject receipt;
        using (var app = NewApp())
        {
            var gone = await app.SignupAsync("zanzibar");
            var stays = await app.SignupAsync("stays");
            goneId = gone.Id;
            var theirs = await gone.CreatePopulationAsync(SecretName);
            await gone.UploadOkAsync(theirs, Records.Range("Z", 0, 40));
            // A delta too: a snapshot is stored as its columns only, a delta also as record segments; the backup holds both.
            await gone.UploadOkAsync(theirs, Records.Range("Z", 40, 5), delta: true);
            await gone.ShareAsync(theirs, "counts");
            await Expect(await gone.Http.PostAsJsonAsync("/v1/members",
                new { email = MemberEmail, password = Password, displayName = MemberName, role = "viewer" }), HttpStatusCode.Created);
            await Expect(await gone.Http.PostAsJsonAsync("/v1/webhooks",
                new { url = "https://hooks.zanzibar.example/in/" + HookToken, events = new[] { "sync.failed" } }), HttpStatusCode.Created);
            await Expect(await gone.Http.PostAsJsonAsync("/v1/schedules", new
            {
                name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", enabled = false, action = "pull", // paused: nothing is fetched
                pull = new { populationId = theirs, url = "https://exports.zanzibar.example/" + PullToken + ".ndjson" },
            }), HttpStatusCode.Created);
            var mine = await stays.CreatePopulationAsync("Customers");
            await stays.UploadOkAsync(mine, Records.Range("Z", 10, 40));
            partnershipId = await stays.PartnerAsync(gone);
            Assert.NotNull((await stays.MatrixAsync(partnershipId)).Cell(mine, theirs));

            // A consistent online backup while the service runs.
            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);

            // The control: with the organization's key, the backup's segments open (so the checks below can fail).
            var keyring = app.Services.GetRequiredService<Keyring>();
            var segments = Segments(backup, goneId);
            Assert.NotEmpty(segments);
            // The matrix read the partner's version, so its stored columns were written too; they open the same way.
            var columns = Columns(backup, goneId);
            Assert.NotEmpty(columns);
            // The URLs' tokens are in the backup only sealed; the organization's key opens them.
            var backupBytes = await File.ReadAllBytesAsync(backup);
            Assert.False(Contains(backupBytes, Encoding.UTF8.GetBytes(HookToken)), "the backup holds the webhook URL's token");
            Assert.False(Contains(backupBytes, Encoding.UTF8.GetBytes(PullToken)), "the backup holds the pull URL's token");
            foreach (var identity in new[] { MemberEmail, MemberName, "admin@zanzibar.example", "$argon2id$" })
                Assert.False(Contains(backupBytes, Encoding.UTF8.GetBytes(identity)), $"the backup holds \"{identity}\"");
            var urls = SealedMetadata(backup, goneId);
            Assert.Equal(4, urls.Count); // a webhook, a schedule, the admin and the member
            using (var cipher = await keyring.ForOrganizationAsync(goneId, CancellationToken.None))
            {
                var opened = urls.Select(u => Encoding.UTF8.GetString(cipher.Open(u.Label, u.Id, Sealed(u.Nonce, u.Data, 1)))).ToList();
                Assert.Contains(opened, text => text.Contains(HookToken, StringComparison.Ordinal));
                Assert.Contains(opened, text => text.Contains(PullToken, StringComparison.Ordinal));
                Assert.Contains(opened, text => text.Contains(MemberEmail, StringComparison.Ordinal) && text.Contains(MemberName, StringComparison.Ordinal));
                Assert.NotEmpty(cipher.OpenSegment(segments[0].VersionId, segments[0].Seq, Sealed(segments[0].Nonce, segments[0].Data, 1)));
                Assert.NotEmpty(cipher.Open(VersionStore.SealLabel, VersionStore.SealId(columns[0].VersionId, columns[0].Part), Sealed(columns[0].Nonce, columns[0].Data, 1)));
            }

            var refused = await gone.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "stays" });
            Assert.Equal("confirmSlug", (await ExpectProblem(refused, HttpStatusCode.BadRequest))["errors"]!.AsObject().Single().Key);
            var deleted = await gone.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "zanzibar" });
            await Expect(deleted, HttpStatusCode.OK);
            receipt = await Json(deleted);

            // The receipt verifies offline against the published key (RFC 8032 Ed25519, RFC 8037 JWK).
            var jwks = await Json(await app.CreateClient().GetAsync("/.well-known/overlap-escrow-keys.json"));
            var jwk = jwks["keys"]!.AsArray().Single(k => k!["kid"]!.GetValue<string>() == receipt["keyId"]!.GetValue<string>())!;
            var x = jwk["x"]!.GetValue<string>().Replace('-', '+').Replace('_', '/');
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(Convert.FromBase64String(x.PadRight(x.Length + (4 - x.Length % 4) % 4, '='))));
            var statementBytes = Encoding.UTF8.GetBytes(receipt["statement"]!.GetValue<string>());
            verifier.BlockUpdate(statementBytes, 0, statementBytes.Length);
            Assert.True(verifier.VerifySignature(Convert.FromBase64String(receipt["signature"]!.GetValue<string>())));
            var statement = JsonNode.Parse(receipt["statement"]!.GetValue<string>())!;
            Assert.Equal(goneId, statement["organization"]!["id"]!.GetValue<string>());
            Assert.NotEmpty(statement["destroyedKeyIds"]!.AsArray());
            // What it says was deleted is what the database held (counted here in the backup taken just before).
            Assert.Equal(segments.Count, statement["deleted"]!["segments"]!.GetValue<long>());
            Assert.Equal(columns.Count, statement["deleted"]!["columnParts"]!.GetValue<long>());
            Assert.Contains(partnershipId, statement["partnershipsEnded"]!.AsArray().Select(p => p!.GetValue<string>()));
            // A forged statement does not verify.
            var forged = Encoding.UTF8.GetBytes(receipt["statement"]!.GetValue<string>().Replace(goneId, "org_someone_else"));
            verifier.Reset();
            verifier.BlockUpdate(forged, 0, forged.Length);
            Assert.False(verifier.VerifySignature(Convert.FromBase64String(receipt["signature"]!.GetValue<string>())));

            Assert.Equal(HttpStatusCode.Unauthorized, (await gone.Http.GetAsync("/v1/me")).StatusCode);
        }

        // The operator restores the backup taken before the deletion, with the escrow's current secrets.
        var restored = await AdminAsync("restore", backup);
        Assert.True(restored.Code == 0, restored.Output);

        using (var app = NewApp())
        {
            // Through the API: the organization cannot sign in, and its partner sees only a tombstone.
            var login = await app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = "admin@zanzibar.example", password = Password });
            Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
            var stays = await LoginAsync(app, "admin@stays.example");
            var partnership = await Json(await stays.GetAsync($"/v1/partnerships/{partnershipId}"));
            Assert.Equal("terminated", partnership["status"]!.GetValue<string>(), ignoreCase: true);
            Assert.True(partnership["partner"]!["deleted"]!.GetValue<bool>());
            Assert.Null(partnership["partner"]!["slug"]?.GetValue<string>());
            Assert.NotEqual(HttpStatusCode.OK, (await stays.GetAsync($"/v1/partnerships/{partnershipId}/overlaps")).StatusCode);
            // Its health too answers as a partnership that is not there (it answered 200 with no partner: a hostile-partner trial).
            Assert.Equal(HttpStatusCode.NotFound, (await stays.GetAsync($"/v1/partnerships/{partnershipId}/health/pipeline")).StatusCode);
            var audit = await stays.GetStringAsync("/v1/audit?limit=1000");
            Assert.Contains(partnershipId, audit);
            Assert.DoesNotContain(SecretName, audit);

            // In the restored database: no row of the organization is left.
            using (var db = app.OpenDatabase())
            {
                Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM organizations WHERE id = @goneId", new { goneId }));
                Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM populations WHERE organization_id = @goneId", new { goneId }));
                Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM members WHERE organization_id = @goneId", new { goneId }));
            }
            Assert.Empty(Segments(app.DatabasePath, goneId));
            Assert.Empty(Columns(app.DatabasePath, goneId));

            // By reading the files with the current secrets: the backup itself still holds the sealed segments, but no
            // key the escrow holds opens any of them — neither the organization's (destroyed) nor any other's.
            var keyring = app.Services.GetRequiredService<Keyring>();
            await Assert.ThrowsAsync<OrganizationGoneException>(() => keyring.ForOrganizationAsync(goneId, CancellationToken.None));
            var segments = Segments(backup, goneId);
            Assert.NotEmpty(segments);
            var columns = Columns(backup, goneId);
            Assert.NotEmpty(columns);
            foreach (var id in keyring.Store.ListOrganizations())
            {
                var keys = keyring.Store.Read(id)!;
                using var cipher = keyring.Open(keys);
                foreach (var version in keys.Keys.Select(k => k.Version))
                {
                    foreach (var s in segments)
                        Assert.ThrowsAny<CryptographicException>(() => cipher.OpenSegment(s.VersionId, s.Seq, Sealed(s.Nonce, s.Data, version)));
                    foreach (var c in columns)
                        Assert.ThrowsAny<CryptographicException>(() => cipher.Open(VersionStore.SealLabel, VersionStore.SealId(c.VersionId, c.Part), Sealed(c.Nonce, c.Data, version)));
                    foreach (var u in SealedMetadata(backup, goneId))
                        Assert.ThrowsAny<CryptographicException>(() => cipher.Open(u.Label, u.Id, Sealed(u.Nonce, u.Data, version)));
                }
            }
            Assert.DoesNotContain(goneId, keyring.Store.ListOrganizations());
            Assert.False(File.Exists(Path.Combine(keyring.Store.Directory, goneId + ".json")));
        }

        // Nothing of the organization's population names lingers in the restored database file's bytes (free pages, log).
        SqliteConnection.ClearAllPools();
        // A log file can go between the listing and its reading (SQLite deletes the WAL when the last connection to the
        // database closes, and the app's connections close as it shuts down): a file gone holds nothing.
        foreach (var file in Directory.EnumerateFiles(_dataDirectory, "escrow.db*").Where(f => !f.Contains("before-restore")))
            foreach (var secret in new[] { SecretName, HookToken, PullToken, MemberEmail, MemberName })
                Assert.False(Contains(await ReadIfThereAsync(file), Encoding.UTF8.GetBytes(secret)), $"{Path.GetFileName(file)} still holds \"{secret}\"");
    }

    [Fact]
    public async Task ARestoreOfABackupFromBeforeTwoPartnersWereBothDeletedErasesBothAgainAndTheServiceStarts()
    {
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_backups, "before-both.db");
        string firstId, secondId;
        using (var app = NewApp())
        {
            var first = await app.SignupAsync("pair-first");
            var second = await app.SignupAsync("pair-second");
            var bystander = await app.SignupAsync("pair-bystander");
            (firstId, secondId) = (first.Id, second.Id);
            await first.PartnerAsync(second);
            await bystander.PartnerAsync(first);
            // Both are told when a partnership ends: a notice for the other one would be sealed under its (destroyed) key.
            foreach (var org in new[] { first, second, bystander })
                await Expect(await org.Http.PostAsJsonAsync("/v1/webhooks",
                    new { url = $"https://hooks.{org.Slug}.example/in", events = new[] { "partnership.terminated" } }), HttpStatusCode.Created);
            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);
            foreach (var (org, slug) in new[] { (first, "pair-first"), (second, "pair-second") })
                await Expect(await org.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = slug }), HttpStatusCode.OK);
        }

        // The restore brings both back into the database; its start must erase both again (it stopped at the second,
        // failing every later start and admin command).
        var restored = await AdminAsync("restore", backup);
        Assert.True(restored.Code == 0, restored.Output);
        using (var app = NewApp())
        {
            var bystander = await LoginAsync(app, "admin@pair-bystander.example");
            await Expect(await bystander.GetAsync("/v1/me"), HttpStatusCode.OK);
            using var db = app.OpenDatabase();
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM organizations WHERE id IN (@firstId, @secondId)", new { firstId, secondId }));
        }
        var status = await AdminAsync("keys", "status");
        Assert.True(status.Code == 0, status.Output);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task OnlyAnAdminOfTheOrganizationCanDeleteIt()
    {
        using var app = new EscrowApp();
        var org = await app.SignupAsync("not-yours");
        var member = await app.MemberAsync(org, "sales_ops");
        Assert.Equal(HttpStatusCode.Forbidden, (await member.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "not-yours" })).StatusCode);
        var other = await app.SignupAsync("other-admin");
        // Another organization's admin deletes only its own organization, whatever slug it names.
        await ExpectProblem(await other.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "not-yours" }), HttpStatusCode.BadRequest);
        await Expect(await org.Http.GetAsync("/v1/me"), HttpStatusCode.OK);
    }

    private static async Task<HttpClient> LoginAsync(EscrowApp app, string email)
    {
        var http = app.CreateClient();
        var login = await http.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        await Expect(login, HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
        return http;
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    private static async Task<byte[]> ReadIfThereAsync(string path)
    {
        try { return await File.ReadAllBytesAsync(path); }
        catch (FileNotFoundException) { return []; }
    }
}
