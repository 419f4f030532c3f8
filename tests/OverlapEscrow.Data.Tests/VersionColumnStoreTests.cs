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
