using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// Builds the stored columns (<see cref="VersionColumns"/>) of a snapshot from its records as an upload writes them,
/// in any order, without an object per record: what an upload stores in its commit, so that no read ever has to
/// write them. The parts are byte for byte those of <see cref="VersionColumns.Encode"/> over
/// <see cref="PopulationData.Materialize"/> of the same records (a test compares them).
/// </summary>
/// <remarks>
/// Kept per record: its encoding without tokens (what a record block holds: flags, id, no tokens, attributes) in
/// chunks of 1 MiB, its position there, and per token 24 bytes (the token and the record's arrival number). At the end
/// the records are ordered by id (their UTF-8 bytes, compared as <see cref="string.CompareOrdinal(string, string)"/>
/// compares the strings) and each type's tokens by (token, ordinal), the types in parallel.
/// Not thread-safe: one writer adds, then <see cref="Build"/> once.
/// </remarks>
public sealed class VersionColumnsBuilder
{
    private const int ChunkBytes = 1 << 20;
    private const int EntryChunk = 1 << 16;

    private readonly List<byte[]> _chunks = [];
    private int _used = ChunkBytes;
    private long[] _positions = new long[1024]; // chunk << 32 | offset
    private int[] _lengths = new int[1024];
    private readonly List<Entry[]>?[] _tokens = new List<Entry[]>?[IdentifierTypes.All.Max(t => (int)t) + 1];
    private readonly int[] _tokenCounts = new int[IdentifierTypes.All.Max(t => (int)t) + 1];
    private readonly SortedSet<string> _attributeNames = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    public int RecordCount { get; private set; }

    /// <summary>Adds a record of the snapshot (not a deletion; ids unique, as an upload guarantees).</summary>
    public void Add(EscrowRecord record)
    {
        if (record.Deleted) throw new ArgumentException("A snapshot holds no deletions.", nameof(record));
        _scratch.ResetWrittenCount();
        RecordCodec.WriteByte(_scratch, 0);
        RecordCodec.WriteString(_scratch, record.RecordId);
        RecordCodec.WriteLength(_scratch, 0);
        RecordCodec.WriteLength(_scratch, record.Attributes.Length);
        foreach (var a in record.Attributes)
        {
            RecordCodec.WriteString(_scratch, a.Name);
            RecordCodec.WriteString(_scratch, a.Value);
            _attributeNames.Add(a.Name);
        }
        var encoded = _scratch.WrittenSpan;
        if (_used + encoded.Length > ChunkBytes)
        {
            _chunks.Add(new byte[Math.Max(ChunkBytes, encoded.Length)]);
            _used = 0;
        }
        encoded.CopyTo(_chunks[^1].AsSpan(_used));
        var n = RecordCount;
        if (n == _positions.Length)
        {
            Array.Resize(ref _positions, n * 2);
            Array.Resize(ref _lengths, n * 2);
        }
        _positions[n] = ((long)(_chunks.Count - 1) << 32) | (uint)_used;
        _lengths[n] = encoded.Length;
        _used += encoded.Length;

        foreach (var t in record.Tokens)
        {
            var list = _tokens[(int)t.Type] ??= [];
            var count = _tokenCounts[(int)t.Type]++;
            if (count % EntryChunk == 0) list.Add(new Entry[EntryChunk]);
            list[^1][count % EntryChunk] = new Entry(t.Token, n);
        }
        RecordCount = n + 1;
    }

