using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// Builds the stored columns (<see cref="VersionColumns"/>) of a snapshot from its records as an upload writes them,
/// in any order, without an object per record: what an upload stores before its commit, so that no read ever has to
/// write them. The parts are byte for byte those of <see cref="VersionColumns.Encode"/> over
/// <see cref="PopulationData.Materialize"/> of the same records (a test compares them).
/// </summary>
/// <remarks>
/// <para>Tokens: 20 bytes each (the token and the record's arrival number), kept in 256 buckets by the token's first
/// byte (tokens are HMAC outputs, so the buckets are about equal), in chunks of 1,024 (20 KiB, below the large-object
/// threshold). At the end each bucket is sorted on its own, in a scratch array the size of one bucket, and written out:
/// no copy of a whole column, and the buckets leave as they are written.</para>
/// <para>Records: while they arrive in id order (their UTF-8 bytes, compared as
/// <see cref="string.CompareOrdinal(string, string)"/> compares the strings), each is encoded into the record block in
/// progress, and every full block is ready to be stored at once (<see cref="TakeReadyBlocks"/>): nothing per record is
/// kept, and a record's arrival number is its ordinal. The first record out of order ends that: the blocks handed out
/// come back (<see cref="Restore"/>), and from then on every record's encoding without tokens is kept in chunks of
/// 1 MiB, to be ordered by id at the end (a sort of 8-byte prefixes with a permutation).</para>
/// Not thread-safe: one writer adds, then <see cref="Build"/> once.
/// </remarks>
public sealed class VersionColumnsBuilder
{
    /// <summary>Receives one record's encoding (valid during the call only).</summary>
    public delegate void EncodedRecordAction(ReadOnlySpan<byte> record);

    private const int ChunkBytes = 1 << 20;

    // While the records arrive in id order: the block in progress, the full blocks not yet handed out, the header's
    // first id of each block (as the header stores it: length prefix and UTF-8).
    private bool _streaming = true;
    private readonly ArrayBufferWriter<byte> _block = new(1 << 16);
    private int _blockRecords;
    // The full blocks not handed out are copied back to back into one reused buffer, written over once they have been
    // handed out and the next block is full: no array of its own per block (about 60 MB of them a million records).
    private readonly List<(long Part, ReadOnlyMemory<byte> Plaintext)> _ready = [];
    private readonly ArrayBufferWriter<byte> _readyBytes = new(1 << 16);
    private int _blocksHandedOut;
    private readonly ArrayBufferWriter<byte> _firstIds = new(256);
    private byte[] _previousId = new byte[64];
    private int _previousIdLength = -1;

    // Once they did not: every record's encoding without tokens, by arrival number.
    private readonly List<byte[]> _chunks = [];
    private int _used = ChunkBytes;
    private long[] _positions = [];
    private int[] _lengths = [];

    private readonly TokenColumn?[] _tokens = new TokenColumn?[IdentifierTypes.All.Max(t => (int)t) + 1];
    private readonly SortedSet<string> _attributeNames = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    public int RecordCount { get; private set; }

    /// <summary>Whether every record so far arrived in id order (so its blocks are handed out as they fill).</summary>
    public bool InIdOrder => _streaming;

    /// <summary>
    /// Adds a record of the snapshot (not a deletion; ids unique, as an upload guarantees). False, adding nothing, when
    /// the record is out of id order and blocks were handed out: give them back with <see cref="Restore"/>, then add it
    /// again.
    /// </summary>
    public bool Add(EscrowRecord record)
    {
        if (record.Deleted) throw new ArgumentException("A snapshot holds no deletions.", nameof(record));
        _scratch.ResetWrittenCount();
        RecordCodec.WriteByte(_scratch, 0);
        RecordCodec.WriteString(_scratch, record.RecordId);
        RecordCodec.WriteLength(_scratch, 0);
        RecordCodec.WriteLength(_scratch, record.Attributes.Length);
        foreach (var a in record.Attributes) { RecordCodec.WriteString(_scratch, a.Name); RecordCodec.WriteString(_scratch, a.Value); }
        if (!AddWithoutTokens(_scratch.WrittenSpan)) return false;

        var n = RecordCount;
        foreach (var a in record.Attributes) _attributeNames.Add(a.Name);
        foreach (var t in record.Tokens) (_tokens[(int)t.Type] ??= new TokenColumn()).Add(t.Token, n);
        RecordCount = n + 1;
        return true;
    }

