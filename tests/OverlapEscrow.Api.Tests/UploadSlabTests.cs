using System.Collections.Concurrent;
using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The pooled 1 MiB slabs an upload seals its small column parts into: a slab must never
/// be handed out again while a slice of it waits to be stored, so the database gets exactly each part's own bytes,
/// under its own organization's key. A store stage slowed down (every store waits, so sealing runs ahead into new
/// slabs) checks that every slice handed to the store is unchanged from the hand-in to the end of the store.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadSlabTests : IDisposable
{
    private readonly ConcurrentQueue<string> _changed = new();
    private readonly EscrowApp _app;
    private int _stores;
    private Func<int, Task>? _beforeStore; // given the store's number (1, 2, ...), before it reaches the database

    public UploadSlabTests()
    {
        _app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "4096", ["Escrow:Uploads:SnapshotSegments"] = "true" })
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => new SlowCheckingStore(store, this)),
        };
    }

    public void Dispose() => _app.Dispose();

    /// <summary>Waits before each pending store and checks the parts' bytes did not change meanwhile nor while stored.</summary>
    private sealed class SlowCheckingStore(IVersionColumnStore inner, UploadSlabTests test) : VersionColumnStoreDecorator(inner)
    {
        public override async Task<bool> AppendPendingPartsAsync(string versionId, IReadOnlyList<PendingPart> parts, DateTimeOffset touchedAt, CancellationToken ct)
        {
            var copies = parts.Select(p => p.Data.Ciphertext.ToArray()).ToList();
            var number = Interlocked.Increment(ref test._stores);
            await Task.Delay(150, ct); // a slow disk: the ordered stage seals the next flushes meanwhile
            Check("while waiting");
            if (test._beforeStore is { } before) await before(number);
            var stored = await Inner.AppendPendingPartsAsync(versionId, parts, touchedAt, ct);
            Check("while stored");
            return stored;

            void Check(string when)
            {
                for (var i = 0; i < parts.Count; i++)
                    if (!parts[i].Data.Ciphertext.Span.SequenceEqual(copies[i]))
                        test._changed.Enqueue($"{versionId} part {parts[i].Part:x} changed {when}");
            }
        }
    }

    /// <summary>
    /// Reads back what the version stored: every segment and column part opens under the organization's key at its
    /// own position; the records are exactly <paramref name="expectedIds"/>, and the parts are the columns of those records.
    /// </summary>
    private async Task<List<long>> AssertStoredExactlyAsync(string organizationId, string versionId, IReadOnlyCollection<string> expectedIds, string otherPrefix)
    {
        var (segments, parts) = await StoredParts.ReadAsync(_app, versionId);
        using var cipher = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(organizationId, CancellationToken.None);
        var records = new List<EscrowRecord>();
        foreach (var s in segments)
            records.AddRange(RecordCodec.ReadAll(cipher.OpenSegment(versionId, s.Seq, new SealedValue(s.Nonce, s.Data, (int)s.KeyVersion)), (int)s.RecordCount));
        Assert.Equal(expectedIds.Order(StringComparer.Ordinal), records.Select(r => r.RecordId).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(records, r => r.RecordId.StartsWith(otherPrefix, StringComparison.Ordinal));

        var expected = VersionColumns.Encode(PopulationData.Materialize(versionId, [records])).ToList();
        Assert.Equal(expected.Select(p => p.Part), parts.Select(p => p.Seq));
        for (var i = 0; i < expected.Count; i++)
        {
            var p = parts[i];
            byte[] plaintext;
            try { plaintext = cipher.Open(VersionStore.SealLabel, VersionStore.SealId(versionId, p.Seq), new SealedValue(p.Nonce, p.Data, (int)p.KeyVersion)); }
            catch (System.Security.Cryptography.CryptographicException) { Assert.Fail($"part {p.Seq:x} of {versionId} does not open under its organization's key"); throw; }
            Assert.True(expected[i].Plaintext.AsSpan().SequenceEqual(plaintext), $"part {p.Seq:x} of {versionId} differs from its columns");
        }
        return parts.Where(p => p.Seq >= VersionColumns.BlockPart(0)).Select(p => (long)p.Data.Length).ToList();
    }

    private static Records.Account Account(string prefix, int i, int attributeLength) =>
        new($"{prefix}-{i:D6}", Domain: $"{prefix}{i}.example", Name: $"{prefix} Account {i}", Country: "US",
            Attributes: new() { ["owner"] = new string((char)('a' + i % 26), attributeLength) });

    [Fact]
    public async Task TwoOrganizationsSnapshotsUploadedAtOnceThroughASlowStoreEachStoreOnlyTheirOwnPartsUnchangedUnderTheirOwnKey()
    {
        // About 200 bytes a record: blocks of ~50 KB, each a slice of a slab; 120,000 records are several 4 MiB flushes and
        // a few dozen slabs, sealed while earlier flushes wait for the slow store.
        const int Count = 120_000;
        var a = await _app.SignupAsync("slab-a");
        var b = await _app.SignupAsync("slab-b");
        var pa = await a.CreatePopulationAsync("Customers");
        var pb = await b.CreatePopulationAsync("Customers");
        var bodyA = Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("AAA", i, 100)));
        var bodyB = Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("BBB", i, 110)));

        var upA = a.UploadOkAsync(pa, bodyA);
        var upB = b.UploadOkAsync(pb, bodyB);
        var versionA = (string)(await upA)["versionId"]!;
        var versionB = (string)(await upB)["versionId"]!;

        Assert.True(_stores >= 6, $"only {_stores} pending stores: the test did not run sealing ahead of storing");
        Assert.Empty(_changed);
        var blocksA = await AssertStoredExactlyAsync(a.Id, versionA, Enumerable.Range(0, Count).Select(i => $"AAA-{i:D6}").ToList(), "BBB");
        var blocksB = await AssertStoredExactlyAsync(b.Id, versionB, Enumerable.Range(0, Count).Select(i => $"BBB-{i:D6}").ToList(), "AAA");
        // The blocks were slab slices (under 64 KiB), and many slabs' worth of them.
        Assert.All(blocksA.Concat(blocksB), l => Assert.InRange(l, 20_000, OverlapEscrow.Application.Keys.SealBuffers.Pooled - 1));
        Assert.True(blocksA.Sum() > 8L * OverlapEscrow.Application.Keys.SealBuffers.SlabBytes, $"{blocksA.Sum()} bytes of blocks");
    }

    [Fact]
    public async Task ASnapshotOutOfIdOrderWithBlocksOnBothSidesOfTheSlabLimitStoresExactlyItsColumns()
    {
        // Attribute lengths vary by stretches of records: some blocks of 256 records are under 64 KiB (slab slices), some
        // over (a pooled buffer of their own), some over a whole slab (1 MiB). The ids arrive out of order halfway, so the
        // blocks stored so far are read back, removed and built anew.
        const int Count = 40_000;
        var org = await _app.SignupAsync("slab-mixed");
        var population = await org.CreatePopulationAsync("Customers");
        int Length(int i) => (i / 1000 % 4) switch { 0 => 4, 1 => 250, 2 => 20, _ => 120 };
        var order = Enumerable.Range(0, Count / 2).Concat(Enumerable.Range(Count / 2, Count / 2).Reverse()).ToList();
        var accounts = order.Select(i => Account("MIX", i, Length(i))).ToList();
        // and a stretch with 32 long attributes a record: 256 of them are more than a slab
        var big = Enumerable.Range(Count, 600).Select(i => new Records.Account($"MIX-{i:D6}", Domain: $"MIX{i}.example",
            Attributes: Enumerable.Range(0, 30).ToDictionary(k => $"f{k}", k => new string('x', 200)))).ToList();
        var versionId = (string)(await org.UploadOkAsync(population, Records.Ndjson(accounts.Concat(big))))["versionId"]!;

        Assert.Empty(_changed);
        await AssertStoredExactlyAsync(org.Id, versionId, accounts.Concat(big).Select(x => x.RecordId).ToList(), "AAA");
        Assert.Equal(Count + 600, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task ASnapshotRefusedAfterItsSlicesWereHandedToTheSlowStoreLeavesTheOtherOrganizationsConcurrentUploadIntact()
    {
        // B's upload fails late (a duplicate record id at its end: rejected, nothing applied) while A's runs beside it.
        const int Count = 80_000;
        var a = await _app.SignupAsync("slab-ok");
        var b = await _app.SignupAsync("slab-bad");
        var pa = await a.CreatePopulationAsync("Customers");
        var pb = await b.CreatePopulationAsync("Customers");
        var bodyA = Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("AAA", i, 10)));
        var bodyB = Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("BBB", i, 10)).Append(Account("BBB", 0, 10)));

        var upA = a.UploadOkAsync(pa, bodyA);
        var upB = b.Http.UploadAsync(pb, bodyB, query: "?onError=reject");
        var versionA = (string)(await upA)["versionId"]!;
        var refused = await upB;

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Empty(_changed);
        await AssertStoredExactlyAsync(a.Id, versionA, Enumerable.Range(0, Count).Select(i => $"AAA-{i:D6}").ToList(), "BBB");
        using var db = _app.OpenAnyDatabase();
        Assert.Equal(0L, await db.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        Assert.Equal(1L, await db.ExecuteScalarAsync<long>("SELECT COUNT(DISTINCT version_id) FROM version_columns"));
    }

    [Fact]
    public async Task ASnapshotWhoseVersionIsSweptWhileItsColumnPartsWaitForTheSlowStoreIsRefusedChangesNothingAndTheNextOneStoresExactly()
    {
        const int Count = 60_000;
        var org = await _app.SignupAsync("slab-swept");
        var population = await org.CreatePopulationAsync("Customers");
        var first = (string)(await org.UploadOkAsync(population, Records.Ndjson(Enumerable.Range(0, 500).Select(i => Account("OLD", i, 5)))))["versionId"]!;
        var swept = 0;
        _beforeStore = async number =>
        {
            if (number < 3 || Volatile.Read(ref swept) == 1) return; // the new upload's second store of column parts
            // What the sweeper does to a pending version it takes for abandoned (its segments and parts go with it).
            using var db = _app.OpenAnyDatabase();
            if (db is Microsoft.Data.Sqlite.SqliteConnection) await db.ExecuteAsync("PRAGMA foreign_keys = ON");
            if (await db.ExecuteAsync("DELETE FROM population_versions WHERE status = 'pending'") == 1) Interlocked.Exchange(ref swept, 1);
        };
        var response = await org.Http.UploadAsync(population, Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("NEW", i, 100))));
        _beforeStore = null;

        Assert.Equal(1, swept);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", await response.Content.ReadAsStringAsync());
        using (var db = _app.OpenAnyDatabase())
        {
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        }
        await AssertStoredExactlyAsync(org.Id, first, Enumerable.Range(0, 500).Select(i => $"OLD-{i:D6}").ToList(), "NEW");
        Assert.Equal(500, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        Assert.DoesNotContain(_app.Logs, l => l.Contains("NEW-0") || l.Contains("   at "));

        var again = (string)(await org.UploadOkAsync(population, Records.Ndjson(Enumerable.Range(0, Count).Select(i => Account("NEW", i, 100)))))["versionId"]!;
        Assert.Empty(_changed);
        await AssertStoredExactlyAsync(org.Id, again, Enumerable.Range(0, Count).Select(i => $"NEW-{i:D6}").ToList(), "OLD");
    }
}

