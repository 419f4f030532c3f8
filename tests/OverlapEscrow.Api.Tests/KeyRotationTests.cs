extern alias BouncyCastle;

using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Data.Sqlite;
using BouncyCastle::Org.BouncyCastle.Crypto.Parameters;
using BouncyCastle::Org.BouncyCastle.Crypto.Signers;
using OverlapEscrow.Api.Tests.Infrastructure;
using Xunit.Abstractions;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A data-key rotation runs beside the service, and a rotation killed midway (a real process, killed as a power cut
/// would) loses nothing and leaves nothing unreadable: the service keeps answering from values under either key, and
/// running the rotation again finishes it and destroys the old key.
/// </summary>
public sealed partial class KeyRotationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static readonly Dictionary<string, string> Settings = new() { ["Escrow__Uploads__SegmentRecords"] = "128", ["Escrow__Uploads__SnapshotSegments"] = "true" };

    private Dictionary<long, long> SegmentsByKeyVersion(string organizationId)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "escrow.db")};Pooling=False");
        db.Open();
        return db.Query<(long Version, long Count)>(
            """
            SELECT s.key_version, COUNT(*) FROM segments s
            JOIN population_versions v ON v.id = s.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId GROUP BY s.key_version
            """, new { organizationId }).ToDictionary(r => r.Version, r => r.Count);
    }

    /// <summary>The organization's stored version columns (header, token columns, record blocks) by the data-key version that sealed them.</summary>
    private Dictionary<long, long> ColumnsByKeyVersion(string organizationId)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_dataDirectory, "escrow.db")};Pooling=False");
        db.Open();
        return db.Query<(long Version, long Count)>(
            """
            SELECT c.key_version, COUNT(*) FROM version_columns c
            JOIN population_versions v ON v.id = c.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId GROUP BY c.key_version
            """, new { organizationId }).ToDictionary(r => r.Version, r => r.Count);
    }

    private int KeyVersionsInKeyring(string organizationId) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(_dataDirectory, "secrets", "keyring", organizationId + ".json")))!["keys"]!.AsArray().Count;

    private static async Task<string> CellAsync(ServiceProcess service, Org org, string partnershipId, string mine, string theirs)
    {
        using var http = service.CreateClient();
        http.DefaultRequestHeaders.Authorization = org.Http.DefaultRequestHeaders.Authorization;
        var response = await http.GetAsync($"/v1/partnerships/{partnershipId}/overlaps");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response)).Cell(mine, theirs)!["count"]!.ToJsonString();
    }

    [Fact]
    public async Task ADataKeyRotationKilledMidwayResumesWithNothingLostOrUnreadable()
    {
        Directory.CreateDirectory(_dataDirectory);
        Org rotating, partner;
        string theirs, mine, partnershipId, before;
        var service = await ServiceProcess.StartAsync(_dataDirectory, Settings);
        try
        {
            rotating = await service.SignupAsync("rotating");
            partner = await service.SignupAsync("rotating-partner");
            theirs = await rotating.CreatePopulationAsync("Customers");
            await rotating.UploadOkAsync(theirs, Records.Range("R", 0, 7680));
            await rotating.ShareAsync(theirs, "counts");
            mine = await partner.CreatePopulationAsync("Customers");
            await partner.UploadOkAsync(mine, Records.Range("R", 1000, 2000));
            partnershipId = await partner.PartnerAsync(rotating);
            before = await CellAsync(service, partner, partnershipId, mine, theirs);
            Assert.Equal(new Dictionary<long, long> { [1] = 60 }, SegmentsByKeyVersion(rotating.Id)); // 7,680 records, 128 a segment
            // The matrix read the version, which wrote its columns: a header, one token column chunk per type, 30 record blocks.
            var columns = ColumnsByKeyVersion(rotating.Id);
            Assert.Equal([1L], columns.Keys);
            Assert.True(columns[1] > 30, $"{columns[1]} column parts");

            // The rotation, slowed down so that it can be caught midway, is killed after a few batches.
            using (var rotation = AdminProcess.Start(_dataDirectory, "keys", "rotate-data", "--organization", rotating.Id, "--batch", "2", "--pace", "300", "--settle", "0"))
            {
                Assert.True(await rotation.WaitForLineAsync(l => Resealed().Match(l) is { Success: true } m && long.Parse(m.Groups[1].Value) >= 6, TimeSpan.FromMinutes(2)),
                    rotation.Output);
                rotation.Kill();
                output.WriteLine(rotation.Output);
            }
            var midway = SegmentsByKeyVersion(rotating.Id);
            output.WriteLine("midway: " + string.Join(", ", midway.Select(kv => $"v{kv.Key}: {kv.Value}")));
            Assert.True(midway.GetValueOrDefault(1) > 0 && midway.GetValueOrDefault(2) > 0, "the rotation was not caught midway");
            Assert.Equal(60, midway.Values.Sum());
            Assert.Equal(2, KeyVersionsInKeyring(rotating.Id));
        }
        finally
        {
            service.Dispose();
        }

        // Restarted, the service reads every value from disk again (nothing cached), under either key.
        using (var restarted = await ServiceProcess.StartAsync(_dataDirectory, Settings))
        {
            Assert.Equal(before, await CellAsync(restarted, partner, partnershipId, mine, theirs));
            var status = await AdminProcess.RunAsync(_dataDirectory, "keys", "status");
            Assert.Contains($"interrupted data-key rotations: 1 ({rotating.Id})", status.Output);

            // Resuming finishes the rotation while the service runs, and destroys the old key.
            var resumed = await AdminProcess.RunAsync(_dataDirectory, "keys", "rotate-data", "--resume", "--settle", "0");
            Assert.True(resumed.ExitCode == 0, resumed.Output);
            output.WriteLine(resumed.Output);
            Assert.Equal(new Dictionary<long, long> { [2] = 60 }, SegmentsByKeyVersion(rotating.Id));
            Assert.Equal([2L], ColumnsByKeyVersion(rotating.Id).Keys);
            Assert.Equal(1, KeyVersionsInKeyring(rotating.Id));
            Assert.Equal(before, await CellAsync(restarted, partner, partnershipId, mine, theirs));
        }

        using (var again = await ServiceProcess.StartAsync(_dataDirectory, Settings))
        {
            Assert.Equal(before, await CellAsync(again, partner, partnershipId, mine, theirs));
            using var http = again.CreateClient();
            http.DefaultRequestHeaders.Authorization = rotating.Http.DefaultRequestHeaders.Authorization;
            Assert.Equal(7680, (await Json(await http.GetAsync($"/v1/populations/{theirs}")))["recordCount"]!.GetValue<long>());
            var status = await AdminProcess.RunAsync(_dataDirectory, "keys", "status");
            Assert.Contains("interrupted data-key rotations: 0", status.Output);
        }
    }

    private async Task<(int Code, string Output)> AdminAsync(params string[] args)
    {
        var output = new StringWriter();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _dataDirectory };
        return (await Admin.AdminCommand.RunAsync(args, output, output, settings), output.ToString());
    }

    [Fact]
    public async Task AMasterKeyRotationRewrapsEveryDataKeyAndOnlyThenLetsTheOldVersionBeDestroyed()
    {
        Directory.CreateDirectory(_dataDirectory);
        string before, partnershipId;
        Org partner;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var owner = await app.SignupAsync("master-owner");
            partner = await app.SignupAsync("master-partner");
            var theirs = await owner.CreatePopulationAsync("Customers");
            await owner.UploadOkAsync(theirs, Records.Range("M", 0, 40));
            await owner.ShareAsync(theirs, "counts");
            var mine = await partner.CreatePopulationAsync("Customers");
            await partner.UploadOkAsync(mine, Records.Range("M", 10, 40));
            partnershipId = await partner.PartnerAsync(owner);
            before = (await partner.MatrixAsync(partnershipId))["cells"]!.ToJsonString();

            Assert.Equal(Admin.AdminCommand.Failed, (await AdminAsync("keys", "retire-master", "1")).Code); // the current one
            var rotated = await AdminAsync("keys", "rotate-master");
            Assert.True(rotated.Code == 0, rotated.Output);
            // An organization signed up right after the rotation, on an instance that read its key files before it: its data
            // key is wrapped under the new version all the same (found by an operator trial: it was wrapped under the old
            // one, and retiring that at once lost its data).
            var late = await app.SignupAsync("master-late");
            var lateCustomers = await late.CreatePopulationAsync("Customers");
            await late.UploadOkAsync(lateCustomers, Records.Range("L", 0, 10));
            // Right after the rotation the old version is not retired: instances may not have read the new one yet.
            var early = await AdminAsync("keys", "retire-master", "1");
            Assert.True(early.Code == Admin.AdminCommand.Failed, early.Output);
            Assert.Contains("re-read the key files every 30 s", early.Output);
            Assert.True(File.Exists(Path.Combine(_dataDirectory, "secrets", "master.key")));
            // A minute later (the new key file's time moved back, as if that much time had passed) it is.
            File.SetLastWriteTimeUtc(Path.Combine(_dataDirectory, "secrets", "master.v2.key"), DateTime.UtcNow.AddMinutes(-2));
            var retired = await AdminAsync("keys", "retire-master", "1");
            Assert.True(retired.Code == 0, retired.Output);
            Assert.False(File.Exists(Path.Combine(_dataDirectory, "secrets", "master.key")));
            Assert.True(File.Exists(Path.Combine(_dataDirectory, "secrets", "master.v2.key")));

            // The running service goes on: it unwraps the data keys with the new master key (a new upload seals under them).
            await owner.UploadOkAsync(await owner.CreatePopulationAsync("Prospects"), Records.Range("P", 0, 10));
            await late.UploadOkAsync(lateCustomers, Records.Range("L", 0, 12), delta: true);
            Assert.Equal(before, (await partner.MatrixAsync(partnershipId))["cells"]!.ToJsonString());
        }
        using (var restarted = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            using var http = restarted.CreateClient();
            http.DefaultRequestHeaders.Authorization = partner.Http.DefaultRequestHeaders.Authorization;
            var matrix = await http.GetAsync($"/v1/partnerships/{partnershipId}/overlaps");
            await Expect(matrix, HttpStatusCode.OK);
            Assert.Equal(before, (await Json(matrix))["cells"]!.ToJsonString());
            var status = await AdminAsync("keys", "status");
            Assert.Contains("data keys wrapped by master v2: 3 organizations", status.Output);
            Assert.DoesNotContain("master v1", status.Output);
        }
    }

    [Fact]
    public async Task ARotatedSigningKeyKeepsOldTokensValidAndRefusesToRetireBeforeTheyExpire()
    {
        Directory.CreateDirectory(_dataDirectory);
        using var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory);
        var org = await app.SignupAsync("signing-rotation");
        var rotated = await AdminAsync("keys", "rotate-signing");
        Assert.True(rotated.Code == 0, rotated.Output);
        Assert.True(File.Exists(Path.Combine(_dataDirectory, "secrets", "jwt-signing.v2.key")));

        await Expect(await org.Http.GetAsync("/v1/me"), HttpStatusCode.OK);
        var refused = await AdminAsync("keys", "retire-signing", "1");
        Assert.Equal(Admin.AdminCommand.Failed, refused.Code);
        Assert.Contains("may still be valid", refused.Output);
        await Expect(await org.Http.GetAsync("/v1/me"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ARotatedAuditSigningKeySignsFromThenOnAndWhatTheRetiredOneSignedStillVerifies()
    {
        Directory.CreateDirectory(_dataDirectory);
        var secrets = Path.Combine(_dataDirectory, "secrets");
        var kept = Path.Combine(_dataDirectory, "kept-checkpoints.jsonl");
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var org = await app.SignupAsync("audit-rotation");
            await org.CreatePopulationAsync("Customers");
            Assert.Equal(0, (await AdminAsync("audit", "checkpoint", "--export", kept)).Code);

            var refused = await AdminAsync("keys", "retire-audit-signing", "1");
            Assert.True(refused.Code == Admin.AdminCommand.Failed, refused.Output);
            Assert.Contains("current one", refused.Output);
            var rotated = await AdminAsync("keys", "rotate-audit-signing");
            Assert.True(rotated.Code == 0, rotated.Output);
            Assert.True(File.Exists(Path.Combine(secrets, "audit-signing.v2.key")));
            await org.CreatePopulationAsync("Prospects");
            Assert.Equal(0, (await AdminAsync("audit", "checkpoint", "--export", kept)).Code);

            // Right after the rotation the old key is not destroyed: instances may not have read the new one yet.
            var early = await AdminAsync("keys", "retire-audit-signing", "1");
            Assert.True(early.Code == Admin.AdminCommand.Failed, early.Output);
            Assert.Contains("re-read the key files every 30 s", early.Output);
            File.SetLastWriteTimeUtc(Path.Combine(secrets, "audit-signing.v2.key"), DateTime.UtcNow.AddMinutes(-2));
            var retired = await AdminAsync("keys", "retire-audit-signing", "1");
            Assert.True(retired.Code == 0, retired.Output);
            Assert.False(File.Exists(Path.Combine(secrets, "audit-signing.key")));
            Assert.True(File.Exists(Path.Combine(secrets, "audit-signing.v1.pub")));
        }

        // A restarted service publishes both keys, the signing one first; each checkpoint kept outside verifies offline
        // against the key its keyId names, the first one under the retired key.
        string[] keyIds;
        using (var restarted = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var jwks = (await Json(await restarted.CreateClient().GetAsync("/.well-known/overlap-escrow-keys.json")))["keys"]!.AsArray();
            Assert.Equal(2, jwks.Count);
            Assert.Null(jwks[0]!["status"]);
            Assert.Equal("retired", jwks[1]!["status"]!.GetValue<string>());
            var checkpoints = File.ReadAllLines(kept).Select(l => JsonNode.Parse(l)!).ToList();
            keyIds = [.. checkpoints.Select(c => c["keyId"]!.GetValue<string>())];
            Assert.Equal([jwks[1]!["kid"]!.GetValue<string>(), jwks[0]!["kid"]!.GetValue<string>()], keyIds);
            foreach (var checkpoint in checkpoints)
            {
                var jwk = jwks.Single(k => k!["kid"]!.GetValue<string>() == checkpoint["keyId"]!.GetValue<string>())!;
                var x = jwk["x"]!.GetValue<string>().Replace('-', '+').Replace('_', '/');
                var verifier = new Ed25519Signer();
                verifier.Init(false, new Ed25519PublicKeyParameters(Convert.FromBase64String(x.PadRight(x.Length + (4 - x.Length % 4) % 4, '='))));
                var bytes = System.Text.Encoding.UTF8.GetBytes(checkpoint["statement"]!.GetValue<string>());
                verifier.BlockUpdate(bytes, 0, bytes.Length);
                Assert.True(verifier.VerifySignature(Convert.FromBase64String(checkpoint["signature"]!.GetValue<string>())));
                Assert.Equal(checkpoint["keyId"]!.GetValue<string>(), JsonNode.Parse(checkpoint["statement"]!.GetValue<string>())!["keyId"]!.GetValue<string>());
            }
        }

        // The escrow itself holds the log against both, stored and kept outside; without the retired key's public half it cannot.
        var verified = await AdminAsync("audit", "verify", "--checkpoints", kept);
        Assert.True(verified.Code == 0, verified.Output);
        var status = await AdminAsync("keys", "status");
        Assert.Contains($"audit signing key: {keyIds[1]}; retired, still published: {keyIds[0]}", status.Output);
        File.Delete(Path.Combine(secrets, "audit-signing.v1.pub"));
        var unverifiable = await AdminAsync("audit", "verify", "--checkpoints", kept);
        Assert.True(unverifiable.Code == Admin.AdminCommand.Failed, unverifiable.Output);
        Assert.Contains("does not carry a valid signature of this escrow", unverifiable.Output);
    }

    [GeneratedRegex(@": (\d+) values re-sealed")]
    private static partial Regex Resealed();
}