    /// <summary>
    /// <see cref="Add(EscrowRecord)"/> for a record as a segment holds it (<see cref="RecordCodec.Write"/>'s bytes): the
    /// same parts, without an object per record. Its encoding without tokens is its own bytes with the tokens cut out,
    /// and its attribute names are compared as bytes with the ones already seen.
    /// </summary>
    public bool AddEncoded(ReadOnlySpan<byte> record)
    {
        if ((record[0] & 1) != 0) throw new ArgumentException("A snapshot holds no deletions.", nameof(record));
        var pos = 1;
        var idLength = RecordCodec.ReadLength(record, ref pos);
        var idEnd = pos + idLength;
        pos = idEnd;
        var tokenCount = RecordCodec.ReadLength(record, ref pos);
        var tokensAt = pos;
        var attributesAt = tokensAt + tokenCount * (1 + Token.Size);
        _scratch.ResetWrittenCount();
        _scratch.Write(record[..idEnd]);
        RecordCodec.WriteLength(_scratch, 0);
        _scratch.Write(record[attributesAt..]);
        if (!AddWithoutTokens(_scratch.WrittenSpan)) return false;

        var n = RecordCount;
        NoteAttributeNames(record, attributesAt);
        for (var i = 0; i < tokenCount; i++)
        {
            var at = tokensAt + i * (1 + Token.Size);
            (_tokens[record[at]] ??= new TokenColumn()).Add(Token.Read(record.Slice(at + 1, Token.Size)), n);
        }
        RecordCount = n + 1;
        return true;
    }

    /// <summary>
    /// <see cref="Add(EscrowRecord)"/> for a record as a record block holds it (its encoding without tokens), with its tokens
    /// given apart (<paramref name="types"/>[i] the identifier type of <paramref name="tokens"/>[i]): a version built from
    /// another version's stored columns and blocks, its records copied as they are stored.
    /// </summary>
    public bool AddStored(ReadOnlySpan<byte> record, ReadOnlySpan<Token> tokens, ReadOnlySpan<IdentifierType> types)
    {
        if ((record[0] & 1) != 0) throw new ArgumentException("A snapshot holds no deletions.", nameof(record));
        if (tokens.Length != types.Length) throw new ArgumentException("One identifier type a token.", nameof(types));
        var pos = 1;
        var idLength = RecordCodec.ReadLength(record, ref pos);
        pos += idLength;
        if (RecordCodec.ReadLength(record, ref pos) != 0) throw new InvalidDataException("A record block holds tokens.");
        if (!AddWithoutTokens(record)) return false;

        var n = RecordCount;
        NoteAttributeNames(record, pos);
        for (var i = 0; i < tokens.Length; i++) (_tokens[(int)types[i]] ??= new TokenColumn()).Add(tokens[i], n);
        RecordCount = n + 1;
        return true;
    }

    /// <summary>Notes the names of a record's attributes, which start at <paramref name="attributesAt"/> of its encoding.</summary>
    private void NoteAttributeNames(ReadOnlySpan<byte> record, int attributesAt)
    {
        var pos = attributesAt;
        var attributes = RecordCodec.ReadLength(record, ref pos);
        for (var i = 0; i < attributes; i++)
        {
            var length = RecordCodec.ReadLength(record, ref pos);
            NoteAttributeName(record.Slice(pos, length));
            pos += length;
            length = RecordCodec.ReadLength(record, ref pos);
            pos += length;
        }
    }

    // Attribute names already in _attributeNames, as UTF-8: an upload repeats a few names on every record.
    private readonly List<byte[]> _knownNames = [];

    private void NoteAttributeName(ReadOnlySpan<byte> name)
    {
        foreach (var known in _knownNames)
            if (name.SequenceEqual(known)) return;
        var text = System.Text.Encoding.UTF8.GetString(name);
        _attributeNames.Add(text);
        if (_knownNames.Count < 64) _knownNames.Add(name.ToArray());
    }

    /// <summary>The record's encoding without tokens into the blocks (or kept for the sort); false as <see cref="Add(EscrowRecord)"/> says.</summary>
    private bool AddWithoutTokens(ReadOnlySpan<byte> encoded)
    {
        if (_streaming)
        {
            var id = IdBytes(encoded);
            if (_previousIdLength >= 0 && CompareIds(_previousId.AsSpan(0, _previousIdLength), id) >= 0)
            {
                if (_blocksHandedOut > 0) return false;
                Restore([]);
            }
        }
        if (_streaming) AddInOrder(encoded);
        else Keep(encoded);
        return true;
    }