/// <summary>
/// <see cref="OverlapEscrow.Application.Keys.SealBuffers"/> under the two threads an upload uses it from: one takes slices and large
/// buffers and fills them, the other (the store stage) checks them some time later and gives them back. No byte of a
/// piece handed out may change before it is given back.
/// </summary>
public sealed class SealBuffersTests
{
    [Fact]
    public async Task SlicesAndBuffersTakenOnOneThreadAndGivenBackOnAnotherAreNeverHandedOutWhileStillOut()
    {
        var buffers = new OverlapEscrow.Application.Keys.SealBuffers();
        var flushes = System.Threading.Channels.Channel.CreateBounded<List<(Memory<byte> Piece, byte Fill)>>(2);
        var random = new Random(12);
        var broken = 0;
        var consumer = Task.Run(async () =>
        {
            var r = new Random(13);
            await foreach (var flush in flushes.Reader.ReadAllAsync())
            {
                if (r.Next(4) == 0) await Task.Delay(1);
                foreach (var (piece, fill) in flush)
                {
                    if (piece.Span.IndexOfAnyExcept(fill) >= 0) Interlocked.Increment(ref broken);
                    buffers.Return(piece);
                }
            }
        });
        byte next = 0;
        for (var f = 0; f < 3000; f++)
        {
            var flush = new List<(Memory<byte>, byte)>();
            for (var i = random.Next(1, 40); i > 0; i--)
            {
                Memory<byte> piece = random.Next(10) == 0
                    ? buffers.Rent(random.Next(OverlapEscrow.Application.Keys.SealBuffers.Pooled, 3 << 20)).AsMemory(0, OverlapEscrow.Application.Keys.SealBuffers.Pooled)
                    : buffers.TakeSlice(random.Next(17, OverlapEscrow.Application.Keys.SealBuffers.Pooled));
                next = (byte)(next == 255 ? 1 : next + 1);
                piece.Span.Fill(next);
                flush.Add((piece, next));
            }
            await flushes.Writer.WriteAsync(flush);
        }
        flushes.Writer.Complete();
        await consumer;
        Assert.Equal(0, broken);
    }

