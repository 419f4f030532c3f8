using System.Buffers.Binary;
using System.Text;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The stored columns of a delta's version (<see cref="VersionColumns"/>), built from its base version's stored parts
/// and the delta's own records, with no object per record of the base and no sort of the base's tokens. The parts are
/// those a <see cref="PopulationData.Materialize"/> of the chain would encode (same records, ordinals, columns,
/// attribute names), as <see cref="VersionColumnsBuilder"/> builds them for an upload.
/// </summary>
/// <remarks>
/// <para>In four steps, each a pass in order over parts of the base:</para>
/// <list type="number">
/// <item>The base's record blocks in order (<see cref="AddBaseBlock"/>), merged in id order with the delta's records into
/// the new version's blocks (handed out as they fill: <see cref="TakeReadyBlocks"/>), noting each base record's new
/// ordinal, or that it has none (replaced or deleted by the delta); then <see cref="EndRecords"/>.</item>
/// <item>The base's token column chunks (<see cref="CountBaseChunk"/>): how many of each type's entries stay.</item>
/// <item>The new version's header (<see cref="Header"/>).</item>
/// <item>The base's token column chunks again, in order (<see cref="MergeBaseChunk"/>, then <see cref="EndColumns"/>):
/// each entry that stays, renumbered, merged with the delta's own entries into the new version's chunks.</item>
/// </list>
/// <para>Why no sort is needed: a base column is sorted by (token, ordinal), and a base record's new ordinal grows with its
/// old one (the new version's records are the base's, some left out, with the delta's merged in id order), so the
/// renumbered entries that stay are still in (token, ordinal) order; only the delta's own entries are sorted. Memory:
/// the new ordinal of every base record (4 bytes a record), the delta's records and entries, one chunk in progress.</para>
/// </remarks>
public sealed class VersionDeltaBuilder
{
    /// <summary>Receives one part's plaintext (valid during the call only).</summary>
    public delegate void PartAction(long part, ReadOnlySpan<byte> plaintext);

    private const int EntrySize = Token.Size + sizeof(int);

    private readonly VersionColumnsBuilder _builder = new();
    private readonly VersionColumns.Header _base;
    private readonly long[] _baseParts;
    private readonly int[] _newOrdinals;

    // The delta's records ordered by id, with their ids in UTF-8 (compared as the blocks store them).
    private readonly EscrowRecord[] _delta;
    private readonly byte[][] _deltaIds;
    private int _nextDelta;
    private int _baseRead;
    private int _blocksRead;
    private bool _recordsEnded;

    // The delta's own token entries, by type number, sorted by (token, new ordinal) once the records are ended.
    private readonly List<Entry>?[] _deltaEntries = new List<Entry>?[TypeSlots];
    private readonly int[] _kept = new int[TypeSlots];
    private readonly int[] _counts = new int[TypeSlots];
    private int _counted;
    private bool _headerWritten;

    // The merge in progress: the base part expected next, the type being merged and where its delta entries stand.
    private int _merged;
    private int _type = -1;
    private int _nextDeltaEntry;
    private readonly bool[] _typeDone = new bool[TypeSlots];
    private ChunkWriter? _writer;

    private static readonly int TypeSlots = IdentifierTypes.All.Max(t => (int)t) + 1;

    /// <param name="baseHeader">The base version's header, as stored.</param>
    /// <param name="delta">The delta's records and deletions, each id once (as an upload guarantees).</param>
    public VersionDeltaBuilder(VersionColumns.Header baseHeader, IEnumerable<EscrowRecord> delta)
    {
        _base = baseHeader;
        _baseParts = [.. IdentifierTypes.All.Where(t => baseHeader.Columns.ContainsKey(t)).Order()
            .SelectMany(t => Enumerable.Range(0, baseHeader.Columns[t].Chunks).Select(c => VersionColumns.ColumnPart(t, c)))];
        _newOrdinals = new int[baseHeader.RecordCount];

        _delta = [.. delta];
        _deltaIds = [.. _delta.Select(r => Encoding.UTF8.GetBytes(r.RecordId))];
        var order = Enumerable.Range(0, _delta.Length).ToArray();
        Array.Sort(order, (a, b) => VersionColumnsBuilder.CompareIds(_deltaIds[a], _deltaIds[b]));
        _delta = [.. order.Select(i => _delta[i])];
        _deltaIds = [.. order.Select(i => _deltaIds[i])];
        for (var i = 1; i < _deltaIds.Length; i++)
            if (VersionColumnsBuilder.CompareIds(_deltaIds[i - 1], _deltaIds[i]) == 0)
                throw new InvalidDataException("A delta holds a record id twice.");
    }