    /// <summary>
    /// The version's parts (header first, then each type's column chunks, then the record blocks), produced as they are
    /// enumerated, so a caller can seal and store each without holding them all. The sorting happens before the first.
    /// Empties the builder.
    /// </summary>
    public IEnumerable<(long Part, byte[] Plaintext)> Build()
    {
        var order = OrderById();
        var rank = new int[RecordCount];
        for (var i = 0; i < order.Length; i++) rank[order[i]] = i;
        var columns = new List<Column>();
        foreach (var type in IdentifierTypes.All)
        {
            var list = _tokens[(int)type];
            if (list is null) continue;
            var count = _tokenCounts[(int)type];
            var column = new Column(type, new ulong[count], new int[count], new ulong[count], new int[count]);
            for (var c = 0; c < list.Count; c++)
            {
                var chunk = list[c];
                var n = Math.Min(EntryChunk, count - c * EntryChunk);
                for (var i = 0; i < n; i++)
                {
                    var k = c * EntryChunk + i;
                    column.Highs[k] = chunk[i].Token.High;
                    column.Order[k] = k;
                    column.Lows[k] = chunk[i].Token.Low;
                    column.Ordinals[k] = rank[chunk[i].Ordinal];
                }
                list[c] = null!; // leaves as soon as copied
            }
            _tokens[(int)type] = null;
            columns.Add(column);
        }
        // Each type's sort on a core of its own.
        Parallel.ForEach(columns, c => c.Sort());
        return Parts(order, columns);
    }