    [Fact]
    public void ASliceGivenBackTwiceIsRefusedAndItsSlabIsNeverAlsoHandedOutAsALargeBuffer()
    {
        // Not reachable from the upload today (each part is given back once, after its store); without the guard a slab
        // released to the free slabs and then seen again by Return was taken for a large buffer, and then handed out both
        // as the next slab and by Rent, so two parts would have been sealed into the same bytes.
        var buffers = new OverlapEscrow.Application.Keys.SealBuffers();
        var perSlab = OverlapEscrow.Application.Keys.SealBuffers.SlabBytes / 60_000;
        var first = Enumerable.Range(0, perSlab).Select(_ => buffers.TakeSlice(60_000)).ToList();
        buffers.TakeSlice(60_000); // a second slab: the first is full
        foreach (var s in first) buffers.Return(s); // the first slab goes to the free slabs
        Assert.Throws<InvalidOperationException>(() => buffers.Return(first[0])); // once more, by mistake
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(first[0], out var slab));
        var rented = buffers.Rent(OverlapEscrow.Application.Keys.SealBuffers.Pooled);
        Assert.NotSame(slab.Array, rented);
        // The slab itself is the next one handed out, once.
        for (var i = 0; i < perSlab; i++) buffers.TakeSlice(60_000);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(buffers.TakeSlice(60_000), out var next));
        Assert.Same(slab.Array, next.Array);
    }

    [Fact]
    public void ASliceOfTheCurrentSlabGivenBackTwiceIsRefused()
    {
        var buffers = new OverlapEscrow.Application.Keys.SealBuffers();
        var slice = buffers.TakeSlice(1_000);
        buffers.Return(slice);
        Assert.Throws<InvalidOperationException>(() => buffers.Return(slice));
    }
}
