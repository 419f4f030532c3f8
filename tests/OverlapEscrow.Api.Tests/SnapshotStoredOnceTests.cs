using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A committed snapshot's stored columns (token columns and record blocks) hold all of it, so a snapshot may be stored
/// without record segments (docs/architecture.md, "Populations, versions, segments"). What reads a version's records —
/// a delta's load over it, a compaction of its chain — then reads them back from the columns. Here a snapshot's segments
/// are never stored (<c>Uploads:SnapshotSegments</c> false) or removed from the database, and the same uploads go to a
/// second population that keeps its segments: both must answer the same, and as the test's own model of the data says.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class SnapshotStoredOnceTests
{
    /// <summary>Account i matched by its domain, or, every fifth, by its name alone (two identifier types to read back).</summary>
    private static Records.Account Account(string prefix, int i, string tag) => i % 5 == 0
        ? new Records.Account($"{prefix}-{i:D5}", Name: $"Company {i}", Country: "US", Attributes: new() { ["tag"] = tag })
        : new Records.Account($"{prefix}-{i:D5}", Domain: $"d{i}.example", Attributes: new() { ["tag"] = tag });

    private static string Accounts(string prefix, IEnumerable<int> ids, string tag) => Records.Ndjson(ids.Select(i => Account(prefix, i, tag)));

    private static string Deletions(IEnumerable<int> ids) => string.Concat(ids.Select(i => $$"""{"recordId":"A-{{i:D5}}","op":"delete"}""" + "\n"));

    /// <param name="uploadedWithout">
    /// True: uploaded with <c>Uploads:SnapshotSegments</c> false (the default), so no record is stored as segments (only
    /// the marker); false: uploaded with its segments, which the test then removes from the database.
    /// </param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASnapshotWithoutSegmentsIsReadFromItsColumnsByADeltaOverItAndByTheCompactionOfItsChain(bool uploadedWithout)
    {
        using var app = new EscrowApp(new Dictionary<string, string?>
        {
            ["Escrow:Uploads:CompactAfterDeltas"] = "2", ["Escrow:Uploads:SnapshotSegments"] = uploadedWithout ? "false" : "true",
        });
        var org = await app.SignupAsync("stored-once");
        var partner = await app.SignupAsync("stored-once-partner");
        var once = await org.CreatePopulationAsync("Stored once");
        var control = await org.CreatePopulationAsync("With segments");
        // 700 accounts: three record blocks of 256.
        var mine = Enumerable.Range(0, 700).ToHashSet();
        var snapshot = Accounts("A", mine, "v1");
        var stripped = (await org.UploadOkAsync(once, snapshot))["versionId"]!.GetValue<string>();
        // The control is the same records sent as a first delta, which is stored with its segments whatever the setting.
        await org.UploadOkAsync(control, snapshot, delta: true);
        using (var db = app.OpenAnyDatabase())
        {
            // Stored without segments: only the marker, a segment counted as holding no record.
            var segments = db.Query<(long Records, byte[] Nonce, byte[] Data, long KeyVersion)>(
                "SELECT CAST(record_count AS BIGINT), nonce, data, CAST(key_version AS BIGINT) FROM segments WHERE version_id = @stripped", new { stripped }).ToList();
            Assert.Equal(uploadedWithout ? [0L] : [700L], segments.Select(g => g.Records));
            if (uploadedWithout)
            {
                // What a build from before columns-only snapshots does with it (its VersionStore read every segment so):
                // it fails on the count rather than read the snapshot as empty.
                using var cipher = await app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(org.Id, CancellationToken.None);
                var plaintext = cipher.OpenSegment(stripped, 0, new SealedValue(segments[0].Nonce, segments[0].Data, (int)segments[0].KeyVersion));
                Assert.Throws<InvalidDataException>(() => RecordCodec.ReadAll(plaintext, (int)segments[0].Records));
            }
            else
            {
                db.Execute("DELETE FROM segments WHERE version_id = @stripped", new { stripped });
                db.Execute("UPDATE population_versions SET segment_count = 0 WHERE id = @stripped", new { stripped });
            }
            Assert.True(db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @stripped", new { stripped }) > 3);
        }
        var theirs = await partner.CreatePopulationAsync("Customers");
        var partnerIds = Enumerable.Range(300, 800).ToHashSet();
        await partner.UploadOkAsync(theirs, Accounts("P", partnerIds, "partner"));
        await partner.ShareAsync(theirs, "overlaps", "tag");
        var partnership = await org.PartnerAsync(partner);

        // A delta over the stripped snapshot: 40 deletions, 10 records changed, 50 new ones.
        var changed = Enumerable.Range(400, 10).ToList();
        var added = Enumerable.Range(700, 50).ToList();
        var delta = Deletions(Enumerable.Range(300, 40)) + Accounts("A", [.. changed, .. added], "v2");
        mine.ExceptWith(Enumerable.Range(300, 40));
        mine.UnionWith(added);
        await org.UploadOkAsync(once, delta, delta: true);
        await org.UploadOkAsync(control, delta, delta: true);
        await AssertBothAsync(expected: mine.Intersect(partnerIds).Count(), records: mine.Count);

        // A second delta makes the chain two deep: it is compacted into a snapshot, read from the stripped root's columns too.
        var second = Deletions(Enumerable.Range(500, 20)) + Accounts("A", Enumerable.Range(750, 10), "v3");
        mine.ExceptWith(Enumerable.Range(500, 20));
        mine.UnionWith(Enumerable.Range(750, 10));
        await org.UploadOkAsync(once, second, delta: true);
        await org.UploadOkAsync(control, second, delta: true);
        using (var db = app.OpenAnyDatabase())
            Assert.Equal("snapshot", db.ExecuteScalar<string>(
                "SELECT kind FROM population_versions WHERE id = (SELECT current_version_id FROM populations WHERE id = @once)", new { once }));
        await AssertBothAsync(expected: mine.Intersect(partnerIds).Count(), records: mine.Count);

        async Task AssertBothAsync(int expected, int records)
        {
            foreach (var population in new[] { once, control })
                Assert.Equal(records, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
            var matrix = await org.MatrixAsync(partnership);
            Assert.Equal(expected, matrix.Cell(once, theirs)!["count"]!.GetValue<int>());
            Assert.Equal(expected, matrix.Cell(control, theirs)!["count"]!.GetValue<int>());
            var listed = await org.ListAllAsync(partnership, once, theirs);
            var reference = await org.ListAllAsync(partnership, control, theirs);
            Assert.Equal(expected, listed.Count);
            Assert.Equal(reference.Select(i => i.ToJsonString()), listed.Select(i => i.ToJsonString()));
            // The changed records show the delta's attributes, read through the columns' record blocks and the delta.
            Assert.Contains("v2", string.Concat(listed.Select(i => i.ToJsonString())));
        }
    }

    [Fact]
    public async Task ASnapshotStoredAsItsColumnsOnlyWhoseBlocksAreLostFailsLoudlyAndIsNeverReadAsEmpty()
    {
        using var app = new EscrowApp();
        var org = await app.SignupAsync("stored-once-damaged");
        var partner = await app.SignupAsync("stored-once-damaged-partner");
        var population = await org.CreatePopulationAsync("Customers");
        var version = (await org.UploadOkAsync(population, Accounts("A", Enumerable.Range(0, 700), "v1")))["versionId"]!.GetValue<string>();
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.UploadOkAsync(theirs, Accounts("P", Enumerable.Range(300, 800), "partner"));
        await partner.ShareAsync(theirs, "overlaps");
        var partnership = await org.PartnerAsync(partner);
        // Its one record block of three lost (a damaged database): a delta over it must not be applied to fewer records.
        using (var db = app.OpenAnyDatabase())
            Assert.Equal(1, db.Execute($"DELETE FROM version_columns WHERE version_id = @version AND part = {OverlapEscrow.Domain.Matching.VersionColumns.BlockPart(1)}", new { version }));

        var delta = await org.Http.UploadAsync(population, Accounts("A", Enumerable.Range(700, 5), "v2"), delta: true);
        var matrix = await org.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps");

        // The delta commits (its columns are written on a later load, which fails the same way), and no read shows it
        // over a population missing a block's records: the matrix fails rather than count them as absent.
        Assert.Equal(HttpStatusCode.OK, delta.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, matrix.StatusCode);
        Assert.Contains("InvalidDataException", matrix.ReasonPhrase);
    }
}