    private IEnumerable<(long Part, byte[] Plaintext)> Parts(int[] order, List<Column> columns)
    {
        var blockCount = (RecordCount + PopulationData.BlockSize - 1) / PopulationData.BlockSize;
        var header = new ArrayBufferWriter<byte>();
        RecordCodec.WriteByte(header, VersionColumns.FormatVersion);
        RecordCodec.WriteLength(header, RecordCount);
        RecordCodec.WriteLength(header, columns.Count);
        foreach (var column in columns)
        {
            RecordCodec.WriteByte(header, (byte)column.Type);
            RecordCodec.WriteLength(header, column.Highs.Length);
        }
        RecordCodec.WriteLength(header, _attributeNames.Count);
        foreach (var name in _attributeNames) RecordCodec.WriteString(header, name);
        RecordCodec.WriteLength(header, blockCount);
        for (var b = 0; b < blockCount; b++)
        {
            // The record id, as its bytes: after the flags byte, a length prefix and UTF-8.
            var record = Encoded(order[b * PopulationData.BlockSize]);
            var pos = 1;
            var length = RecordCodec.ReadLength(record, ref pos);
            header.Write(record[1..(pos + length)]);
        }
        yield return (VersionColumns.HeaderPart, header.WrittenSpan.ToArray());

        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            for (int chunk = 0, from = 0; from < column.Highs.Length; chunk++, from += VersionColumns.ChunkTokens)
            {
                var count = Math.Min(VersionColumns.ChunkTokens, column.Highs.Length - from);
                var bytes = new byte[4 + count * (Token.Size + sizeof(int))];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, count);
                column.WriteChunk(from, count, bytes.AsSpan(4));
                yield return (VersionColumns.ColumnPart(column.Type, chunk), bytes);
            }
            columns[c] = null!; // leaves once written
        }

        var block = new ArrayBufferWriter<byte>(1 << 16);
        for (var b = 0; b < blockCount; b++)
        {
            block.ResetWrittenCount();
            for (var i = b * PopulationData.BlockSize; i < Math.Min(RecordCount, (b + 1) * PopulationData.BlockSize); i++) block.Write(Encoded(order[i]));
            yield return (VersionColumns.BlockPart(b), block.WrittenSpan.ToArray());
        }
    }

    /// <summary>
    /// One type's tokens: the high halves sorted with a permutation (the platform's sort of primitive keys, several
    /// times faster than a sort of 24-byte entries through a comparer), then each run of equal high halves (tokens
    /// shared by several records, or colliding in 64 bits) by low half and ordinal.
    /// </summary>
    private sealed record Column(IdentifierType Type, ulong[] Highs, int[] Order, ulong[] Lows, int[] Ordinals)
    {
        public void Sort()
        {
            Array.Sort(Highs, Order);
            for (int start = 0, end; start < Highs.Length; start = end)
            {
                end = start + 1;
                while (end < Highs.Length && Highs[end] == Highs[start]) end++;
                if (end - start > 1)
                    Order.AsSpan(start, end - start).Sort((a, b) => Lows[a] != Lows[b] ? Lows[a].CompareTo(Lows[b]) : Ordinals[a].CompareTo(Ordinals[b]));
            }
        }

        public void WriteChunk(int from, int count, Span<byte> destination)
        {
            var t = destination[..(count * Token.Size)];
            var o = destination[(count * Token.Size)..];
            for (var i = 0; i < count; i++)
            {
                var k = Order[from + i];
                BinaryPrimitives.WriteUInt64LittleEndian(t[(i * Token.Size)..], Highs[from + i]);
                BinaryPrimitives.WriteUInt64LittleEndian(t[(i * Token.Size + 8)..], Lows[k]);
                BinaryPrimitives.WriteInt32LittleEndian(o[(i * sizeof(int))..], Ordinals[k]);
            }
        }
    }

    private ReadOnlySpan<byte> Encoded(int record)
    {
        var position = _positions[record];
        return _chunks[(int)(position >> 32)].AsSpan((int)(uint)position, _lengths[record]);
    }

    private ReadOnlySpan<byte> IdBytes(int record)
    {
        var encoded = Encoded(record);
        var pos = 1;
        var length = RecordCodec.ReadLength(encoded, ref pos);
        return encoded.Slice(pos, length);
    }

    /// <summary>The records' arrival numbers in record id order; no sort when they arrived in that order already.</summary>
    private int[] OrderById()
    {
        // The number is taken after the bytes every id shares (ids such as "acct-…" would otherwise tie on it).
        var shared = RecordCount == 0 ? 0 : IdBytes(0).Length;
        for (var i = 1; i < RecordCount && shared > 0; i++) shared = IdBytes(0)[..shared].CommonPrefixLength(IdBytes(i));
        var prefixes = new ulong[RecordCount];
        var order = new int[RecordCount];
        for (var i = 0; i < order.Length; i++) (prefixes[i], order[i]) = (Prefix(IdBytes(i)[shared..]), i);
        var sorted = true;
        for (var i = 1; i < order.Length && sorted; i++) sorted = Compare(prefixes[i - 1], i - 1, prefixes[i], i) < 0;
        if (sorted) return order;
        Array.Sort(prefixes, order);
        // Ids equal in their first eight bytes (after the shared ones): ordered by their whole bytes.
        for (int start = 0, end; start < order.Length; start = end)
        {
            end = start + 1;
            while (end < order.Length && prefixes[end] == prefixes[start]) end++;
            if (end - start > 1) order.AsSpan(start, end - start).Sort((a, b) => CompareIds(IdBytes(a), IdBytes(b)));
        }
        return order;
    }

    private int Compare(ulong prefixA, int a, ulong prefixB, int b) => prefixA != prefixB ? prefixA.CompareTo(prefixB) : CompareIds(IdBytes(a), IdBytes(b));

    /// <summary>
    /// Compares two UTF-8 strings as <see cref="string.CompareOrdinal(string, string)"/> compares them (by UTF-16 code
    /// unit): byte order is code point order, except that a supplementary character (lead byte F0–F4, a surrogate pair
    /// D800–DFFF in UTF-16) sorts before U+E000–U+FFFF (lead byte EE or EF). Up to the first difference both strings
    /// have the same characters, so the two bytes there are both lead bytes or both continuation bytes.
    /// </summary>
    public static int CompareIds(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = a[..n].CommonPrefixLength(b[..n]);
        if (i == n) return a.Length.CompareTo(b.Length);
        return Map(a[i]).CompareTo(Map(b[i]));
    }

    /// <summary>A byte's rank in UTF-16 order: lead bytes F0–F4 moved below EE and EF; everything else unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Map(byte b) => b < 0xEE ? b : b <= 0xEF ? b + 5 : b - 2;

    /// <summary>The first eight bytes (mapped, zero-padded) as a number: different prefixes order two ids as their full comparison does.</summary>
    private static ulong Prefix(ReadOnlySpan<byte> id)
    {
        ulong key = 0;
        for (var i = 0; i < 8; i++) key = (key << 8) | (i < id.Length ? (uint)Map(id[i]) & 0xFF : 0u);
        return key;
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Entry(Token Token, int Ordinal);

}