    private void AddInOrder(ReadOnlySpan<byte> encoded)
    {
        var id = IdBytes(encoded);
        if (_previousId.Length < id.Length) _previousId = new byte[Math.Max(id.Length, 2 * _previousId.Length)];
        id.CopyTo(_previousId);
        _previousIdLength = id.Length;
        if (_blockRecords == 0)
        {
            var pos = 1;
            var length = RecordCodec.ReadLength(encoded, ref pos);
            _firstIds.Write(encoded[1..(pos + length)]);
        }
        _block.Write(encoded);
        if (++_blockRecords == PopulationData.BlockSize) CutBlock();
    }

    private void CutBlock()
    {
        if (_ready.Count == 0) _readyBytes.ResetWrittenCount(); // the blocks handed out last are no longer read
        var start = _readyBytes.WrittenCount;
        _readyBytes.Write(_block.WrittenSpan);
        // A slice of the buffer as it is now: a later block that makes it grow moves the rest, not what this slice sees.
        _ready.Add((VersionColumns.BlockPart(_blocksHandedOut + _ready.Count), _readyBytes.WrittenMemory[start..]));
        _block.ResetWrittenCount();
        _blockRecords = 0;
    }

    /// <summary>
    /// The full record blocks (part number and plaintext) not handed out yet, while the records arrive in id order; the
    /// caller stores them. Each plaintext is valid until the next record is added: it is then written over.
    /// </summary>
    public IReadOnlyList<(long Part, ReadOnlyMemory<byte> Plaintext)> TakeReadyBlocks()
    {
        if (_ready.Count == 0) return [];
        var ready = _ready.ToArray();
        _blocksHandedOut += ready.Length;
        _ready.Clear();
        return ready;
    }

    /// <summary>
    /// After <see cref="Add"/> returned false: the plaintexts of every block handed out, in order. Their records are kept
    /// for the sort by id from here on (the caller removes the stored blocks: the blocks will be built anew).
    /// </summary>
    public void Restore(IEnumerable<ReadOnlyMemory<byte>> handedOut)
    {
        if (!_streaming) throw new InvalidOperationException("The records are already kept for a sort.");
        _streaming = false;
        var kept = 0;
        foreach (var block in handedOut) kept += KeepAll(block.Span);
        foreach (var (_, plaintext) in _ready) kept += KeepAll(plaintext.Span);
        kept += KeepAll(_block.WrittenSpan);
        if (kept != RecordCount) throw new InvalidDataException($"The blocks handed back hold {kept} records, expected {RecordCount}.");
        _ready.Clear();
        _block.Clear();
        _blockRecords = 0;
        _firstIds.Clear();
    }

    private int KeepAll(ReadOnlySpan<byte> records) => ForEachIn(records, Keep);

    /// <summary>The length of one record's encoding without tokens (flags, id, a zero token count, attributes).</summary>
    private static int EncodedLength(ReadOnlySpan<byte> record)
    {
        var pos = 1;
        SkipString(record, ref pos);
        if (RecordCodec.ReadLength(record, ref pos) != 0) throw new InvalidDataException("A record block holds tokens.");
        var attributes = RecordCodec.ReadLength(record, ref pos);
        for (var i = 0; i < 2 * attributes; i++) SkipString(record, ref pos);
        return pos;

        static void SkipString(ReadOnlySpan<byte> data, ref int pos)
        {
            var length = RecordCodec.ReadLength(data, ref pos);
            pos += length;
        }
    }

    private void Keep(ReadOnlySpan<byte> encoded)
    {
        if (_used + encoded.Length > ChunkBytes)
        {
            _chunks.Add(new byte[Math.Max(ChunkBytes, encoded.Length)]);
            _used = 0;
        }
        encoded.CopyTo(_chunks[^1].AsSpan(_used));
        var n = KeptCount;
        if (n == _positions.Length)
        {
            Array.Resize(ref _positions, Math.Max(1024, n * 2));
            Array.Resize(ref _lengths, Math.Max(1024, n * 2));
        }
        _positions[n] = ((long)(_chunks.Count - 1) << 32) | (uint)_used;
        _lengths[n] = encoded.Length;
        _used += encoded.Length;
        KeptCount = n + 1;
    }

    private int KeptCount { get; set; }