    /// <summary>Number of record blocks of the base, to be given in order to <see cref="AddBaseBlock"/>.</summary>
    public int BaseBlockCount => _base.BlockFirstIds.Length;

    /// <summary>The plaintext of the base's next record block (blocks in order, each once).</summary>
    /// <exception cref="InvalidDataException">The block is not the next one, holds another count of records, or does not start where the base's header says.</exception>
    public void AddBaseBlock(int block, ReadOnlySpan<byte> plaintext)
    {
        if (_recordsEnded || block != _blocksRead || block >= _base.BlockFirstIds.Length) throw new InvalidDataException("The base's record blocks come out of order.");
        if (plaintext.IsEmpty || !RecordCodec.RecordIdBytes(plaintext).SequenceEqual(Encoding.UTF8.GetBytes(_base.BlockFirstIds[block])))
            throw new InvalidDataException($"Record block {block} of the base does not start where its header says.");
        var first = _baseRead;
        var count = VersionColumnsBuilder.ForEachIn(plaintext, AddBase);
        if (count != VersionColumns.RecordsIn(block, _base.RecordCount) || _baseRead != first + count)
            throw new InvalidDataException($"Record block {block} of the base holds another count of records than its header says.");
        _blocksRead++;
    }

    private void AddBase(ReadOnlySpan<byte> record)
    {
        var id = RecordCodec.RecordIdBytes(record);
        var c = 1;
        while (_nextDelta < _delta.Length && (c = VersionColumnsBuilder.CompareIds(_deltaIds[_nextDelta], id)) < 0) AddDelta(_nextDelta++);
        if (_baseRead >= _newOrdinals.Length) throw new InvalidDataException("The base's record blocks hold more records than its header says.");
        var o = _baseRead++;
        if (_nextDelta < _delta.Length && c == 0)
        {
            _newOrdinals[o] = -1;
            AddDelta(_nextDelta++); // replaces the base's record (or deletes it)
            return;
        }
        _newOrdinals[o] = _builder.RecordCount;
        if (!_builder.AddStored(record, [], [])) throw new InvalidDataException("The base's records are not in id order.");
    }

    private void AddDelta(int i)
    {
        var record = _delta[i];
        if (record.Deleted) return;
        var ordinal = _builder.RecordCount;
        if (!_builder.Add(record with { Tokens = [] })) throw new InvalidDataException("The base's records are not in id order.");
        foreach (var t in record.Tokens) (_deltaEntries[(int)t.Type] ??= []).Add(new Entry(t.Token, ordinal));
    }

    /// <summary>The new version's full record blocks not handed out yet (part number and plaintext, valid until the next base block is added): store them as they come.</summary>
    public IReadOnlyList<(long Part, ReadOnlyMemory<byte> Plaintext)> TakeReadyBlocks() => _builder.TakeReadyBlocks();

    /// <summary>
    /// Once every base block is in: adds the delta's records after the base's last and ends the records (the last block is
    /// then ready: <see cref="TakeReadyBlocks"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">A base block is missing, or the records did not come in id order.</exception>
    public void EndRecords()
    {
        if (_recordsEnded) return;
        if (_blocksRead != _base.BlockFirstIds.Length || _baseRead != _base.RecordCount)
            throw new InvalidDataException("The base's record blocks are incomplete.");
        while (_nextDelta < _delta.Length) AddDelta(_nextDelta++);
        // A record out of id order before any block was handed out would make the builder order them by id at the end, and
        // the ordinals noted above would not be the new version's: refused rather than built wrong.
        _builder.EndRecordsWithoutColumns();
        foreach (var entries in _deltaEntries) entries?.Sort();
        _recordsEnded = true;
    }

