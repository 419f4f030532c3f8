using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Tests.Shared;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The free text of data requests and of the attribution ledger is sealed under its author's data key: the database file
/// and its log hold none of it; a data-key rotation re-seals it and reads go on; an erasure makes it unreadable in a backup
/// taken before, and the other side reads an erased author's text as erased, never as an error.
/// </summary>
public sealed class SealedSignalsTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.Parse("2026-06-01T12:00:00Z"));

    // Distinct words that appear nowhere else, so finding one in the file's bytes can only mean the text is stored in plaintext.
    private const string OpportunityId = "OPP-Narwhal-9034";
    private const string Message = "Msg-Zebra-7781 may we see which accounts?";
    private const string Reason = "Why-Quokka-5512 not this quarter";
    private const string Note = "Note-Okapi-4417 intro by their AE";
    private const string ResponseNote = "Resp-Axolotl-2290 confirmed by our AE";
    private static readonly string[] Texts = [OpportunityId, "Msg-Zebra-7781", "Why-Quokka-5512", "Note-Okapi-4417", "Resp-Axolotl-2290"];

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private EscrowApp NewApp() => new(new Dictionary<string, string?>(), _dataDirectory, time: _clock);

    private sealed record World(Org A, Org B, string Pipeline, string Customers, string Secret, string Partnership, string RequestId, string ClaimId);

    /// <summary>
    /// A's pipeline (one open opportunity on d1) against B's Customers (shared at overlaps, holds d1) and Secret (counts only).
    /// A asks for more on Secret with a message, B declines with a reason; A claims B sourced the opportunity, with a note;
    /// B confirms, with a note.
    /// </summary>
    private async Task<World> SetUpAsync(EscrowApp app)
    {
        var a = await app.SignupAsync("seal-a");
        var b = await app.SignupAsync("seal-b");
        var pipeline = await a.CreatePopulationAsync("Pipeline", "opportunities");
        await a.UploadOkAsync(pipeline, Records.Ndjson([new Records.Account(OpportunityId, Domain: "d1.example",
            Attributes: new() { ["amount"] = "1000.00", ["currency"] = "USD", ["created_date"] = "2026-01-01" })]));
        var customers = await b.CreatePopulationAsync("Customers");
        await b.UploadOkAsync(customers, Records.Ndjson([new Records.Account("B-1", Domain: "d1.example")]));
        await b.ShareAsync(customers, "overlaps");
        var secret = await b.CreatePopulationAsync("Secret");
        await b.UploadOkAsync(secret, Records.Ndjson([new Records.Account("B-2", Domain: "d1.example")]));
        await b.ShareAsync(secret, "counts");
        var partnership = await a.PartnerAsync(b);
        await app.RefreshedAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));

        var asked = await a.Http.PostAsJsonAsync($"/v1/partnerships/{partnership}/data-requests", new { populationId = pipeline, partnerPopulationId = secret, message = Message });
        await Expect(asked, HttpStatusCode.Created);
        var requestId = (await Json(asked))["id"]!.GetValue<string>();
        await Expect(await b.Http.PostAsJsonAsync($"/v1/data-requests/{requestId}/decline", new { reason = Reason }), HttpStatusCode.OK);
        var claimed = await a.Http.PostAsJsonAsync("/v1/attributions",
            new { populationId = pipeline, opportunityId = OpportunityId, partnershipId = partnership, role = "sourced", note = Note });
        await Expect(claimed, HttpStatusCode.Created);
        var claimId = (await Json(claimed))["id"]!.GetValue<string>();
        await Expect(await b.Http.PostAsJsonAsync($"/v1/attributions/{claimId}/confirm", new { note = ResponseNote }), HttpStatusCode.OK);
        return new World(a, b, pipeline, customers, secret, partnership, requestId, claimId);
    }

    /// <summary>Every text each side reads back, through the API.</summary>
    private static async Task AssertReadableAsync(World w)
    {
        foreach (var org in new[] { w.A, w.B })
        {
            var request = await Json(await org.Http.GetAsync($"/v1/data-requests/{w.RequestId}"));
            Assert.Equal(Message, request["message"]!.GetValue<string>());
            Assert.Equal(Reason, request["reason"]!.GetValue<string>());
            Assert.False(request["erased"]!.GetValue<bool>());
            var claim = await Json(await org.Http.GetAsync($"/v1/attributions/{w.ClaimId}"));
            Assert.Equal(OpportunityId, claim["opportunityId"]!.GetValue<string>());
            Assert.Equal(Note, claim["note"]!.GetValue<string>());
            Assert.Equal(ResponseNote, claim["responseNote"]!.GetValue<string>());
        }
        var mine = await Json(await w.A.Http.GetAsync($"/v1/attributions/{w.ClaimId}"));
        Assert.Equal(w.Customers, mine["evidence"]![0]!["partnerPopulationId"]!.GetValue<string>());
    }

    /// <summary>The bytes of the database file and its log (read while the service may hold them open).</summary>
    private static IEnumerable<(string File, byte[] Bytes)> DatabaseFiles(string directory, string pattern = "escrow.db*") =>
        Directory.EnumerateFiles(directory, pattern).Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return (Path.GetFileName(f), copy.ToArray());
        });

    private static void AssertNoPlaintext(IEnumerable<(string File, byte[] Bytes)> files)
    {
        var checkedFiles = 0;
        foreach (var (file, bytes) in files)
        {
            checkedFiles++;
            foreach (var text in Texts)
                Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0, $"{file} holds \"{text}\" in plaintext");
        }
        Assert.True(checkedFiles > 0);
    }

    private async Task<(int Code, string Output)> AdminAsync(params string[] args)
    {
        var output = new StringWriter();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _dataDirectory };
        var code = await AdminCommand.RunAsync(args, output, output, settings);
        return (code, output.ToString());
    }

    [Fact]
    public async Task TheDatabaseFileAndItsLogHoldNoMessageNoteOrRecordIdOfARequestOrClaim()
    {
        using var app = NewApp();
        var w = await SetUpAsync(app);
        await AssertReadableAsync(w);

        AssertNoPlaintext(DatabaseFiles(app.DataDirectory));
        using var db = app.OpenDatabase();
        // Each sealed value carries its key version, and the plaintext columns are empty.
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM data_requests WHERE message = '' AND message_sealed IS NOT NULL AND message_key_version = 1 AND reason IS NULL AND reason_sealed IS NOT NULL"));
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM attributions WHERE record_id IS NULL AND note IS NULL AND evidence IS NULL AND response_note IS NULL AND claim_sealed IS NOT NULL AND response_sealed IS NOT NULL"));
    }

    [Fact]
    public async Task AnotherOrganizationStillCannotReadARequestOrClaim()
    {
        using var app = NewApp();
        var w = await SetUpAsync(app);
        var c = await app.SignupAsync("seal-c");
        await c.PartnerAsync(w.B);
        await ExpectProblem(await c.Http.GetAsync($"/v1/data-requests/{w.RequestId}"), HttpStatusCode.NotFound);
        await ExpectProblem(await c.Http.GetAsync($"/v1/attributions/{w.ClaimId}"), HttpStatusCode.NotFound);
        Assert.Empty((await Json(await c.Http.GetAsync("/v1/data-requests")))["items"]!.AsArray());
        Assert.Empty((await Json(await c.Http.GetAsync("/v1/attributions")))["items"]!.AsArray());
        await ExpectProblem(await c.Http.PostAsJsonAsync($"/v1/attributions/{w.ClaimId}/dispute", new { }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ADataKeyRotationReSealsTheTextsAndEverythingReadsAsBefore()
    {
        using var app = NewApp();
        var w = await SetUpAsync(app);
        var aId = w.A.Id;
        var bId = w.B.Id;

        var rotation = app.Services.GetRequiredService<DataKeyRotation>();
        var a = await rotation.RotateAsync(aId, new DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);
        var b = await rotation.RotateAsync(bId, new DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);

        Assert.NotEmpty(a.DestroyedKeyIds);
        using (var db = app.OpenDatabase())
        {
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT message_key_version FROM data_requests"));
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT reason_key_version FROM data_requests"));
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT claim_key_version FROM attributions"));
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT response_key_version FROM attributions"));
        }
        Assert.True(a.Resealed >= 2 && b.Resealed >= 2, $"re-sealed {a.Resealed} of A's and {b.Resealed} of B's values");
        await AssertReadableAsync(w);
        AssertNoPlaintext(DatabaseFiles(app.DataDirectory));
    }

    [Fact]
    public async Task AfterAnErasureABackupTakenBeforeItCannotBeReadAndThePartnersListsAnswer()
    {
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_dataDirectory, "backups", "before.db");
        Directory.CreateDirectory(Path.GetDirectoryName(backup)!);
        string aId, bId;
        World w;
        using (var app = NewApp())
        {
            w = await SetUpAsync(app);
            aId = w.A.Id;
            bId = w.B.Id;
            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);

            // The control: before the erasure, A's key opens A's sealed texts in the backup.
            var keyring = app.Services.GetRequiredService<Keyring>();
            using (var cipher = await keyring.ForOrganizationAsync(aId, CancellationToken.None))
            {
                var (message, claim) = SealedTexts(backup);
                Assert.Contains("Msg-Zebra-7781", Encoding.UTF8.GetString(cipher.Open(SignalSeals.MessageLabel, w.RequestId, message)));
                Assert.Contains(OpportunityId, Encoding.UTF8.GetString(cipher.Open(SignalSeals.ClaimLabel, w.ClaimId, claim)));
            }

            var deleted = await w.A.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "seal-a" });
            await Expect(deleted, HttpStatusCode.OK);
            var statement = JsonNode.Parse((await Json(deleted))["statement"]!.GetValue<string>())!;
            // The receipt counts what went: the request and the claim A was a side of.
            Assert.Equal(1, statement["deleted"]!["dataRequests"]!.GetValue<int>());
            Assert.Equal(1, statement["deleted"]!["attributions"]!.GetValue<int>());

            // B's lists answer; the items went with A.
            Assert.Empty((await Json(await w.B.Http.GetAsync("/v1/data-requests")))["items"]!.AsArray());
            Assert.Empty((await Json(await w.B.Http.GetAsync("/v1/attributions")))["items"]!.AsArray());
            await ExpectProblem(await w.B.Http.GetAsync($"/v1/data-requests/{w.RequestId}"), HttpStatusCode.NotFound);
            await ExpectProblem(await w.B.Http.GetAsync($"/v1/attributions/{w.ClaimId}"), HttpStatusCode.NotFound);

            // The backup still holds A's sealed texts, but no key the escrow holds opens them; and none of them in plaintext.
            await Assert.ThrowsAsync<OrganizationGoneException>(() => keyring.ForOrganizationAsync(aId, CancellationToken.None));
            var (sealedMessage, sealedClaim) = SealedTexts(backup);
            foreach (var id in keyring.Store.ListOrganizations())
            {
                var keys = keyring.Store.Read(id)!;
                using var cipher = keyring.Open(keys);
                foreach (var version in keys.Keys.Select(k => k.Version))
                {
                    Assert.ThrowsAny<CryptographicException>(() => cipher.Open(SignalSeals.MessageLabel, w.RequestId, sealedMessage with { KeyVersion = version }));
                    Assert.ThrowsAny<CryptographicException>(() => cipher.Open(SignalSeals.ClaimLabel, w.ClaimId, sealedClaim with { KeyVersion = version }));
                }
            }
        }
        AssertNoPlaintext(DatabaseFiles(Path.GetDirectoryName(backup)!, "before.db*"));
        Assert.NotEqual(aId, bId);
    }

    [Fact]
    public async Task WhileAnErasureIsUnfinishedThePartnerReadsTheErasedAuthorsTextsAsErasedNeverAsAnError()
    {
        using var app = NewApp();
        var w = await SetUpAsync(app);
        var aId = w.A.Id;
        // The first step of an erasure only (the keys go first; a crash before the rows go leaves them for the next start).
        app.Services.GetRequiredService<Keyring>().Store.Erase(aId, _clock.GetUtcNow());

        var list = await Json(await w.B.Http.GetAsync("/v1/data-requests"));
        var request = Assert.Single(list["items"]!.AsArray())!;
        Assert.True(request["erased"]!.GetValue<bool>());
        Assert.Null(request["message"]);
        Assert.Equal(Reason, request["reason"]!.GetValue<string>()); // B's own text, under B's key
        var claims = await Json(await w.B.Http.GetAsync("/v1/attributions"));
        var claim = Assert.Single(claims["items"]!.AsArray())!;
        Assert.True(claim["erased"]!.GetValue<bool>());
        Assert.Null(claim["opportunityId"]);
        Assert.Null(claim["note"]);
        Assert.Empty(claim["evidence"]!.AsArray());
        Assert.Equal(ResponseNote, claim["responseNote"]!.GetValue<string>());
        Assert.True((await Json(await w.B.Http.GetAsync($"/v1/attributions/{w.ClaimId}")))["erased"]!.GetValue<bool>());
        Assert.True((await Json(await w.B.Http.GetAsync($"/v1/data-requests/{w.RequestId}")))["erased"]!.GetValue<bool>());
    }

    [Fact]
    public async Task RowsStoredBeforeTextsWereSealedAreSealedAtTheNextStartAndStillRead()
    {
        World w;
        using (var app = NewApp())
        {
            w = await SetUpAsync(app);
            // As a row written before this version: the texts in the plaintext columns, no seal.
            using var db = app.OpenDatabase();
            db.Execute("UPDATE data_requests SET message = @Message, message_nonce = NULL, message_sealed = NULL, message_key_version = NULL, " +
                       "reason = @Reason, reason_nonce = NULL, reason_sealed = NULL, reason_key_version = NULL", new { Message, Reason });
            db.Execute("UPDATE attributions SET record_id = @OpportunityId, note = @Note, evidence = '[]', claim_nonce = NULL, claim_sealed = NULL, claim_key_version = NULL, " +
                       "response_note = @ResponseNote, response_nonce = NULL, response_sealed = NULL, response_key_version = NULL", new { OpportunityId, Note, ResponseNote });
        }
        SqliteConnection.ClearAllPools();

        using (var app = NewApp())
        {
            // Signing in starts the host, whose start seals the rows before it answers.
            var a = await LoginAsync(app, "admin@seal-a.example");
            var b = await LoginAsync(app, "admin@seal-b.example");
            using (var db = app.OpenDatabase())
            {
                Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM data_requests WHERE message <> '' OR reason IS NOT NULL OR message_sealed IS NULL"));
                Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM attributions WHERE record_id IS NOT NULL OR note IS NOT NULL OR response_note IS NOT NULL OR claim_sealed IS NULL"));
            }
            var request = await Json(await b.GetAsync($"/v1/data-requests/{w.RequestId}"));
            Assert.Equal(Message, request["message"]!.GetValue<string>());
            Assert.Equal(Reason, request["reason"]!.GetValue<string>());
            var claim = await Json(await a.GetAsync($"/v1/attributions/{w.ClaimId}"));
            Assert.Equal(OpportunityId, claim["opportunityId"]!.GetValue<string>());
            Assert.Equal(Note, claim["note"]!.GetValue<string>());
            Assert.Equal(ResponseNote, claim["responseNote"]!.GetValue<string>());
            AssertNoPlaintext(DatabaseFiles(app.DataDirectory));
        }
    }

    private static async Task<HttpClient> LoginAsync(EscrowApp app, string email)
    {
        var http = app.CreateClient();
        var login = await http.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        await Expect(login, HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
        return http;
    }

    /// <summary>A's sealed message and claim text as a database file holds them.</summary>
    private static (SealedValue Message, SealedValue Claim) SealedTexts(string databasePath)
    {
        using var db = new SqliteConnection($"Data Source={databasePath};Mode=ReadOnly;Pooling=False");
        db.Open();
        var m = db.QuerySingle<(byte[] Nonce, byte[] Data, long Version)>("SELECT message_nonce, message_sealed, message_key_version FROM data_requests");
        var c = db.QuerySingle<(byte[] Nonce, byte[] Data, long Version)>("SELECT claim_nonce, claim_sealed, claim_key_version FROM attributions");
        return (new SealedValue(m.Nonce, m.Data, (int)m.Version), new SealedValue(c.Nonce, c.Data, (int)c.Version));
    }
}
