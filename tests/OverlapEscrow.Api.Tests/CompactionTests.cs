using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Compaction folds a long delta chain into a snapshot of the same records. Its stored columns are written with the
/// pending version, before the commit, as an upload's are: the compacted version must still be visible wholly or not
/// at all.
/// </summary>
public sealed class CompactionTests
{
    /// <summary>Passes every call on; once armed, the first pending parts written are followed by a "crash".</summary>
    private sealed class CrashAfterPendingParts(IVersionColumnStore inner, Func<string, Task> atCrash) : VersionColumnStoreDecorator(inner)
    {
        public volatile bool Armed;
        public int Crashes;

        public override async Task<bool> AppendPendingAsync(string versionId, IReadOnlyList<VersionPart> parts, DateTimeOffset touchedAt, CancellationToken ct)
        {
            var stored = await Inner.AppendPendingAsync(versionId, parts, touchedAt, ct);
            if (!Armed) return stored;
            Armed = false;
            Crashes++;
            await atCrash(versionId);
            throw new IOException("Simulated crash after the compacted version's parts were written, before its commit.");
        }
    }

    [Fact]
    public async Task ACompactionThatFailsAfterStoringItsColumnsLeavesTheChainCurrentAndNothingOfItself()
    {
        CrashAfterPendingParts? columns = null;
        EscrowApp app = null!;
        (string? Current, string? Status, long Parts, long Records) atCrash = default;
        string population = "";
        app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:CompactAfterDeltas"] = "2" })
        {
            TestServices = services =>
            {
                VersionColumnStoreDecorator.Replace(services, (_, store) => columns = new CrashAfterPendingParts(store,
                    versionId =>
                    {
                        // What a process dying here would leave: the compacted version pending with its parts, the chain current.
                        using var db = app.OpenDatabase();
                        atCrash = (db.ExecuteScalar<string?>("SELECT current_version_id FROM populations WHERE id = @population", new { population }),
                            db.ExecuteScalar<string?>("SELECT status FROM population_versions WHERE id = @versionId", new { versionId }),
                            db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @versionId", new { versionId }),
                            db.ExecuteScalar<long>("SELECT record_count FROM population_versions WHERE id = (SELECT current_version_id FROM populations WHERE id = @population)", new { population }));
                        return Task.CompletedTask;
                    }));
            },
        };
        using var _ = app;
        var org = await app.SignupAsync("compacting");
        population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("C", 0, 10));
        await org.UploadOkAsync(population, Records.Range("C", 10, 5), delta: true);
        columns!.Armed = true;
        // The second delta makes the chain two deep: the compaction runs after its commit, and "crashes".
        var head = (await org.UploadOkAsync(population, """{"recordId":"C-00000","op":"delete"}""" + "\n", delta: true))["versionId"]!.GetValue<string>();

        Assert.Equal(1, columns.Crashes);
        Assert.Equal((head, "pending"), (atCrash.Current, atCrash.Status));
        Assert.True(atCrash.Parts > 0, "the compacted version's columns are written before its commit");
        Assert.Equal(14, atCrash.Records);
        var after = await Json(await org.Http.GetAsync($"/v1/populations/{population}"));
        Assert.Equal((head, 14L), (after["currentVersionId"]!.GetValue<string>(), after["recordCount"]!.GetValue<long>()));
        using (var db = app.OpenDatabase())
        {
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions)"));
        }

        // Unarmed, the next compaction commits, with its columns.
        await org.UploadOkAsync(population, """{"recordId":"C-00001","op":"delete"}""" + "\n", delta: true);
        var compacted = await Json(await org.Http.GetAsync($"/v1/populations/{population}"));
        Assert.Equal(13, compacted["recordCount"]!.GetValue<long>());
        using (var db = app.OpenDatabase())
        {
            var current = compacted["currentVersionId"]!.GetValue<string>();
            Assert.Equal(("snapshot", "committed"), db.QuerySingle<(string, string)>("SELECT kind, status FROM population_versions WHERE id = @current", new { current }));
            Assert.True(db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @current", new { current }) > 0);
        }
        await Expect(await org.Http.GetAsync($"/v1/populations/{population}"), HttpStatusCode.OK);
    }
}