    /// <summary>Step 2: the plaintext of the base's next token column chunk (each type's chunks in order, the types in order).</summary>
    public void CountBaseChunk(long part, ReadOnlySpan<byte> plaintext)
    {
        if (!_recordsEnded) throw new InvalidOperationException("The records are not ended.");
        if (_counted >= _baseParts.Length || part != _baseParts[_counted]) throw new InvalidDataException("The base's token columns are incomplete or out of order.");
        Chunk(part, plaintext, out _, out var ordinals);
        var kept = 0;
        for (var i = 0; i < ordinals.Length; i += sizeof(int))
        {
            var o = BinaryPrimitives.ReadInt32LittleEndian(ordinals[i..]);
            if ((uint)o >= (uint)_newOrdinals.Length) throw new InvalidDataException("A token column of the base names a record it does not have.");
            if (_newOrdinals[o] >= 0) kept++;
        }
        _kept[(int)(part >> 32)] += kept;
        _counted++;
    }

    /// <summary>Step 3, once every base chunk is counted: the new version's header.</summary>
    public byte[] Header()
    {
        if (!_recordsEnded || _counted != _baseParts.Length) throw new InvalidDataException("The base's token columns are incomplete.");
        foreach (var type in IdentifierTypes.All)
            _counts[(int)type] = checked(_kept[(int)type] + (_deltaEntries[(int)type]?.Count ?? 0));
        _headerWritten = true;
        return _builder.HeaderWith([.. IdentifierTypes.All.Where(t => _counts[(int)t] > 0).Select(t => (t, _counts[(int)t]))]);
    }

    /// <summary>
    /// Step 4: the plaintext of the base's next token column chunk, again in order; the new version's chunks go to
    /// <paramref name="emit"/> as they fill (each type's in order).
    /// </summary>
    public void MergeBaseChunk(long part, ReadOnlySpan<byte> plaintext, PartAction emit)
    {
        if (!_headerWritten) throw new InvalidOperationException("The header is not written.");
        if (_merged >= _baseParts.Length || part != _baseParts[_merged]) throw new InvalidDataException("The base's token columns are incomplete or out of order.");
        var type = (int)(part >> 32);
        if (type != _type)
        {
            EndType(emit);
            StartType(type);
        }
        Chunk(part, plaintext, out var tokens, out var ordinals);
        var delta = _deltaEntries[type];
        for (int i = 0, n = ordinals.Length / sizeof(int); i < n; i++)
        {
            var o = BinaryPrimitives.ReadInt32LittleEndian(ordinals[(i * sizeof(int))..]);
            if ((uint)o >= (uint)_newOrdinals.Length) throw new InvalidDataException("A token column of the base names a record it does not have.");
            var ordinal = _newOrdinals[o];
            if (ordinal < 0) continue;
            // The stored layout of a token: its High, then its Low half, each little-endian.
            var entry = new Entry(new Token(BinaryPrimitives.ReadUInt64LittleEndian(tokens[(i * Token.Size)..]),
                BinaryPrimitives.ReadUInt64LittleEndian(tokens[(i * Token.Size + 8)..])), ordinal);
            while (delta is not null && _nextDeltaEntry < delta.Count && delta[_nextDeltaEntry].CompareTo(entry) < 0) _writer!.Add(delta[_nextDeltaEntry++], emit);
            _writer!.Add(entry, emit);
        }
        _merged++;
    }

