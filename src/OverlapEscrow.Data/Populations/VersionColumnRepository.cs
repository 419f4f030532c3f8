using System.Buffers;
using Dapper;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Data.Populations;

internal sealed class VersionColumnRepository(IDbScope scope) : IVersionColumnStore
{
    public async Task<IReadOnlyList<VersionPart>> ReadColumnsAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<PartRow>(
            $"SELECT part, nonce, data, key_version FROM version_columns WHERE version_id = @versionId AND part < @blocks AND {HeaderStored} ORDER BY part",
            new { versionId, blocks = VersionColumns.BlockPart(0), header = VersionColumns.HeaderPart });
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public Task<int> ReadColumnsAsync(string versionId, SealedPartReader read, CancellationToken ct) => ReadColumnsAsync(versionId, read, mapped: true, ct);

    public Task<int> ReadColumnsUnmappedAsync(string versionId, SealedPartReader read, CancellationToken ct) => ReadColumnsAsync(versionId, read, mapped: false, ct);

    private Task<int> ReadColumnsAsync(string versionId, SealedPartReader read, bool mapped, CancellationToken ct) =>
        StreamPartsAsync(
            $"version_id = @versionId AND part < @blocks AND {HeaderStored}",
            new { versionId, blocks = VersionColumns.BlockPart(0), header = VersionColumns.HeaderPart }, read, mapped, headerFirst: true, ct);

    public Task<int> ReadBlocksAsync(string versionId, int fromBlock, int count, SealedPartReader read, CancellationToken ct) =>
        count <= 0
            ? Task.FromResult(0)
            : StreamPartsAsync("version_id = @versionId AND part >= @from AND part < @to",
                new { versionId, from = VersionColumns.BlockPart(fromBlock), to = VersionColumns.BlockPart(fromBlock) + count }, read, mapped: false, headerFirst: false, ct);