    /// <summary>
    /// While the records arrive in id order: hands each record not handed out in a block yet (the full blocks not taken and
    /// the one being filled), in arrival order, as its encoding without tokens. The records stay where they are.
    /// </summary>
    public void ForEachNotHandedOut(EncodedRecordAction record)
    {
        if (!_streaming) throw new InvalidOperationException("The records are kept for a sort: read them with ForEachKept.");
        foreach (var (_, plaintext) in _ready) ForEachIn(plaintext.Span, record);
        ForEachIn(_block.WrittenSpan, record);
    }

    /// <summary>Hands each record of a record block's plaintext (records without tokens, back to back); returns how many it held.</summary>
    public static int ForEachIn(ReadOnlySpan<byte> block, EncodedRecordAction record)
    {
        var count = 0;
        for (var pos = 0; pos < block.Length; count++)
        {
            var length = EncodedLength(block[pos..]);
            record(block.Slice(pos, length));
            pos += length;
        }
        return count;
    }

    /// <summary>Hands each record kept for the sort (after <see cref="Restore"/>), by arrival number, as its encoding without tokens.</summary>
    public void ForEachKept(EncodedRecordAction record)
    {
        if (_streaming) throw new InvalidOperationException("No record is kept while the records arrive in id order.");
        for (var n = 0; n < KeptCount; n++)
            record(_chunks[(int)(_positions[n] >> 32)].AsSpan((int)(uint)_positions[n], _lengths[n]));
    }

    /// <summary>
    /// The version's parts (header first, then each type's column chunks, then the record blocks not handed out), produced
    /// as they are enumerated, so a caller can seal and store each without holding them all. Empties the builder.
    /// </summary>
    /// <param name="reuseBuffers">
    /// True for a caller done with each part's plaintext before it asks for the next (it seals it into a buffer of its own):
    /// a type's column chunks of equal length then share one array, instead of a fresh large-object array per 65,536 tokens.
    /// </param>
    public IEnumerable<(long Part, byte[] Plaintext)> Build(bool reuseBuffers = false)
    {
        int[]? order = null, rank = null;
        if (_streaming)
        {
            if (_blockRecords > 0) CutBlock();
        }
        else
        {
            order = OrderById();
            rank = new int[RecordCount];
            for (var i = 0; i < order.Length; i++) rank[order[i]] = i;
        }
        return Parts(order, rank, reuseBuffers);
    }

    /// <summary>
    /// Ends the records of a version whose token columns are built elsewhere (<see cref="VersionDeltaBuilder"/> merges a
    /// delta's from its base's sorted columns): every record added in id order, none with tokens. The last record block is
    /// then ready too (<see cref="TakeReadyBlocks"/>), and <see cref="HeaderWith"/> writes the header.
    /// </summary>
    /// <exception cref="InvalidDataException">The records did not arrive in id order (their ordinals would not be their arrival numbers).</exception>
    public void EndRecordsWithoutColumns()
    {
        if (!_streaming) throw new InvalidDataException("The records did not arrive in id order.");
        if (_tokens.Any(t => t is not null)) throw new InvalidOperationException("The builder holds token columns of its own.");
        if (_blockRecords > 0) CutBlock();
    }

    /// <summary>
    /// After <see cref="EndRecordsWithoutColumns"/>: the version's header, with <paramref name="columns"/> (each type with
    /// tokens and its token count, in <see cref="IdentifierTypes.All"/>'s order) as its token columns.
    /// </summary>
    public byte[] HeaderWith(IReadOnlyList<(IdentifierType Type, int Count)> columns)
    {
        if (!_streaming || _blockRecords > 0) throw new InvalidOperationException("The records are not ended.");
        return Header(columns, null);
    }

    private byte[] Header(IReadOnlyList<(IdentifierType Type, int Count)> columns, int[]? order)
    {
        var blockCount = (RecordCount + PopulationData.BlockSize - 1) / PopulationData.BlockSize;
        var header = new ArrayBufferWriter<byte>();
        RecordCodec.WriteByte(header, VersionColumns.FormatVersion);
        RecordCodec.WriteLength(header, RecordCount);
        RecordCodec.WriteLength(header, columns.Count);
        foreach (var (type, count) in columns)
        {
            RecordCodec.WriteByte(header, (byte)type);
            RecordCodec.WriteLength(header, count);
        }
        RecordCodec.WriteLength(header, _attributeNames.Count);
        foreach (var name in _attributeNames) RecordCodec.WriteString(header, name);
        RecordCodec.WriteLength(header, blockCount);
        if (order is null) header.Write(_firstIds.WrittenSpan);
        else
            for (var b = 0; b < blockCount; b++)
            {
                // The record id, as its bytes: after the flags byte, a length prefix and UTF-8.
                var record = Encoded(order[b * PopulationData.BlockSize]);
                var pos = 1;
                var length = RecordCodec.ReadLength(record, ref pos);
                header.Write(record[1..(pos + length)]);
            }
        return header.WrittenSpan.ToArray();
    }

