using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Audit;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Signed checkpoints anchor the audit log outside the database: whoever can write the database file can rewrite a
/// chain so that it is consistent with itself, but not so that it still matches a checkpoint signed before.
/// </summary>
public sealed class AuditCheckpointTests : IDisposable
{
    private readonly EscrowApp _app = new();
    private readonly string _kept = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N") + "-checkpoints.jsonl");

    public void Dispose()
    {
        _app.Dispose();
        File.Delete(_kept);
    }

    private async Task<(Org A, Org B)> ActivityAsync()
    {
        var a = await _app.SignupAsync("anchor-a");
        var b = await _app.SignupAsync("anchor-b");
        var theirs = await b.CreatePopulationAsync("Customers");
        await b.UploadOkAsync(theirs, Records.Range("B", 0, 10));
        await b.ShareAsync(theirs, "counts");
        var partnership = await a.PartnerAsync(b);
        await a.MatrixAsync(partnership);
        await a.CreatePopulationAsync("Prospects");
        return (a, b);
    }

    private static async Task<JsonObject> CheckpointAsync(Org org)
    {
        var response = await org.Http.PostAsync("/v1/audit/checkpoints", null);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static async Task<JsonObject> VerifyAgainstAsync(Org org, JsonObject checkpoint)
    {
        var response = await org.Http.PostAsJsonAsync("/v1/audit/verify", checkpoint);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    /// <summary>Rewrites an organization's chain from <paramref name="from"/> on as a forger would: every hash recomputed, the head moved.</summary>
    private void Rehash(SqliteConnection db, string organizationId, long from)
    {
        var entries = db.Query<(long Position, string Record, byte[] PrevHash)>(
            "SELECT position, record, prev_hash FROM audit_views WHERE organization_id = @organizationId AND position >= @from ORDER BY position",
            new { organizationId, from }).ToList();
        var prev = db.ExecuteScalar<byte[]?>("SELECT hash FROM audit_views WHERE organization_id = @organizationId AND position = @p", new { organizationId, p = from - 1 })
                   ?? AuditChain.Genesis;
        long last = from - 1;
        foreach (var e in entries)
        {
            var hash = AuditChain.Link(prev, e.Record);
            db.Execute("UPDATE audit_views SET prev_hash = @prev, hash = @hash WHERE organization_id = @organizationId AND position = @Position",
                new { prev, hash, organizationId, e.Position });
            prev = hash;
            last = e.Position;
        }
        db.Execute("UPDATE audit_view_heads SET position = @last, hash = @prev WHERE organization_id = @organizationId", new { last, prev, organizationId });
    }

    [Fact]
    public async Task AChainRewrittenConsistentlyFailsAgainstTheCheckpointsSignedBefore()
    {
        var (a, _) = await ActivityAsync();
        var kept = await CheckpointAsync(a);
        Assert.True((await VerifyAgainstAsync(a, kept))["valid"]!.GetValue<bool>());

        using (var db = _app.OpenDatabase())
        {
            // Record 2 says something else now, and every hash after it is recomputed: the chain agrees with itself.
            Assert.Equal(1, db.Execute("UPDATE audit_views SET record = record || ' ' WHERE organization_id = @Id AND position = 2", new { a.Id }));
            Rehash(db, a.Id, 2);
        }
        // The escrow's own stored checkpoint catches it…
        var verified = await Json(await a.Http.GetAsync("/v1/audit/verify"));
        Assert.False(verified["valid"]!.GetValue<bool>());

        // …and when the forger deletes those too, the checkpoint the organization kept still does.
        using (var db = _app.OpenDatabase()) db.Execute("DELETE FROM audit_checkpoints WHERE organization_id = @Id", new { a.Id });
        var against = await VerifyAgainstAsync(a, kept);
        Assert.False(against["valid"]!.GetValue<bool>());
        Assert.Contains("rewritten or cut", against["problem"]!.GetValue<string>());
    }

    [Fact]
    public async Task ATruncatedChainFailsAgainstAnEarlierCheckpoint()
    {
        var (a, _) = await ActivityAsync();
        var kept = await CheckpointAsync(a);
        var size = JsonNode.Parse(kept["statement"]!.GetValue<string>())!["size"]!.GetValue<long>();
        Assert.True(size >= 3);

        using (var db = _app.OpenDatabase())
        {
            Assert.Equal(2, db.Execute("DELETE FROM audit_views WHERE organization_id = @Id AND position > @keep", new { a.Id, keep = size - 2 }));
            Rehash(db, a.Id, size - 2);
            db.Execute("DELETE FROM audit_checkpoints WHERE organization_id = @Id", new { a.Id });
        }

        Assert.False((await VerifyAgainstAsync(a, kept))["valid"]!.GetValue<bool>());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ACheckpointOfAnotherOrganizationOrWithAForgedSignatureIsRefused()
    {
        var (a, b) = await ActivityAsync();
        var kept = await CheckpointAsync(a);

        var theirs = await ExpectProblem(await b.Http.PostAsJsonAsync("/v1/audit/verify", kept), HttpStatusCode.BadRequest);
        Assert.Contains("statement", theirs["errors"]!.AsObject().Select(e => e.Key));

        var forged = JsonNode.Parse(kept.ToJsonString())!.AsObject();
        forged["statement"] = kept["statement"]!.GetValue<string>().Replace("\"size\":", "\"size\":1");
        var refused = await ExpectProblem(await a.Http.PostAsJsonAsync("/v1/audit/verify", forged), HttpStatusCode.BadRequest);
        Assert.Contains("signature", refused["errors"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public async Task ACheckpointSaysNothingOfOtherOrganizationsVolume()
    {
        var (a, b) = await ActivityAsync();
        var first = JsonNode.Parse((await CheckpointAsync(a))["statement"]!.GetValue<string>())!;
        // Another organization's busy day, with nothing of it visible to a.
        for (var i = 0; i < 5; i++) await b.CreatePopulationAsync($"Busy {i}");
        var second = JsonNode.Parse((await CheckpointAsync(a))["statement"]!.GetValue<string>())!;

        Assert.Equal(first["size"]!.GetValue<long>(), second["size"]!.GetValue<long>());
        Assert.Equal(first["head"]!.GetValue<string>(), second["head"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheWholeLogRewrittenInTheDatabaseFileFailsAgainstAnExportedCheckpoint()
    {
        await ActivityAsync();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _app.DataDirectory };
        var output = new StringWriter();
        Assert.True(await AdminCommand.RunAsync(["audit", "checkpoint", "--export", _kept], output, output, settings) == 0, output.ToString());

        using (var db = _app.OpenDatabase())
        {
            // Someone with write access to the file drops the guards, rewrites event 3 and recomputes every hash after it.
            db.Execute("DROP TRIGGER audit_events_no_update");
            db.Execute("UPDATE audit_events SET detail = '{\"rows\":0}' WHERE seq = 3");
            var events = db.Query<(long Seq, long At, string OrganizationId, string Actor, string Action, string? PartnershipId, string Detail)>(
                "SELECT seq, at, organization_id, actor, action, partnership_id, detail FROM audit_events WHERE seq >= 3 ORDER BY seq").ToList();
            var prev = db.ExecuteScalar<byte[]>("SELECT hash FROM audit_events WHERE seq = 2")!;
            foreach (var e in events)
            {
                var hash = AuditChain.Hash(prev, e.Seq, e.At, e.OrganizationId, e.Actor, e.Action, e.PartnershipId, e.Detail);
                db.Execute("UPDATE audit_events SET prev_hash = @prev, hash = @hash WHERE seq = @Seq", new { prev, hash, e.Seq });
                prev = hash;
            }
            db.Execute("UPDATE audit_head SET hash = @prev WHERE id = 1", new { prev });
            db.Execute("DELETE FROM audit_checkpoints WHERE organization_id IS NULL");
        }

        var against = new StringWriter();
        Assert.Equal(AdminCommand.Failed, await AdminCommand.RunAsync(["audit", "verify", "--checkpoints", _kept], against, against, settings));
        Assert.Contains("rewritten or cut", against.ToString());
    }
}