    /// <summary>
    /// The parts <paramref name="where"/> selects, in part order, each read into one reused buffer and handed to
    /// <paramref name="read"/>; the number read.
    /// </summary>
    private async Task<int> StreamPartsAsync(string where, object args, SealedPartReader read, bool mapped, bool headerFirst, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // On SQLite, with the row's rowid among the columns the provider reads a value by incremental blob I/O, straight
        // into the buffer; without it, it first copies each value into a new array of its own (a large-object
        // allocation per 1.3 MB part). PostgreSQL's rows have no rowid, and its provider streams from the row it read.
        var sqlite = db.Dialect == SqlDialect.Sqlite;
        var rowid = sqlite ? "rowid, " : "";
        mapped &= sqlite;
        var first = sqlite ? 1 : 0;
        // On SQLite, unless the caller asked for an unmapped read, the database file memory-mapped for this read only: each
        // 4 KB overflow page of a part is then copied from the mapping instead of read with a pread of its own (about 20,000
        // system calls for the 80 MB of a 1M x 1M overlap). Set back to 0 (the project's default) before the connection
        // goes back: nothing else reads mapped.
        if (mapped) await db.ExecuteAsync($"PRAGMA mmap_size = {MappedBytes}");
        var buffer = ArrayPool<byte>.Shared.Rent(InitialPartBuffer);
        var count = 0;
        try
        {
            await using var reader = await db.ReaderAsync($"SELECT {rowid}part, nonce, data, key_version FROM version_columns WHERE {where} ORDER BY part", args);
            while (await reader.ReadAsync(ct))
            {
                // The columns' statement reads nothing of a version without its header; the header comes first, as the decoder needs it.
                if (headerFirst && count == 0 && reader.GetInt64(first) != VersionColumns.HeaderPart) throw new InvalidDataException("A version's columns lack their header.");
                int length;
                await using (var data = reader.GetStream(first + 2))
                {
                    length = checked((int)data.Length);
                    if (length > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(length);
                    }
                    await data.ReadExactlyAsync(buffer.AsMemory(0, length), ct);
                }
                read(reader.GetInt64(first), (byte[])reader.GetValue(first + 1), buffer.AsSpan(0, length), checked((int)reader.GetInt64(first + 3)));
                count++;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            // After the reader is closed: SQLite leaves the mapping as it is while a statement holds pages of it.
            if (mapped) await db.ExecuteAsync("PRAGMA mmap_size = 0");
        }
        return count;
    }

    /// <summary>
    /// The condition that the version's header is stored: parts without it are an unfinished build's (<see cref="AppendCommittedAsync"/>),
    /// no columns to any read. In the statement itself, so nothing of such a version is read (or sent, by PostgreSQL).
    /// </summary>
    private const string HeaderStored = "EXISTS (SELECT 1 FROM version_columns h WHERE h.version_id = @versionId AND h.part = @header)";

    /// <summary>
    /// How much of the database file a column read maps (SQLite caps it at its compile-time SQLITE_MAX_MMAP_SIZE, 2 GB
    /// in the bundled build; pages beyond are read as before).
    /// </summary>
    private const long MappedBytes = 1L << 40;

    /// <summary>A column part's sealed size (<see cref="VersionColumns.ChunkTokens"/> tokens and ordinals, the tag), rounded up.</summary>
    private const int InitialPartBuffer = 4 + VersionColumns.ChunkTokens * 20 + 64;

    public async Task<IReadOnlyList<VersionPart>> ReadColumnPartsAsync(string versionId, long fromPart, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<PartRow>(
            $"SELECT part, nonce, data, key_version FROM version_columns WHERE version_id = @versionId AND part >= @fromPart AND part < @blocks AND {HeaderStored} ORDER BY part LIMIT @limit",
            new { versionId, fromPart, blocks = VersionColumns.BlockPart(0), header = VersionColumns.HeaderPart, limit });
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<VersionPart>> ReadBlocksAsync(string versionId, IReadOnlyCollection<int> blocks, CancellationToken ct)
    {
        if (blocks.Count == 0) return [];
        await using var db = await scope.OpenAsync(ct);
        var parts = new List<VersionPart>(blocks.Count);
        // In batches: SQLite limits the parameters of one statement.
        foreach (var batch in blocks.Order().Select(VersionColumns.BlockPart).Chunk(500))
            parts.AddRange((await db.QueryAsync<PartRow>(
                $"SELECT part, nonce, data, key_version FROM version_columns WHERE version_id = @versionId AND {db.Dialect.In("part", "batch")} ORDER BY part",
                new { versionId, batch })).Select(r => r.ToDomain()));
        return parts;
    }

    public async Task<bool> StoreAsync(string versionId, IEnumerable<VersionPart> parts, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // With the version's row locked: a version deleted meanwhile (superseded, its organization erased) gets nothing, and
        // of two loads writing the same version's parts the second waits for the first and then writes nothing.
        if (!await LockIncompleteAsync(db, versionId)) return false;
        // An unfinished build's parts (one cut off by a crash, or running beside this load: it then finds the header and stops).
        await db.ExecuteAsync("DELETE FROM version_columns WHERE version_id = @versionId", new { versionId });
        await InsertAsync(db, versionId, parts);
        await tx.CommitAsync();
        return true;
    }

    public async Task<bool> AppendCommittedAsync(string versionId, IReadOnlyList<PendingPart> parts, CancellationToken ct)
    {
        if (parts.Any(p => p.Part == VersionColumns.HeaderPart)) throw new ArgumentException("The header is stored by CompleteAsync, last.", nameof(parts));
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (!await LockIncompleteAsync(db, versionId)) return false;
        // From the caller's buffers (reused for its next parts), not from arrays of their own.
        foreach (var part in parts)
            await db.ExecuteWithBlobAsync(
                """
                INSERT INTO version_columns (version_id, part, nonce, data, key_version) VALUES (@versionId, @part, @nonce, @data, @keyVersion)
                ON CONFLICT (version_id, part) DO UPDATE SET nonce = excluded.nonce, data = excluded.data, key_version = excluded.key_version
                """,
                [("versionId", versionId), ("part", part.Part), ("nonce", part.Data.Nonce), ("keyVersion", part.Data.KeyVersion)], "data", part.Data.Ciphertext);
        await tx.CommitAsync();
        return true;
    }

    public async Task<bool> CompleteAsync(string versionId, VersionPart header, IReadOnlyCollection<long> parts, CancellationToken ct)
    {
        if (header.Part != VersionColumns.HeaderPart) throw new ArgumentException("Not the header part.", nameof(header));
        // Each kind's parts as one range [kind << 32, (kind << 32) + count): a handful of conditions, however many parts.
        var ranges = new List<(long From, long To)>();
        foreach (var kind in parts.GroupBy(p => p >> 32))
        {
            var indexes = kind.Select(p => p & 0xFFFF_FFFF).Distinct().Count();
            if (kind.Any(p => p == VersionColumns.HeaderPart) || kind.Max(p => p & 0xFFFF_FFFF) != indexes - 1 || indexes != kind.Count())
                throw new ArgumentException("Each kind's parts must be numbered from 0 without gaps or repeats, the header not among them.", nameof(parts));
            ranges.Add((kind.Key << 32, (kind.Key << 32) + indexes));
        }
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (!await LockIncompleteAsync(db, versionId)) return false;
        var args = new DynamicParameters();
        args.Add("versionId", versionId);
        for (var i = 0; i < ranges.Count; i++)
        {
            args.Add($"from{i}", ranges[i].From);
            args.Add($"to{i}", ranges[i].To);
        }
        var inRanges = ranges.Count == 0 ? "1 = 0" : string.Join(" OR ", ranges.Select((_, i) => $"(part >= @from{i} AND part < @to{i})"));
        await db.ExecuteAsync($"DELETE FROM version_columns WHERE version_id = @versionId AND NOT ({inRanges})", args);
        // Every part under the header's key: a build that a whole data-key rotation overtook may have written a part
        // under the destroyed key after another build wrote it under the new one (a header then would make it unreadable).
        if (await db.ScalarAsync<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @versionId AND key_version = @keyVersion",
                new { versionId, keyVersion = header.Data.KeyVersion }) != parts.Count)
        {
            await tx.CommitAsync(); // the other shape's parts stay removed; the rest waits for the next build
            return false;
        }
        await InsertAsync(db, versionId, [header]);
        await tx.CommitAsync();
        return true;
    }

    public async Task<bool> RemoveUnfinishedAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (!await LockIncompleteAsync(db, versionId)) return false;
        await db.ExecuteAsync("DELETE FROM version_columns WHERE version_id = @versionId", new { versionId });
        await tx.CommitAsync();
        return true;
    }