    private IEnumerable<(long Part, byte[] Plaintext)> Parts(int[]? order, int[]? rank, bool reuseBuffers)
    {
        var columns = IdentifierTypes.All.Where(t => _tokens[(int)t] is not null).Select(t => (Type: t, Column: _tokens[(int)t]!)).ToList();
        yield return (VersionColumns.HeaderPart, Header([.. columns.Select(c => (c.Type, c.Column.Count))], order));

        foreach (var (type, column) in columns)
        {
            var chunk = 0;
            foreach (var bytes in column.Chunks(rank, reuseBuffers)) yield return (VersionColumns.ColumnPart(type, chunk++), bytes);
            _tokens[(int)type] = null; // leaves once written
        }

        if (order is null)
        {
            foreach (var (part, plaintext) in _ready) yield return (part, plaintext.ToArray());
            _ready.Clear();
            yield break;
        }
        var blockBytes = new ArrayBufferWriter<byte>(1 << 16);
        for (var b = 0; b * PopulationData.BlockSize < RecordCount; b++)
        {
            blockBytes.ResetWrittenCount();
            for (var i = b * PopulationData.BlockSize; i < Math.Min(RecordCount, (b + 1) * PopulationData.BlockSize); i++) blockBytes.Write(Encoded(order[i]));
            yield return (VersionColumns.BlockPart(b), blockBytes.WrittenSpan.ToArray());
        }
    }

    /// <summary>A token and the arrival number of its record, packed to 20 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Entry(ulong high, ulong low, int ordinal)
    {
        public ulong High = high;
        public ulong Low = low;
        public int Ordinal = ordinal;
    }

    private readonly struct EntryOrder : IComparer<Entry>
    {
        public int Compare(Entry a, Entry b) =>
            a.High != b.High ? a.High.CompareTo(b.High) : a.Low != b.Low ? a.Low.CompareTo(b.Low) : a.Ordinal.CompareTo(b.Ordinal);
    }

    /// <summary>One type's tokens in 256 buckets by their first byte, each a list of small chunks.</summary>
    private sealed class TokenColumn
    {
        private const int BucketChunk = 1024;
        private readonly List<Entry[]>?[] _buckets = new List<Entry[]>?[256];
        private readonly int[] _counts = new int[256];

        public int Count { get; private set; }

        public void Add(Token token, int ordinal)
        {
            var b = (int)(token.High >> 56);
            var list = _buckets[b] ??= [];
            var n = _counts[b]++;
            if (n % BucketChunk == 0) list.Add(new Entry[BucketChunk]);
            list[n / BucketChunk][n % BucketChunk] = new Entry(token.High, token.Low, ordinal);
            Count++;
        }

        /// <summary>
        /// The column's chunks in the stored format, sorted by (token, ordinal): each bucket gathered into one scratch
        /// array, its arrival numbers turned into ordinals (<paramref name="rank"/>, none when they are the ordinals),
        /// sorted, and copied out; a bucket leaves once copied.
        /// </summary>
        public IEnumerable<byte[]> Chunks(int[]? rank, bool reuse = false)
        {
            byte[]? handedOut = null;
            var scratch = new Entry[_counts.Max()];
            var keys = new ulong[scratch.Length];
            var order = new int[scratch.Length];
            var sorted = new Entry[scratch.Length];
            byte[]? chunk = null;
            int filled = 0, written = 0;
            for (var b = 0; b < _buckets.Length; b++)
            {
                var list = _buckets[b];
                if (list is null) continue;
                var n = _counts[b];
                for (var c = 0; c < list.Count; c++) list[c].AsSpan(0, Math.Min(BucketChunk, n - c * BucketChunk)).CopyTo(scratch.AsSpan(c * BucketChunk));
                _buckets[b] = null;
                SortBucket(scratch.AsSpan(0, n), rank, keys, order, sorted);
                for (var from = 0; from < n;)
                {
                    if (chunk is null)
                    {
                        var length = 4 + Math.Min(VersionColumns.ChunkTokens, Count - written) * (Token.Size + sizeof(int));
                        // Every byte of a chunk is written before it is handed out, so a reused one holds nothing of the last.
                        chunk = reuse && handedOut?.Length == length ? handedOut : new byte[length];
                        BinaryPrimitives.WriteInt32LittleEndian(chunk, (chunk.Length - 4) / (Token.Size + sizeof(int)));
                        filled = 0;
                    }
                    var take = CopyOut(sorted.AsSpan(from, n - from), chunk, filled);
                    from += take;
                    filled += take;
                    written += take;
                    if (filled == BinaryPrimitives.ReadInt32LittleEndian(chunk))
                    {
                        yield return chunk;
                        handedOut = chunk;
                        chunk = null;
                    }
                }
            }
        }

