using Dapper;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

public class VersionColumnStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory, StorageData]
    public async Task ColumnsReadPartByPartComeHeaderFirstInPartOrderWithTheirExactBytesAndNoRecordBlocks(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, pop, VersionKind.Snapshot, T0, None);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(version, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
        // Stored out of order, one part larger than a column part (the reader's buffer grows), key versions differing.
        var large = Enumerable.Range(0, 2_000_000).Select(i => (byte)(i * 31)).ToArray();
        VersionPart[] stored =
        [
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Name, 0), new SealedValue([3, 3], [30, 31, 32], 2)),
            new(VersionColumns.BlockPart(0), new SealedValue([9], [90], 1)),
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 1), new SealedValue([2, 2], large, 1)),
            new(VersionColumns.HeaderPart, new SealedValue([1], [10, 11], 1)),
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 0), new SealedValue([4], [], 3)),
        ];
        Assert.Empty(await ReadAllAsync(s.VersionColumns, version)); // not committed: nothing to read
        Assert.True(await s.VersionColumns.AppendPendingAsync(version, stored, T0, None));
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(version, 1, T0, null, null, None));
            await uow.CommitAsync(None);
        }

        var read = await ReadAllAsync(s.VersionColumns, version);

        var expected = stored.Where(p => !VersionColumns.IsBlockPart(p.Part)).OrderBy(p => p.Part).ToList();
        Assert.Equal(expected.Select(p => p.Part), read.Select(p => p.Part));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Data.Nonce, read[i].Data.Nonce);
            Assert.Equal(expected[i].Data.Ciphertext, read[i].Data.Ciphertext);
            Assert.Equal(expected[i].Data.KeyVersion, read[i].Data.KeyVersion);
        }
        Assert.Equal(0, await s.VersionColumns.ReadColumnsAsync("ver_missing", (_, _, _, _) => Assert.Fail("no part"), None));
    }

    [Fact]
    public async Task OnSqliteColumnsReadFromTheMappedDatabaseFileComeBackByteForByteAndTheConnectionGoesBackUnmapped()
    {
        await using var s = await CreateAsync("sqlite");
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, pop, VersionKind.Snapshot, T0, None);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(version, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
        // Two parts of hundreds of overflow pages each, then everything moved from the WAL into the database file, so the
        // read copies them from the mapping (pages still in the WAL are read from there as before).
        var first = Enumerable.Range(0, 1_300_000).Select(i => (byte)(i * 31 + 7)).ToArray();
        var second = Enumerable.Range(0, 700_001).Select(i => (byte)(i * 17 + 3)).ToArray();
        VersionPart[] stored =
        [
            new(VersionColumns.HeaderPart, new SealedValue([1], [10, 11], 1)),
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 0), new SealedValue([2, 2], first, 1)),
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 1), new SealedValue([3, 3], second, 2)),
        ];
        Assert.True(await s.VersionColumns.AppendPendingAsync(version, stored, T0, None));
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(version, 1, T0, null, null, None));
            await uow.CommitAsync(None);
        }
        await using (var own = s.OpenConnection())
            Assert.Equal(0L, await own.ExecuteScalarAsync<long>("PRAGMA wal_checkpoint(TRUNCATE)"));
        List<VersionPart> read = [];
        var mapped = await MappedSizeAfterAsync(s, async () => read = await ReadAllAsync(s.VersionColumns, version));

        Assert.Equal(stored.Select(p => p.Part), read.Select(p => p.Part));
        for (var i = 0; i < stored.Length; i++)
        {
            Assert.Equal(stored[i].Data.Nonce, read[i].Data.Nonce);
            Assert.True(stored[i].Data.Ciphertext.AsSpan().SequenceEqual(read[i].Data.Ciphertext), $"part {i} differs");
            Assert.Equal(stored[i].Data.KeyVersion, read[i].Data.KeyVersion);
        }
        Assert.Equal(0L, mapped);

        // While a read runs, the database file is mapped into the process (its pages count as the process's memory); the
        // unmapped read (a delta's build reads its base's columns that way) maps nothing and gives the same bytes.
        var path = Path.GetFullPath(s.DatabasePath);
        bool MappedNow() => File.ReadLines("/proc/self/maps").Any(l => l.EndsWith(path, StringComparison.Ordinal));
        var seenMapped = false;
        Assert.Equal(stored.Length, await s.VersionColumns.ReadColumnsAsync(version, (_, _, _, _) => seenMapped |= MappedNow(), None));
        Assert.True(seenMapped, "the mapped read did not map the database file");
        var seenUnmapped = false;
        List<VersionPart> unmapped = [];
        Assert.Equal(stored.Length, await s.VersionColumns.ReadColumnsUnmappedAsync(version, (part, nonce, ciphertext, keyVersion) =>
        {
            seenUnmapped |= MappedNow();
            unmapped.Add(new VersionPart(part, new SealedValue(nonce.ToArray(), ciphertext.ToArray(), keyVersion)));
        }, None));
        Assert.False(seenUnmapped, "the unmapped read mapped the database file");
        Assert.Equal(read.Select(p => (p.Part, Convert.ToHexString(p.Data.Nonce), Convert.ToHexString(p.Data.Ciphertext), p.Data.KeyVersion)),
            unmapped.Select(p => (p.Part, Convert.ToHexString(p.Data.Nonce), Convert.ToHexString(p.Data.Ciphertext), p.Data.KeyVersion)));
    }

    [Theory, StorageData]
    public async Task RecordBlocksReadAsARangeComeInBlockOrderWithTheirExactBytesAndNothingElse(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        var version = Ids.New("ver");
        var other = Ids.New("ver");
        foreach (var v in new[] { version, other })
        {
            await s.Populations.BeginVersionAsync(v, pop, VersionKind.Snapshot, T0, None);
            Assert.True(await s.Populations.AppendSegmentAsync(new Segment(v, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
        }
        // Blocks 0-5 and 7 (6 absent), stored out of order; one block larger than the reader's first buffer; the header and a
        // column part beside them, and the other version's blocks under the same numbers.
        var large = Enumerable.Range(0, 3_000_000).Select(i => (byte)(i * 13 + 1)).ToArray();
        VersionPart Block(int b, byte[]? data = null) => new(VersionColumns.BlockPart(b), new SealedValue([(byte)(b + 1)], data ?? [.. Enumerable.Repeat((byte)(40 + b), 5 + b)], 1 + b % 2));
        VersionPart[] stored =
        [
            Block(3), Block(0), Block(5), Block(1, large), Block(7), Block(2), Block(4),
            new(VersionColumns.HeaderPart, new SealedValue([1], [10, 11], 1)),
            new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 0), new SealedValue([2], [20, 21], 1)),
        ];
        Assert.True(await s.VersionColumns.AppendPendingAsync(version, stored, T0, None));
        Assert.True(await s.VersionColumns.AppendPendingAsync(other, [new(VersionColumns.BlockPart(2), new SealedValue([9], [99], 1))], T0, None));

        async Task<List<VersionPart>> RangeAsync(int from, int count)
        {
            List<VersionPart> read = [];
            var n = await s.VersionColumns.ReadBlocksAsync(version, from, count,
                (part, nonce, ciphertext, keyVersion) => read.Add(new VersionPart(part, new SealedValue(nonce.ToArray(), ciphertext.ToArray(), keyVersion))), None);
            Assert.Equal(read.Count, n);
            return read;
        }
        static IEnumerable<(long, string, string, int)> Bytes(IEnumerable<VersionPart> parts) =>
            parts.Select(p => (p.Part, Convert.ToHexString(p.Data.Nonce), Convert.ToHexString(p.Data.Ciphertext), p.Data.KeyVersion));

        foreach (var (from, count) in new[] { (0, 8), (0, 1), (1, 2), (2, 64), (5, 3), (6, 1), (8, 10), (3, 0) })
        {
            var expected = stored.Where(p => VersionColumns.IsBlockPart(p.Part) && (p.Part & 0xFFFF_FFFF) >= from && (p.Part & 0xFFFF_FFFF) < from + count)
                .OrderBy(p => p.Part);
            Assert.Equal(Bytes(expected), Bytes(await RangeAsync(from, count)));
        }
        // The list read gives the same bytes.
        Assert.Equal(Bytes(await s.VersionColumns.ReadBlocksAsync(version, [.. Enumerable.Range(0, 8)], None)), Bytes(await RangeAsync(0, 8)));
        Assert.Equal(0, await s.VersionColumns.ReadBlocksAsync("ver_missing", 0, 8, (_, _, _, _) => Assert.Fail("no block"), None));
    }

    [Fact]
    public async Task OnSqliteAColumnReadThatFailsPartWayStillGivesItsConnectionBackUnmapped()
    {
        await using var s = await CreateAsync("sqlite");
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, pop, VersionKind.Snapshot, T0, None);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(version, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
        Assert.True(await s.VersionColumns.AppendPendingAsync(version,
            [new(VersionColumns.HeaderPart, new SealedValue([1], [10, 11], 1)), new(VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, 0), new SealedValue([2], new byte[100_000], 1))],
            T0, None));
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(version, 1, T0, null, null, None));
            await uow.CommitAsync(None);
        }
        var mapped = await MappedSizeAfterAsync(s, () => Assert.ThrowsAsync<InvalidDataException>(() =>
            s.VersionColumns.ReadColumnsAsync(version, (part, _, _, _) => { if (part != 0) throw new InvalidDataException("refused"); }, None)));

        Assert.Equal(0L, mapped);
    }

    private static VersionPart Part(long part, byte fill, int length = 3) => new(part, new SealedValue([fill], Enumerable.Repeat(fill, length).ToArray(), 1));

    /// <summary>Parts as a build hands them over, each a slice of a larger buffer (only the slice is stored).</summary>
    private static PendingPart[] Pending(params VersionPart[] parts) => [.. parts.Select(p =>
    {
        var buffer = new byte[p.Data.Ciphertext.Length + 7];
        Array.Fill(buffer, (byte)0xEE);
        p.Data.Ciphertext.CopyTo(buffer, 2);
        return new PendingPart(p.Part, new SealedMemory(p.Data.Nonce, buffer.AsMemory(2, p.Data.Ciphertext.Length), p.Data.KeyVersion));
    })];

    private static long Column(int chunk) => VersionColumns.ColumnPart(Domain.Records.IdentifierType.Domain, chunk);

    /// <summary>A committed version with no columns stored (what a delta is right after its commit).</summary>
    private static async Task<string> CommittedWithoutColumnsAsync(Stores s, string population)
    {
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, population, VersionKind.Snapshot, T0, None);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(version, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
        await using var uow = await s.Transactions.BeginAsync(None);
        Assert.NotNull(await uow.Populations.CommitAsync(version, 1, T0, null, null, None));
        await uow.CommitAsync(None);
        return version;
    }

    private static async Task<List<long>> StoredPartsAsync(Stores s, string version)
    {
        await using var db = await s.Connections.OpenAsync();
        return (await db.QueryAsync<long>("SELECT part FROM version_columns WHERE version_id = @version ORDER BY part", new { version })).ToList();
    }

    [Theory, StorageData]
    public async Task PartsStoredInBatchesAreNoVersionsColumnsUntilTheHeaderIsStoredLastAndOnlyWithEveryPartThere(string provider)
    {
        await using var s = await CreateAsync(provider);
        var pop = await s.PopulationAsync(await s.OrganizationAsync("acme"));
        var version = await CommittedWithoutColumnsAsync(s, pop);
        long[] parts = [Column(0), Column(1), VersionColumns.BlockPart(0)];

        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(0), 1), Part(VersionColumns.BlockPart(0), 2)), None));
        // Stored, but not the version's columns: neither read takes them, and a part is missing, so no header is stored.
        Assert.Equal(2, (await StoredPartsAsync(s, version)).Count);
        Assert.Equal(0, await s.VersionColumns.ReadColumnsAsync(version, (_, _, _, _) => Assert.Fail("no part before the header"), None));
        Assert.Empty(await s.VersionColumns.ReadColumnsAsync(version, None));
        Assert.False(await s.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 9), parts, None));
        Assert.DoesNotContain(VersionColumns.HeaderPart, await StoredPartsAsync(s, version));

        // The rest, with a part stored again by another build of the same version (same part, other bytes): it replaces it.
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(1), 3), Part(Column(0), 4, 5)), None));
        Assert.True(await s.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 9), parts, None));

        var read = await ReadAllAsync(s.VersionColumns, version);
        Assert.Equal([VersionColumns.HeaderPart, Column(0), Column(1)], read.Select(p => p.Part));
        Assert.Equal(new byte[] { 9, 9, 9 }, read[0].Data.Ciphertext);
        Assert.Equal(new byte[] { 4, 4, 4, 4, 4 }, read[1].Data.Ciphertext);
        Assert.Equal([VersionColumns.HeaderPart, Column(0), Column(1)], (await s.VersionColumns.ReadColumnsAsync(version, None)).Select(p => p.Part));
        // Complete: a build that comes after stores nothing more, nor does a load storing the version whole.
        Assert.False(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(2), 5)), None));
        Assert.False(await s.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 8), parts, None));
        Assert.False(await s.VersionColumns.StoreAsync(version, [Part(VersionColumns.HeaderPart, 7)], None));
        Assert.Equal([VersionColumns.HeaderPart, Column(0), Column(1), VersionColumns.BlockPart(0)], await StoredPartsAsync(s, version));
        Assert.Equal(new byte[] { 9, 9, 9 }, (await ReadAllAsync(s.VersionColumns, version))[0].Data.Ciphertext);
    }

    [Theory, StorageData]
    public async Task AnUnfinishedBuildsPartsGiveWayToTheBuildThatFinishesAndToALoadStoringTheVersionWhole(string provider)
    {
        await using var s = await CreateAsync(provider);
        var pop = await s.PopulationAsync(await s.OrganizationAsync("acme"));

        // A build of another shape cut off (three chunks, two blocks), then one of two chunks and one block finishes: what
        // the first left beyond the second's parts goes.
        var version = await CommittedWithoutColumnsAsync(s, pop);
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version,
            Pending(Part(Column(0), 1), Part(Column(1), 1), Part(Column(2), 1), Part(VersionColumns.BlockPart(0), 1), Part(VersionColumns.BlockPart(1), 1)), None));
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(0), 2), Part(Column(1), 2), Part(VersionColumns.BlockPart(0), 2)), None));
        Assert.True(await s.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 2), [Column(0), Column(1), VersionColumns.BlockPart(0)], None));
        Assert.Equal([VersionColumns.HeaderPart, Column(0), Column(1), VersionColumns.BlockPart(0)], await StoredPartsAsync(s, version));
        Assert.All(await ReadAllAsync(s.VersionColumns, version), p => Assert.Equal(2, p.Data.Ciphertext[0]));

        // A load storing the version in one transaction (a version materialized from its segments) replaces an unfinished build.
        var other = await CommittedWithoutColumnsAsync(s, pop);
        Assert.True(await s.VersionColumns.AppendCommittedAsync(other, Pending(Part(Column(0), 1), Part(Column(5), 1)), None));
        Assert.True(await s.VersionColumns.StoreAsync(other, [Part(VersionColumns.HeaderPart, 3), Part(Column(0), 3)], None));
        Assert.Equal([VersionColumns.HeaderPart, Column(0)], await StoredPartsAsync(s, other));
        Assert.All(await ReadAllAsync(s.VersionColumns, other), p => Assert.Equal(3, p.Data.Ciphertext[0]));

        // A build given up takes its parts away; a version with its columns keeps them. (Each version committed here
        // supersedes the one before, which goes with its parts: each is checked before the next.)
        var givenUp = await CommittedWithoutColumnsAsync(s, pop);
        Assert.True(await s.VersionColumns.AppendCommittedAsync(givenUp, Pending(Part(Column(0), 1), Part(VersionColumns.BlockPart(0), 1)), None));
        Assert.True(await s.VersionColumns.RemoveUnfinishedAsync(givenUp, None));
        Assert.Empty(await StoredPartsAsync(s, givenUp));
        Assert.True(await s.VersionColumns.StoreAsync(givenUp, [Part(VersionColumns.HeaderPart, 4), Part(Column(0), 4)], None));
        Assert.False(await s.VersionColumns.RemoveUnfinishedAsync(givenUp, None));
        Assert.Equal([VersionColumns.HeaderPart, Column(0)], await StoredPartsAsync(s, givenUp));

        // Nothing for a version that is gone or not committed; a part list with a gap or the header is refused.
        Assert.False(await s.VersionColumns.AppendCommittedAsync("ver_missing", Pending(Part(Column(0), 1)), None));
        Assert.False(await s.VersionColumns.CompleteAsync("ver_missing", Part(VersionColumns.HeaderPart, 1), [], None));
        var pending = Ids.New("ver");
        await s.Populations.BeginVersionAsync(pending, pop, VersionKind.Snapshot, T0, None);
        Assert.False(await s.VersionColumns.AppendCommittedAsync(pending, Pending(Part(Column(0), 1)), None));
        Assert.Empty(await StoredPartsAsync(s, pending));
        var third = await CommittedWithoutColumnsAsync(s, pop);
        await Assert.ThrowsAsync<ArgumentException>(() => s.VersionColumns.CompleteAsync(third, Part(VersionColumns.HeaderPart, 1), [Column(0), Column(2)], None));
        await Assert.ThrowsAsync<ArgumentException>(() => s.VersionColumns.AppendCommittedAsync(third, Pending(Part(VersionColumns.HeaderPart, 1)), None));
        Assert.Empty(await StoredPartsAsync(s, third));
    }

    [Theory, StorageData]
    public async Task TwoBuildsOfOneVersionInterleavedLeaveItsColumnsWholeOnceAndTheSecondToFinishStoresNothing(string provider)
    {
        await using var s = await CreateAsync(provider);
        var pop = await s.PopulationAsync(await s.OrganizationAsync("acme"));
        var version = await CommittedWithoutColumnsAsync(s, pop);
        long[] parts = [Column(0), Column(1), VersionColumns.BlockPart(0), VersionColumns.BlockPart(1)];
        // Another instance's build runs beside this one (each writes the same parts, sealed with nonces of its own).
        var other = s.SecondInstance();

        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(0), 1), Part(Column(1), 1)), None));
        Assert.True(await other.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(0), 2), Part(Column(1), 2), Part(VersionColumns.BlockPart(0), 2)), None));
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(VersionColumns.BlockPart(0), 1), Part(VersionColumns.BlockPart(1), 1)), None));
        Assert.True(await s.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 1), parts, None));
        Assert.False(await other.VersionColumns.AppendCommittedAsync(version, Pending(Part(VersionColumns.BlockPart(1), 2)), None));
        Assert.False(await other.VersionColumns.CompleteAsync(version, Part(VersionColumns.HeaderPart, 2), parts, None));

        Assert.Equal([VersionColumns.HeaderPart, .. parts], await StoredPartsAsync(s, version));
        Assert.Equal(1, (await ReadAllAsync(other.VersionColumns, version))[0].Data.Ciphertext[0]);
    }

    [Theory, StorageData]
    public async Task TheHeaderIsStoredOnlyOverPartsAllUnderItsOwnDataKey(string provider)
    {
        await using var s = await CreateAsync(provider);
        var pop = await s.PopulationAsync(await s.OrganizationAsync("acme"));
        var version = await CommittedWithoutColumnsAsync(s, pop);
        long[] parts = [Column(0), Column(1)];
        static VersionPart Under(VersionPart part, int keyVersion) => part with { Data = part.Data with { KeyVersion = keyVersion } };

        // A build under key 2 stores both parts; then one that a whole data-key rotation overtook (still sealing under the
        // destroyed key 1) stores one of them again.
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Under(Part(Column(0), 1), 2), Under(Part(Column(1), 2), 2)), None));
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Part(Column(1), 3)), None));

        // Every part is there, but not under the header's key: no header, so nothing unreadable becomes the version's columns.
        Assert.False(await s.VersionColumns.CompleteAsync(version, Under(Part(VersionColumns.HeaderPart, 9), 2), parts, None));
        Assert.DoesNotContain(VersionColumns.HeaderPart, await StoredPartsAsync(s, version));
        Assert.Equal(0, await s.VersionColumns.ReadColumnsAsync(version, (_, _, _, _) => Assert.Fail("no part before the header"), None));
        // The next build, under key 2 throughout, completes.
        Assert.True(await s.VersionColumns.AppendCommittedAsync(version, Pending(Under(Part(Column(1), 4), 2)), None));
        Assert.True(await s.VersionColumns.CompleteAsync(version, Under(Part(VersionColumns.HeaderPart, 9), 2), parts, None));
        Assert.Equal([2, 2, 2], (await ReadAllAsync(s.VersionColumns, version)).Select(p => p.Data.KeyVersion));
    }

    [Theory, StorageData]
    public async Task BuildsLoadsReadersAndReSealingAtOnceLeaveEveryVersionWithAllItsPartsOrNoneVisible(string provider)
    {
        await using var s = await CreateAsync(provider);
        var other = s.SecondInstance();
        var pop = await s.PopulationAsync(await s.OrganizationAsync("acme"));
        long[] parts = [.. Enumerable.Range(0, 10).Select(Column), .. Enumerable.Range(0, 5).Select(VersionColumns.BlockPart)];
        var columnParts = 1 + parts.Count(p => !VersionColumns.IsBlockPart(p));
        var errors = new List<string>();
        for (var round = 0; round < 8; round++)
        {
            var version = await CommittedWithoutColumnsAsync(s, pop);
            var done = false;
            // A build: the parts in random batches, then the header; each build's bytes carry its own fill.
            async Task BuildAsync(IVersionColumnStore store, byte fill, int seed)
            {
                var random = new Random(seed);
                for (var i = 0; i < parts.Length;)
                {
                    var n = random.Next(1, 4);
                    if (!await store.AppendCommittedAsync(version, Pending([.. parts.Skip(i).Take(n).Select(p => Part(p, fill, 2000))]), None)) return;
                    i += n;
                    await Task.Delay(random.Next(0, 3));
                }
                await store.CompleteAsync(version, Part(VersionColumns.HeaderPart, fill), parts, None);
            }
            async Task ReadAsync(IVersionColumnStore store)
            {
                while (!Volatile.Read(ref done))
                {
                    var streamed = await store.ReadColumnsAsync(version, (_, _, _, _) => { }, None);
                    var whole = (await store.ReadColumnsAsync(version, None)).Count;
                    var page = (await store.ReadColumnPartsAsync(version, 0, 100, None)).Count;
                    foreach (var (what, count) in new[] { ("streamed", streamed), ("read", whole), ("paged", page) })
                        if (count != 0 && count != columnParts) lock (errors) errors.Add($"{what} {count} of {columnParts} parts");
                }
            }
            // A data-key rotation's compare-and-set on each part, as SealedValueRepository.ReplaceAsync does it.
            async Task ReSealAsync()
            {
                var random = new Random(round);
                while (!Volatile.Read(ref done))
                {
                    await using var db = await s.Connections.OpenAsync();
                    foreach (var (part, nonce) in await db.QueryAsync<(long, byte[])>("SELECT part, nonce FROM version_columns WHERE version_id = @version", new { version }))
                        // Under the same key version: a header is stored only over parts under its own key (the next test).
                        await db.ExecuteAsync("UPDATE version_columns SET nonce = @again, key_version = 1 WHERE version_id = @version AND part = @part AND nonce = @nonce",
                            new { again = new[] { (byte)random.Next(), (byte)1 }, version, part, nonce });
                }
            }
            List<Task> writers =
            [
                Task.Run(() => BuildAsync(s.VersionColumns, 1, round * 10 + 1)),
                Task.Run(() => BuildAsync(other.VersionColumns, 2, round * 10 + 2)),
                Task.Run(() => BuildAsync(s.VersionColumns, 3, round * 10 + 3)),
                Task.Run(() => BuildAsync(other.VersionColumns, 4, round * 10 + 4)),
            ];
            if (round % 2 == 0)
                writers.Add(Task.Run(async () =>
                {
                    await Task.Delay(5);
                    await other.VersionColumns.StoreAsync(version, [Part(VersionColumns.HeaderPart, 9), .. parts.Select(p => Part(p, 9))], None);
                }));
            Task[] beside = [Task.Run(() => ReadAsync(s.VersionColumns)), Task.Run(() => ReadAsync(other.VersionColumns)), Task.Run(ReSealAsync)];
            try { await Task.WhenAll(writers); }
            catch (Exception e) { lock (errors) errors.Add($"a writer: {e.GetType().Name}: {e.Message}"); }
            Volatile.Write(ref done, true);
            try { await Task.WhenAll(beside); }
            catch (Exception e) { lock (errors) errors.Add($"a reader: {e.GetType().Name}: {e.Message}"); }
            var stored = await StoredPartsAsync(s, version);
            if (!stored.SequenceEqual([VersionColumns.HeaderPart, .. parts])) errors.Add($"round {round}: stored {string.Join(",", stored)}");
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors.Distinct().Take(20)));
    }

    /// <summary>
    /// The mmap_size of the very connection a read used, once the read has given it back. The pool hands back the
    /// connection last given back, so one is marked (an unusual cache_size) before the read and recognized after it. Any
    /// other test's clean-up clears every SQLite pool of the process (<c>SqliteConnection.ClearAllPools</c>), and the
    /// marked connection is then gone: that attempt proves nothing and is made again with a new mark.
    /// </summary>
    private static async Task<long> MappedSizeAfterAsync(Stores s, Func<Task> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            var mark = -1000 - attempt;
            await using (var marked = await s.Connections.OpenAsync())
                await marked.ExecuteAsync($"PRAGMA cache_size = {mark}");
            await read();
            await using var after = await s.Connections.OpenAsync();
            if (await after.ExecuteScalarAsync<long>("PRAGMA cache_size") == mark)
                return await after.ExecuteScalarAsync<long>("PRAGMA mmap_size");
            Assert.True(attempt < 5, "the marked connection did not come back from the pool in five attempts");
        }
    }

    /// <summary>Every part handed over, copied out of the reader's buffer during the call (the only time it is valid).</summary>
    private static async Task<List<VersionPart>> ReadAllAsync(IVersionColumnStore store, string version)
    {
        var parts = new List<VersionPart>();
        var count = await store.ReadColumnsAsync(version, (part, nonce, ciphertext, keyVersion) =>
            parts.Add(new VersionPart(part, new SealedValue(nonce.ToArray(), ciphertext.ToArray(), keyVersion))), None);
        Assert.Equal(parts.Count, count);
        return parts;
    }
}