    /// <summary>
    /// Within a write transaction: locks the version's row if it is committed and has no stored header yet (its columns
    /// not written, or written by a build not finished). Two builds of a version's columns, and a build and a load storing
    /// them at once, take turns on that lock; the one that finds the header stops.
    /// </summary>
    private static async Task<bool> LockIncompleteAsync(Db db, string versionId) =>
        await db.ScalarAsync<string?>(
            $"SELECT id FROM population_versions WHERE id = @versionId AND status = 'committed'{db.Dialect.ForNoKeyUpdate}", new { versionId }) is not null
        && await db.ScalarAsync<long>("SELECT COUNT(*) FROM version_columns WHERE version_id = @versionId AND part = @header",
            new { versionId, header = VersionColumns.HeaderPart }) == 0;

    public Task<bool> AppendPendingAsync(string versionId, IReadOnlyList<VersionPart> parts, DateTimeOffset touchedAt, CancellationToken ct) =>
        AppendPendingPartsAsync(versionId, parts.Select(p => new PendingPart(p.Part, p.Data)).ToList(), touchedAt, ct);

    public async Task<bool> AppendPendingPartsAsync(string versionId, IReadOnlyList<PendingPart> parts, DateTimeOffset touchedAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // Only while pending (the row's lock held to the end): a version swept as abandoned, or committed, gets nothing.
        if (await db.ExecuteAsync("UPDATE population_versions SET touched_at = @touchedAt WHERE id = @versionId AND status = 'pending'",
                new { versionId, touchedAt = Time.ToUnixMs(touchedAt) }) != 1)
            return false;
        // From the caller's buffers (an upload reuses them for its next parts), not from arrays of their own.
        foreach (var part in parts)
            await db.ExecuteWithBlobAsync(
                "INSERT INTO version_columns (version_id, part, nonce, data, key_version) VALUES (@versionId, @part, @nonce, @data, @keyVersion)",
                [("versionId", versionId), ("part", part.Part), ("nonce", part.Data.Nonce), ("keyVersion", part.Data.KeyVersion)], "data", part.Data.Ciphertext);
        await tx.CommitAsync();
        return true;
    }

    public async Task<bool> RemovePendingBlocksAsync(string versionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (await db.ScalarAsync<string?>(
                $"SELECT id FROM population_versions WHERE id = @versionId AND status = 'pending'{db.Dialect.ForNoKeyUpdate}", new { versionId }) is null)
            return false;
        await db.ExecuteAsync("DELETE FROM version_columns WHERE version_id = @versionId AND part >= @blocks",
            new { versionId, blocks = VersionColumns.BlockPart(0) });
        await tx.CommitAsync();
        return true;
    }

    private sealed class PartRow
    {
        public long Part { get; init; }
        public byte[] Nonce { get; init; } = [];
        public byte[] Data { get; init; } = [];
        public long KeyVersion { get; init; }

        public VersionPart ToDomain() => new(Part, new SealedValue(Nonce, Data, (int)KeyVersion));
    }

    private static async Task InsertAsync(Db db, string versionId, IEnumerable<VersionPart> parts)
    {
        foreach (var part in parts)
            await db.ExecuteAsync(
                "INSERT INTO version_columns (version_id, part, nonce, data, key_version) VALUES (@versionId, @part, @nonce, @data, @keyVersion)",
                new { versionId, part = part.Part, nonce = part.Data.Nonce, data = part.Data.Ciphertext, keyVersion = part.Data.KeyVersion });
    }
}