    /// <summary>Step 4's end, after the base's last chunk: the rest of the new version's chunks (the delta's entries after the base's, and its types the base lacks).</summary>
    public void EndColumns(PartAction emit)
    {
        if (!_headerWritten || _merged != _baseParts.Length) throw new InvalidDataException("The base's token columns are incomplete.");
        EndType(emit);
        foreach (var type in IdentifierTypes.All)
        {
            if (_typeDone[(int)type] || _counts[(int)type] == 0) continue;
            StartType((int)type);
            EndType(emit);
        }
    }

    private void StartType(int type)
    {
        if (_typeDone[type]) throw new InvalidDataException("The base's token columns are out of order.");
        _type = type;
        _nextDeltaEntry = 0;
        _writer = _counts[type] == 0 ? ChunkWriter.None : new ChunkWriter(type, _counts[type], _writer);
    }

    private void EndType(PartAction emit)
    {
        if (_type < 0) return;
        var delta = _deltaEntries[_type];
        while (delta is not null && _nextDeltaEntry < delta.Count) _writer!.Add(delta[_nextDeltaEntry++], emit);
        if (!_writer!.Full) throw new InvalidDataException("The base's token columns hold another count of tokens than counted.");
        _typeDone[_type] = true;
        _type = -1;
    }

    /// <summary>A chunk's tokens and ordinals (as stored), checked against the base's header.</summary>
    private void Chunk(long part, ReadOnlySpan<byte> chunk, out ReadOnlySpan<byte> tokens, out ReadOnlySpan<byte> ordinals)
    {
        var (total, _) = _base.Columns[(IdentifierType)(part >> 32)];
        var index = (int)(part & 0xFFFF_FFFF);
        var count = chunk.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(chunk) : -1;
        if (count != Math.Min(VersionColumns.ChunkTokens, total - (long)index * VersionColumns.ChunkTokens) || chunk.Length != 4 + (long)count * EntrySize)
            throw new InvalidDataException("Malformed token column chunk.");
        tokens = chunk.Slice(4, count * Token.Size);
        ordinals = chunk[(4 + count * Token.Size)..];
    }

    private readonly record struct Entry(Token Token, int Ordinal) : IComparable<Entry>
    {
        public int CompareTo(Entry other)
        {
            var c = Token.CompareTo(other.Token);
            return c != 0 ? c : Ordinal.CompareTo(other.Ordinal);
        }
    }

    /// <summary>One type's new column, written chunk by chunk in the stored format into one reused array.</summary>
    private sealed class ChunkWriter
    {
        public static readonly ChunkWriter None = new(0, 0, null);

        private readonly int _type;
        private readonly int _total;
        private byte[] _chunk = [];
        private int _size;
        private int _filled;
        private int _written;
        private int _index;

        public ChunkWriter(int type, int total, ChunkWriter? previous)
        {
            _type = type;
            _total = total;
            // The previous type's array serves again when the first chunk is as long (every byte of a chunk is written).
            if (previous is not null) _chunk = previous._chunk;
        }

        public bool Full => _written == _total;

        public void Add(Entry entry, PartAction emit)
        {
            if (_written == _total) throw new InvalidDataException("The base's token columns hold another count of tokens than counted.");
            if (_filled == 0)
            {
                _size = Math.Min(VersionColumns.ChunkTokens, _total - _written);
                var length = 4 + _size * EntrySize;
                if (_chunk.Length != length) _chunk = new byte[length];
                BinaryPrimitives.WriteInt32LittleEndian(_chunk, _size);
            }
            var at = 4 + _filled * Token.Size;
            BinaryPrimitives.WriteUInt64LittleEndian(_chunk.AsSpan(at), entry.Token.High);
            BinaryPrimitives.WriteUInt64LittleEndian(_chunk.AsSpan(at + 8), entry.Token.Low);
            BinaryPrimitives.WriteInt32LittleEndian(_chunk.AsSpan(4 + _size * Token.Size + _filled * sizeof(int)), entry.Ordinal);
            _written++;
            if (++_filled < _size) return;
            emit(VersionColumns.ColumnPart((IdentifierType)_type, _index++), _chunk);
            _filled = 0;
        }
    }
}
