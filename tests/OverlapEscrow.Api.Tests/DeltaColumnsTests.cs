using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A delta's stored columns are built on its first load (right after its commit) from its base's stored columns and record
/// blocks and its own records (docs/architecture.md, "A delta's columns"); a base without stored columns (a version stored
/// before them) has its chain materialized record by record, the older way. Both ways must give the same version: the same
/// uploads go to two populations, one of which loses its snapshot's columns before the delta, and every read must answer
/// the same and as the test's model says.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class DeltaColumnsTests
{
    private static Records.Account Account(int i, string tag) => i % 4 == 0
        ? new Records.Account($"A-{i:D5}", Name: $"Company {i}", Country: "US", Attributes: new() { ["tag"] = tag })
        : new Records.Account($"A-{i:D5}", Domain: $"d{i}.example", Attributes: new() { ["tag"] = tag });

    private static string Accounts(IEnumerable<int> ids, string tag) => Records.Ndjson(ids.Select(i => Account(i, tag)));

    private static string Deletions(IEnumerable<int> ids) => string.Concat(ids.Select(i => $$"""{"recordId":"A-{{i:D5}}","op":"delete"}""" + "\n"));

    /// <summary>An organization partnered with another whose population of <paramref name="partnerIds"/> is shared at the overlaps level, with its "tag".</summary>
    private static async Task<(Org Org, string Theirs, string Partnership)> PartneredAsync(EscrowApp app, string slug, IEnumerable<int> partnerIds)
    {
        var org = await app.SignupAsync(slug);
        var partner = await app.SignupAsync(slug + "-partner");
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.UploadOkAsync(theirs, Accounts(partnerIds, "partner"));
        await partner.ShareAsync(theirs, "overlaps", "tag");
        return (org, theirs, await org.PartnerAsync(partner));
    }

    [Fact]
    public async Task ADeltaBuiltFromItsBaseColumnsReadsTheSameAsOneMaterializedFromItsChainAndAsTheModel()
    {
        // Snapshots keep their segments here, so a snapshot whose columns are removed can still be materialized.
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SnapshotSegments"] = "true" });
        var partnerIds = Enumerable.Range(200, 900).ToHashSet();
        var (org, theirs, partnership) = await PartneredAsync(app, "delta-columns", partnerIds);
        var built = await org.CreatePopulationAsync("From its base's columns");
        var materialized = await org.CreatePopulationAsync("Materialized");

        // 800 accounts: four record blocks of 256.
        var mine = Enumerable.Range(0, 800).ToHashSet();
        await org.UploadOkAsync(built, Accounts(mine, "v1"));
        var stripped = (await org.UploadOkAsync(materialized, Accounts(mine, "v1")))["versionId"]!.GetValue<string>();
        // The uploads' background refreshes first: one loading the snapshot after its columns are gone would write them
        // again (a load of a version without columns does), and the delta would not take the older way.
        await app.RefreshedAsync();
        using (var db = app.OpenAnyDatabase())
            Assert.True(db.Execute("DELETE FROM version_columns WHERE version_id = @stripped", new { stripped }) > 4);

        // 60 deletions (one of an id the population lacks), 30 records changed, 40 new ones before, among and after the rest.
        var changed = Enumerable.Range(500, 30).ToList();
        int[] added = [.. Enumerable.Range(800, 35), .. new[] { 1001, 1003, 1005, 1007, 1009 }];
        var delta = Deletions([.. Enumerable.Range(100, 59), 5000]) + Accounts([.. changed, .. added], "v2");
        mine.ExceptWith(Enumerable.Range(100, 59));
        mine.UnionWith(added);
        var builtDelta = (await org.UploadOkAsync(built, delta, delta: true))["versionId"]!.GetValue<string>();
        var materializedDelta = (await org.UploadOkAsync(materialized, delta, delta: true))["versionId"]!.GetValue<string>();

        using (var db = app.OpenAnyDatabase())
        {
            long Parts(string version) => db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @version", new { version });
            // Each delta's columns were written by its first load; the stripped snapshot's were not written again (the
            // materialization reads segments and writes only the delta's).
            Assert.Equal(Parts(builtDelta), Parts(materializedDelta));
            Assert.Equal(0, Parts(stripped));
            var blocks = db.ExecuteScalar<long>(
                $"SELECT COUNT(*) FROM version_columns WHERE version_id = @builtDelta AND part >= {VersionColumns.BlockPart(0)}", new { builtDelta });
            Assert.Equal((mine.Count + 255) / 256, blocks);
        }
        foreach (var population in new[] { built, materialized })
            Assert.Equal(mine.Count, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        var expected = mine.Intersect(partnerIds).Count();
        var matrix = await org.MatrixAsync(partnership);
        Assert.Equal(expected, matrix.Cell(built, theirs)!["count"]!.GetValue<int>());
        Assert.Equal(expected, matrix.Cell(materialized, theirs)!["count"]!.GetValue<int>());
        var listed = await org.ListAllAsync(partnership, built, theirs);
        var reference = await org.ListAllAsync(partnership, materialized, theirs);
        Assert.Equal(expected, listed.Count);
        Assert.Equal(reference.Select(i => i.ToJsonString()), listed.Select(i => i.ToJsonString()));
        // The changed records show the delta's attributes; the deleted ones are gone.
        var text = string.Concat(listed.Select(i => i.ToJsonString()));
        Assert.Contains("A-00510", text);
        Assert.DoesNotContain("A-00150", text);
        Assert.True(partnerIds.IsSupersetOf([.. changed, .. added]));
        Assert.Equal(changed.Count + added.Length, listed.Count(i => i.ToJsonString().Contains("\"v2\"")));

        // A second delta over the first: its base is now a delta whose columns were built the new way.
        var second = Deletions(Enumerable.Range(600, 10)) + Accounts(Enumerable.Range(1100, 5), "v3");
        mine.ExceptWith(Enumerable.Range(600, 10));
        mine.UnionWith(Enumerable.Range(1100, 5));
        await org.UploadOkAsync(built, second, delta: true);
        await org.UploadOkAsync(materialized, second, delta: true);
        expected = mine.Intersect(partnerIds).Count();
        matrix = await org.MatrixAsync(partnership);
        Assert.Equal(expected, matrix.Cell(built, theirs)!["count"]!.GetValue<int>());
        Assert.Equal(expected, matrix.Cell(materialized, theirs)!["count"]!.GetValue<int>());
        Assert.Equal((await org.ListAllAsync(partnership, materialized, theirs)).Select(i => i.ToJsonString()),
            (await org.ListAllAsync(partnership, built, theirs)).Select(i => i.ToJsonString()));
    }

    [Theory]
    [InlineData(1)] // inside the first range of blocks a build reads at once
    [InlineData(3)] // its last
    public async Task ADeltaOverABaseMissingARecordBlockIsMaterializedFromTheBasesSegments(int missingBlock)
    {
        // Snapshots keep their segments here, so the chain can still be read record by record.
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SnapshotSegments"] = "true" });
        var partnerIds = Enumerable.Range(0, 1000).ToHashSet();
        var (org, theirs, partnership) = await PartneredAsync(app, "delta-missing-block-" + missingBlock, partnerIds);
        var population = await org.CreatePopulationAsync("Customers");
        var baseVersion = (await org.UploadOkAsync(population, Accounts(Enumerable.Range(0, 800), "v1")))["versionId"]!.GetValue<string>();
        await app.RefreshedAsync();
        using (var db = app.OpenAnyDatabase())
            Assert.Equal(1, db.Execute($"DELETE FROM version_columns WHERE version_id = @baseVersion AND part = {VersionColumns.BlockPart(missingBlock)}", new { baseVersion }));

        await org.UploadOkAsync(population, Accounts(Enumerable.Range(800, 10), "v2"), delta: true);

        var listed = await org.ListAllAsync(partnership, population, theirs);
        Assert.Equal(Enumerable.Range(0, 810).Select(i => $"A-{i:D5}"), listed.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    /// <summary>Passes every call on; once armed, the first batch of a committed version's parts holding a token column part is followed by a "crash".</summary>
    private sealed class CrashAfterABatch(IVersionColumnStore inner, Func<string, Task> atCrash) : VersionColumnStoreDecorator(inner)
    {
        public volatile bool Armed;
        public int Batches;

        public override async Task<bool> AppendCommittedAsync(string versionId, IReadOnlyList<PendingPart> parts, CancellationToken ct)
        {
            var stored = await Inner.AppendCommittedAsync(versionId, parts, ct);
            Interlocked.Increment(ref Batches);
            // After the first token column part (record blocks come first, and column reads skip them anyway).
            if (!Armed || parts.All(p => VersionColumns.IsBlockPart(p.Part))) return stored;
            Armed = false;
            await atCrash(versionId);
            throw new IOException("Simulated crash after a delta's first batch of column parts.");
        }
    }

    [Fact]
    public async Task ADeltaBuildCutOffAfterItsFirstBatchLeavesNoColumnsAndTheNextLoadBuildsThemWhole()
    {
        CrashAfterABatch? columns = null;
        EscrowApp app = null!;
        (long Parts, long Headers, int Read) atCrash = default;
        // Every part its own batch: a delta of 800 records stores its parts in several transactions, the header last.
        app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:DeltaColumnsBatchBytes"] = "1" })
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => columns = new CrashAfterABatch(store, async versionId =>
            {
                // What a process dying here leaves: some parts of the delta, no header, and no columns to read.
                using var db = app.OpenAnyDatabase();
                atCrash = (db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @versionId", new { versionId }),
                    db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @versionId AND part = 0", new { versionId }),
                    await store.ReadColumnsAsync(versionId, (_, _, _, _) => { }, CancellationToken.None));
            })),
        };
        using var _ = app;
        var partnerIds = Enumerable.Range(200, 900).ToHashSet();
        var (org, theirs, partnership) = await PartneredAsync(app, "delta-crash", partnerIds);
        var population = await org.CreatePopulationAsync("Customers");
        var control = await org.CreatePopulationAsync("Uploaded whole");
        var mine = Enumerable.Range(0, 800).ToHashSet();
        await org.UploadOkAsync(population, Accounts(mine, "v1"));
        await app.RefreshedAsync();

        columns!.Armed = true;
        var delta = Deletions(Enumerable.Range(100, 50)) + Accounts([.. Enumerable.Range(500, 20), .. Enumerable.Range(800, 30)], "v2");
        // Committed before its first load: the upload answers, the crash only logged.
        var deltaVersion = (await org.UploadOkAsync(population, delta, delta: true))["versionId"]!.GetValue<string>();
        mine.ExceptWith(Enumerable.Range(100, 50));
        mine.UnionWith(Enumerable.Range(800, 30));
        var changed = Enumerable.Range(500, 20).Concat(Enumerable.Range(800, 30)).ToHashSet();
        await org.UploadOkAsync(control, Records.Ndjson(mine.Order().Select(i => Account(i, changed.Contains(i) ? "v2" : "v1"))));

        Assert.False(columns.Armed, "the delta's first load stored a token column part");
        // Record blocks and a token column part stored, no header, and none of it read as the version's columns.
        Assert.True(atCrash.Parts >= 2, $"{atCrash.Parts} parts stored at the crash");
        Assert.Equal((0L, 0), (atCrash.Headers, atCrash.Read));
        // The next load (the matrix read, or the refresh before it) builds the columns again and completes them.
        var expected = mine.Intersect(partnerIds).Count();
        var matrix = await org.MatrixAsync(partnership);
        Assert.Equal(expected, matrix.Cell(population, theirs)!["count"]!.GetValue<int>());
        Assert.Equal(expected, matrix.Cell(control, theirs)!["count"]!.GetValue<int>());
        await app.RefreshedAsync();
        using (var db = app.OpenAnyDatabase())
        {
            var whole = db.ExecuteScalar<string>("SELECT current_version_id FROM populations WHERE id = @control", new { control });
            long Parts(string version) => db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @version", new { version });
            Assert.Equal(Parts(whole!), Parts(deltaVersion));
            Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND part = 0", new { deltaVersion }));
            // One transaction a part (the crashed one's batch among them), the header apart.
            Assert.True(columns.Batches >= Parts(deltaVersion), $"{columns.Batches} batches for {Parts(deltaVersion)} parts");
        }
        Assert.Equal((await org.ListAllAsync(partnership, control, theirs)).Select(i => i.ToJsonString()),
            (await org.ListAllAsync(partnership, population, theirs)).Select(i => i.ToJsonString()));
    }

    /// <summary>Passes every call on; once armed, runs a whole data-key rotation right after the first batch of parts is stored.</summary>
    private sealed class RotateAfterABatch(IVersionColumnStore inner, Func<Task> rotate) : VersionColumnStoreDecorator(inner)
    {
        public volatile bool Armed;
        public int Removed;

        public override async Task<bool> RemoveUnfinishedAsync(string versionId, CancellationToken ct)
        {
            var removed = await Inner.RemoveUnfinishedAsync(versionId, ct);
            if (removed) Interlocked.Increment(ref Removed);
            return removed;
        }

        public override async Task<bool> AppendCommittedAsync(string versionId, IReadOnlyList<PendingPart> parts, CancellationToken ct)
        {
            var stored = await Inner.AppendCommittedAsync(versionId, parts, ct);
            if (!Armed) return stored;
            Armed = false;
            await rotate();
            return stored;
        }
    }

    [Fact]
    public async Task ADeltaBuildThatADataKeyRotationOvertakesIsLeftWithoutItsHeaderAndBuiltAgainUnderTheNewKey()
    {
        RotateAfterABatch? columns = null;
        EscrowApp app = null!;
        string orgId = "";
        int? rotatedTo = null;
        app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:DeltaColumnsBatchBytes"] = "1" })
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => columns = new RotateAfterABatch(store, async () =>
            {
                // The whole rotation, old key destroyed, while the build still holds a cipher of the old key.
                var result = await app.Services.GetRequiredService<OverlapEscrow.Application.Keys.DataKeyRotation>()
                    .RotateAsync(orgId, new OverlapEscrow.Application.Keys.DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);
                rotatedTo = result.ToVersion;
            })),
        };
        using var _ = app;
        var org = await app.SignupAsync("delta-rotation");
        orgId = org.Id;
        var population = await org.CreatePopulationAsync("Customers");
        var mine = Enumerable.Range(0, 800).ToHashSet();
        await org.UploadOkAsync(population, Accounts(mine, "v1"));
        await app.RefreshedAsync();

        columns!.Armed = true;
        var applied = await org.UploadOkAsync(population, Deletions(Enumerable.Range(0, 100)) + Accounts(Enumerable.Range(800, 50), "v2"), delta: true);
        var deltaVersion = applied["versionId"]!.GetValue<string>();
        mine.ExceptWith(Enumerable.Range(0, 100));
        mine.UnionWith(Enumerable.Range(800, 50));
        // The upload's own load of the delta (its count) finished: the build the rotation overtook gave way to one under
        // the new key, rather than failing on the base's parts the rotation had re-sealed meanwhile.
        Assert.Equal(mine.Count, applied["recordCount"]?.GetValue<long>());
        await app.RefreshedAsync();

        Assert.False(columns.Armed);
        Assert.NotNull(rotatedTo);
        // The overtaken build removed what it had stored under the retired key before the next build began (left there, had
        // the next build failed too, they would stop the next rotation).
        Assert.True(columns.Removed >= 1, "the overtaken build's parts were not removed");
        using (var db = app.OpenAnyDatabase())
            // The build given up left nothing under the destroyed key (its cached result served the refresh meanwhile).
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND key_version <> @rotatedTo",
                new { deltaVersion, rotatedTo }));
        // Whatever is stored of the delta's columns now opens: a load from storage (not the cache) reads them, or, finding no
        // header, builds them again under the new key and stores them.
        var versions = app.Services.GetRequiredService<OverlapEscrow.Application.Overlaps.VersionStore>();
        Assert.Equal(mine.Count, (await versions.LoadAsync(org.Id, deltaVersion, CancellationToken.None)).RecordCount);
        Assert.Equal(mine.Count, (await versions.LoadAsync(org.Id, deltaVersion, CancellationToken.None)).RecordCount);
        using var after = app.OpenAnyDatabase();
        Assert.Equal(1, after.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND part = 0", new { deltaVersion }));
        Assert.Equal([(long)rotatedTo!.Value], after.Query<long>("SELECT DISTINCT CAST(key_version AS BIGINT) FROM version_columns WHERE version_id = @deltaVersion", new { deltaVersion }));
    }

    /// <summary>Passes every call on; while rotations are left, runs a whole data-key rotation right after a build's second read of its base's columns (the merge).</summary>
    private sealed class RotateAfterTheMerge(IVersionColumnStore inner, Func<Task> rotate) : VersionColumnStoreDecorator(inner)
    {
        public int RotationsLeft;
        private int _reads;

        public override async Task<int> ReadColumnsUnmappedAsync(string versionId, SealedPartReader read, CancellationToken ct)
        {
            var count = await Inner.ReadColumnsUnmappedAsync(versionId, read, ct);
            if (Interlocked.Increment(ref _reads) % 2 == 0 && Interlocked.Decrement(ref RotationsLeft) >= 0) await rotate();
            return count;
        }
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(3, false)]
    public async Task ADeltaWhoseBuildsRotationsOvertakeAfterTheirReadsIsListedAsSoonAsItIsCommitted(int rotations, bool storedByTheLoad)
    {
        // A rotation after the build has read everything under the old key, before it stores its header: the build gives up
        // storing (its parts are under the retiring key). The load builds again under the new key (one rotation); when
        // rotations overtake every build it tries (three), it returns the columns unstored, and the first list that finds
        // the version's record blocks missing makes the caches load it again, which stores them. Either way the lists read.
        RotateAfterTheMerge? columns = null;
        EscrowApp app = null!;
        string orgId = "";
        var rotated = 0;
        app = new EscrowApp()
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => columns = new RotateAfterTheMerge(store, async () =>
            {
                await app.Services.GetRequiredService<OverlapEscrow.Application.Keys.DataKeyRotation>()
                    .RotateAsync(orgId, new OverlapEscrow.Application.Keys.DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);
                Interlocked.Increment(ref rotated);
            })),
        };
        using var _ = app;
        var partnerIds = Enumerable.Range(0, 1000).Where(i => i % 3 == 0).ToHashSet();
        var (org, theirs, partnership) = await PartneredAsync(app, "delta-rotated-" + rotations, partnerIds);
        orgId = org.Id;
        var population = await org.CreatePopulationAsync("Customers");
        var mine = Enumerable.Range(0, 800).ToHashSet();
        await org.UploadOkAsync(population, Accounts(mine, "v1"));
        await app.RefreshedAsync();

        columns!.RotationsLeft = rotations;
        var applied = await org.UploadOkAsync(population, Deletions(Enumerable.Range(0, 90)) + Accounts(Enumerable.Range(800, 60), "v2"), delta: true);
        var deltaVersion = applied["versionId"]!.GetValue<string>();
        mine.ExceptWith(Enumerable.Range(0, 90));
        mine.UnionWith(Enumerable.Range(800, 60));
        Assert.Equal(mine.Count, applied["recordCount"]?.GetValue<long>());
        Assert.Equal(rotations, rotated);

        var listed = await org.ListAllAsync(partnership, population, theirs);
        Assert.Equal(mine.Intersect(partnerIds).Select(i => $"A-{i:D5}").Order(StringComparer.Ordinal),
            listed.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Contains(listed, i => i.ToJsonString().Contains("\"v2\""));
        await app.RefreshedAsync();
        // Stored by then, whole, under the key of now.
        using var db = app.OpenAnyDatabase();
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND part = 0", new { deltaVersion }));
        Assert.Single(db.Query<long>("SELECT DISTINCT CAST(key_version AS BIGINT) FROM version_columns WHERE version_id = @deltaVersion", new { deltaVersion }));
        Assert.Equal((mine.Count + 255) / 256, db.ExecuteScalar<long>(
            $"SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND part >= {VersionColumns.BlockPart(0)}", new { deltaVersion }));

        // The load itself, outside the caches and the refreshes: it returns the columns stored, built again after each
        // rotation, unless rotations overtook every build it tries.
        Assert.True(db.Execute("DELETE FROM version_columns WHERE version_id = @deltaVersion", new { deltaVersion }) > 0);
        columns.RotationsLeft = rotations;
        var versions = app.Services.GetRequiredService<OverlapEscrow.Application.Overlaps.VersionStore>();
        Assert.Equal(mine.Count, (await versions.LoadAsync(org.Id, deltaVersion, CancellationToken.None)).RecordCount);
        Assert.Equal(2 * rotations, rotated);
        Assert.Equal(storedByTheLoad ? 1 : 0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @deltaVersion AND part = 0", new { deltaVersion }));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("1048576")]
    public async Task ADeltaWhoseTokenChunksAreSealedIntoReusedBuffersReadsAsTheSameRecordsUploadedWhole(string batchBytes)
    {
        // Two token chunks over 64 KiB (a domain and a name for each of 6,000 records). Every part its own batch: the second
        // chunk is sealed into the buffer the first was stored from. All in one batch of 1 MiB: each in a buffer of its own.
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:DeltaColumnsBatchBytes"] = batchBytes });
        var org = await app.SignupAsync("delta-buffers");
        var partner = await app.SignupAsync("delta-buffers-partner");
        var population = await org.CreatePopulationAsync("Customers");
        var control = await org.CreatePopulationAsync("Uploaded whole");
        var theirs = await partner.CreatePopulationAsync("Customers");
        static Records.Account Both(int i, string tag) =>
            new($"B-{i:D5}", Domain: $"b{i}.example", Name: $"Business {i}", Country: "DE", Attributes: new() { ["tag"] = tag });
        // The partner shares domains for the even half and names only for the rest, so both columns must be read right.
        await partner.UploadOkAsync(theirs, Records.Ndjson(Enumerable.Range(3000, 6000).Select(i =>
            i % 2 == 0 ? new Records.Account($"P-{i:D5}", Domain: $"b{i}.example") : new Records.Account($"P-{i:D5}", Name: $"Business {i}", Country: "DE"))));
        await partner.ShareAsync(theirs, "overlaps", "tag");
        var partnership = await org.PartnerAsync(partner);
        var mine = Enumerable.Range(0, 6000).ToHashSet();
        await org.UploadOkAsync(population, Records.Ndjson(mine.Select(i => Both(i, "v1"))));

        var delta = string.Concat(Enumerable.Range(4000, 500).Select(i => $$"""{"recordId":"B-{{i:D5}}","op":"delete"}""" + "\n")) + Records.Ndjson(Enumerable.Range(6000, 400).Select(i => Both(i, "v2")));
        var deltaVersion = (await org.UploadOkAsync(population, delta, delta: true))["versionId"]!.GetValue<string>();
        mine.ExceptWith(Enumerable.Range(4000, 500));
        mine.UnionWith(Enumerable.Range(6000, 400));
        var whole = (await org.UploadOkAsync(control, Records.Ndjson(mine.Order().Select(i => Both(i, i >= 6000 ? "v2" : "v1")))))["versionId"]!.GetValue<string>();
        await app.RefreshedAsync();

        using (var db = app.OpenAnyDatabase())
        {
            var sizes = db.Query<long>($"SELECT CAST(LENGTH(data) AS BIGINT) FROM version_columns WHERE version_id = @deltaVersion AND part > 0 AND part < {VersionColumns.BlockPart(0)}",
                new { deltaVersion }).ToList();
            Assert.Equal(2, sizes.Count);
            Assert.All(sizes, size => Assert.True(size > 64 * 1024, $"a token chunk of {size} bytes"));
        }
        // Read back as stored (the caches hold what the build returned, not what it stored): each column as the same
        // records uploaded as one snapshot store it.
        var versions = app.Services.GetRequiredService<OverlapEscrow.Application.Overlaps.VersionStore>();
        var stored = await versions.LoadAsync(org.Id, deltaVersion, CancellationToken.None);
        var reference = await versions.LoadAsync(org.Id, whole, CancellationToken.None);
        foreach (var type in new[] { OverlapEscrow.Domain.Records.IdentifierType.Domain, OverlapEscrow.Domain.Records.IdentifierType.Name })
        {
            Assert.Equal(reference.Column(type).Tokens, stored.Column(type).Tokens);
            Assert.Equal(reference.Column(type).Ordinals, stored.Column(type).Ordinals);
        }
        var expected = mine.Intersect(Enumerable.Range(3000, 6000)).Count();
        var matrix = await org.MatrixAsync(partnership);
        Assert.Equal((expected, expected, mine.Count, mine.Count), (matrix.Cell(population, theirs)!["count"]!.GetValue<int>(), matrix.Cell(control, theirs)!["count"]!.GetValue<int>(),
            (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<int>(),
            (await Json(await org.Http.GetAsync($"/v1/populations/{control}")))["recordCount"]!.GetValue<int>()));
        Assert.Equal((await org.ListAllAsync(partnership, control, theirs)).Select(i => i.ToJsonString()),
            (await org.ListAllAsync(partnership, population, theirs)).Select(i => i.ToJsonString()));
    }

    [Fact]
    public async Task AChainFoldedIntoASnapshotCopiesTheCurrentColumnsAndReadsAsTheSameRecordsUploadedAsOneSnapshot()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:CompactAfterDeltas"] = "2" });
        var partnerIds = Enumerable.Range(100, 1000).ToHashSet();
        var (org, theirs, partnership) = await PartneredAsync(app, "delta-compaction", partnerIds);
        var folded = await org.CreatePopulationAsync("Folded");
        var control = await org.CreatePopulationAsync("Uploaded whole");

        // Hashed under spec v2 (not the oldest): the folded snapshot must carry it as an uploaded one would.
        async Task<System.Text.Json.Nodes.JsonObject> UploadV2Async(string body, bool delta = false)
        {
            var response = await org.Http.UploadAsync(folded, body, delta: delta, hashingSpec: "v2");
            await Expect(response, System.Net.HttpStatusCode.OK);
            return await Json(response);
        }
        // The model: id -> tag.
        var mine = Enumerable.Range(0, 700).ToDictionary(i => i, _ => "v1");
        await UploadV2Async(Accounts(mine.Keys, "v1"));
        await UploadV2Async(Deletions(Enumerable.Range(200, 50)) + Accounts([.. Enumerable.Range(300, 20), .. Enumerable.Range(700, 30)], "v2"), delta: true);
        foreach (var i in Enumerable.Range(200, 50)) mine.Remove(i);
        foreach (var i in Enumerable.Range(300, 20).Concat(Enumerable.Range(700, 30))) mine[i] = "v2";
        var second = await UploadV2Async(Deletions(Enumerable.Range(0, 10)) + Accounts(Enumerable.Range(730, 40), "v3"), delta: true);
        foreach (var i in Enumerable.Range(0, 10)) mine.Remove(i);
        foreach (var i in Enumerable.Range(730, 40)) mine[i] = "v3";
        Assert.Equal(mine.Count, second["recordCount"]!.GetValue<long>());
        await org.UploadOkAsync(control, Records.Ndjson(mine.OrderBy(m => m.Key).Select(m => Account(m.Key, m.Value))));

        using (var db = app.OpenAnyDatabase())
        {
            string Current(string population) => db.ExecuteScalar<string>("SELECT current_version_id FROM populations WHERE id = @population", new { population })!;
            var (compacted, whole) = (Current(folded), Current(control));
            Assert.Equal("snapshot", db.ExecuteScalar<string>("SELECT kind FROM population_versions WHERE id = @compacted", new { compacted }));
            // Folded from the columns: its one segment is the columns-only marker (no record decoded, none stored twice), and it
            // has as many stored parts as the same records uploaded as one snapshot.
            Assert.Equal([0L], db.Query<long>("SELECT CAST(record_count AS BIGINT) FROM segments WHERE version_id = @compacted", new { compacted }));
            long Parts(string version) => db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @version", new { version });
            Assert.Equal(Parts(whole), Parts(compacted));
            Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE population_id = @folded", new { folded }));
        }
        Assert.Equal("v2", (await Json(await org.Http.GetAsync($"/v1/populations/{folded}")))["hashingSpec"]!.GetValue<string>());
        var expected = mine.Keys.Intersect(partnerIds).Count();
        var matrix = await org.MatrixAsync(partnership);
        Assert.Equal(expected, matrix.Cell(folded, theirs)!["count"]!.GetValue<int>());
        Assert.Equal(expected, matrix.Cell(control, theirs)!["count"]!.GetValue<int>());
        var listed = await org.ListAllAsync(partnership, folded, theirs);
        Assert.Equal(expected, listed.Count);
        Assert.Equal((await org.ListAllAsync(partnership, control, theirs)).Select(i => i.ToJsonString()), listed.Select(i => i.ToJsonString()));
        Assert.Equal(40, listed.Count(i => i.ToJsonString().Contains("\"v3\"")));
    }
}