        /// <summary>
        /// Sorts a bucket into <paramref name="sorted"/>: the high halves with a permutation (the platform's sort of
        /// primitive keys, several times faster than a sort of 20-byte entries through a comparer), then each run of equal
        /// high halves (a token shared by several records, or two colliding in 64 bits) by low half and ordinal.
        /// </summary>
        private static void SortBucket(Span<Entry> entries, int[]? rank, ulong[] keys, int[] order, Entry[] sorted)
        {
            var n = entries.Length;
            for (var i = 0; i < n; i++)
            {
                ref var e = ref entries[i];
                if (rank is not null) e.Ordinal = rank[e.Ordinal];
                keys[i] = e.High;
                order[i] = i;
            }
            keys.AsSpan(0, n).Sort(order.AsSpan(0, n));
            for (var i = 0; i < n; i++) sorted[i] = entries[order[i]];
            for (int start = 0, end; start < n; start = end)
            {
                end = start + 1;
                while (end < n && keys[end] == keys[start]) end++;
                if (end - start > 1) sorted.AsSpan(start, end - start).Sort(new EntryOrder());
            }
        }

        /// <summary>Copies as many entries as fit into a chunk from position <paramref name="filled"/> on; returns how many.</summary>
        private static int CopyOut(ReadOnlySpan<Entry> entries, byte[] chunk, int filled)
        {
            var size = BinaryPrimitives.ReadInt32LittleEndian(chunk);
            var take = Math.Min(entries.Length, size - filled);
            var tokens = chunk.AsSpan(4, size * Token.Size);
            var ordinals = chunk.AsSpan(4 + size * Token.Size);
            for (var i = 0; i < take; i++)
            {
                ref readonly var e = ref entries[i];
                var at = filled + i;
                BinaryPrimitives.WriteUInt64LittleEndian(tokens[(at * Token.Size)..], e.High);
                BinaryPrimitives.WriteUInt64LittleEndian(tokens[(at * Token.Size + 8)..], e.Low);
                BinaryPrimitives.WriteInt32LittleEndian(ordinals[(at * sizeof(int))..], e.Ordinal);
            }
            return take;
        }
    }

    private ReadOnlySpan<byte> Encoded(int record)
    {
        var position = _positions[record];
        return _chunks[(int)(position >> 32)].AsSpan((int)(uint)position, _lengths[record]);
    }

    /// <summary>The id's UTF-8 bytes inside a record's encoding (after the flags byte and the length prefix).</summary>
    private static ReadOnlySpan<byte> IdBytes(ReadOnlySpan<byte> encoded)
    {
        var pos = 1;
        var length = RecordCodec.ReadLength(encoded, ref pos);
        return encoded.Slice(pos, length);
    }

    private ReadOnlySpan<byte> IdBytes(int record) => IdBytes(Encoded(record));

    /// <summary>The records' arrival numbers in record id order.</summary>
    private int[] OrderById()
    {
        // The number is taken after the bytes every id shares (ids such as "acct-…" would otherwise tie on it).
        var shared = RecordCount == 0 ? 0 : IdBytes(0).Length;
        for (var i = 1; i < RecordCount && shared > 0; i++) shared = IdBytes(0)[..shared].CommonPrefixLength(IdBytes(i));
        var prefixes = new ulong[RecordCount];
        var order = new int[RecordCount];
        for (var i = 0; i < order.Length; i++) (prefixes[i], order[i]) = (Prefix(IdBytes(i)[shared..]), i);
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
}
