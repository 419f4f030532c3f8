using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The stored form of a committed version that matching reads (format version 1): parts, each sealed on its own,
/// numbered by a 64-bit part number (kind in the high 32 bits, index in the low 32).
/// <list type="bullet">
/// <item>Header (part 0): format version, record count, per identifier type its token count and chunk count, the
/// attribute names the records carry, and the first record id of each record block.</item>
/// <item>Token columns (kind = the identifier type's number, index = chunk): per type the tokens sorted by
/// (token, ordinal) in chunks of <see cref="ChunkTokens"/>; a chunk is a 32-bit count, the tokens (16 bytes each, two
/// little-endian 64-bit halves) and the ordinals (32-bit little-endian), column after column, so a chunk is copied into
/// arrays rather than parsed record by record.</item>
/// <item>Record blocks (kind <see cref="BlockKind"/>, index = block): the ids and attributes of
/// <see cref="PopulationData.BlockSize"/> records in ordinal order, in <see cref="RecordCodec"/>'s encoding with no
/// tokens; lists and exports read only the blocks of the records they show.</item>
/// </list>
/// The tokens are the version's escrow-keyed tokens as uploaded (HMAC outputs); the parts are sealed with the
/// organization's data key like segments are.
/// </summary>
public static class VersionColumns
{
    public const byte FormatVersion = 1;
    public const long HeaderPart = 0;
    public const int BlockKind = 64;
    public const int ChunkTokens = 1 << 16;

    public sealed record Header(int RecordCount, IReadOnlyDictionary<IdentifierType, (int Tokens, int Chunks)> Columns, string[] AttributeNames,
        string[] BlockFirstIds);

    public static long ColumnPart(IdentifierType type, int chunk) => ((long)type << 32) | (uint)chunk;

    public static long BlockPart(int block) => ((long)BlockKind << 32) | (uint)block;

    public static bool IsBlockPart(long part) => part >> 32 == BlockKind;

    /// <summary>The parts of a version that holds its records, header first, then the columns, then the record blocks.</summary>
    public static IEnumerable<(long Part, byte[] Plaintext)> Encode(PopulationData data)
    {
        var records = data.Records;
        var columns = IdentifierTypes.All.Select(t => (Type: t, Column: data.Column(t))).Where(c => c.Column.Tokens.Length > 0).ToList();
        var header = new ArrayBufferWriter<byte>();
        RecordCodec.WriteByte(header, FormatVersion);
        RecordCodec.WriteLength(header, records.Count);
        RecordCodec.WriteLength(header, columns.Count);
        foreach (var (type, column) in columns)
        {
            RecordCodec.WriteByte(header, (byte)type);
            RecordCodec.WriteLength(header, column.Tokens.Length);
        }
        RecordCodec.WriteLength(header, data.AttributeNames.Count);
        foreach (var name in data.AttributeNames) RecordCodec.WriteString(header, name);
        RecordCodec.WriteLength(header, data.BlockCount);
        foreach (var id in data.BlockFirstIds) RecordCodec.WriteString(header, id);
        yield return (HeaderPart, header.WrittenSpan.ToArray());

        foreach (var part in ColumnParts(data)) yield return part;

        var block = new ArrayBufferWriter<byte>(1 << 16);
        for (var b = 0; b < data.BlockCount; b++)
        {
            block.ResetWrittenCount();
            for (var i = b * PopulationData.BlockSize; i < Math.Min(records.Count, (b + 1) * PopulationData.BlockSize); i++)
                RecordCodec.Write(block, records[i] with { Tokens = [] });
            yield return (BlockPart(b), block.WrittenSpan.ToArray());
        }
    }

    /// <summary>
    /// The token column parts of a version (each type's chunks in order, the types in <see cref="IdentifierTypes.All"/>'s
    /// order). With <paramref name="reuseBuffers"/>, for a caller done with each plaintext before it asks for the next,
    /// chunks of equal length share one array.
    /// </summary>
    public static IEnumerable<(long Part, byte[] Plaintext)> ColumnParts(PopulationData data, bool reuseBuffers = false)
    {
        byte[]? last = null;
        foreach (var type in IdentifierTypes.All)
        {
            var (tokens, ordinals) = data.Column(type);
            for (int chunk = 0, from = 0; from < tokens.Length; chunk++, from += ChunkTokens)
            {
                var count = Math.Min(ChunkTokens, tokens.Length - from);
                var length = 4 + count * (Token.Size + sizeof(int));
                // Every byte is written below, so a reused array holds nothing of the chunk before.
                var bytes = reuseBuffers && last?.Length == length ? last : new byte[length];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, count);
                WriteChunk(tokens.AsSpan(from, count), ordinals.AsSpan(from, count), bytes.AsSpan(4));
                yield return (ColumnPart(type, chunk), bytes);
                last = bytes;
            }
        }
    }

    public static Header ReadHeader(ReadOnlySpan<byte> data)
    {
        var pos = 0;
        if (data.Length == 0 || data[pos++] != FormatVersion) throw new InvalidDataException("Unknown version column format.");
        var recordCount = RecordCodec.ReadLength(data, ref pos);
        var columnCount = RecordCodec.ReadLength(data, ref pos);
        var columns = new Dictionary<IdentifierType, (int, int)>();
        for (var i = 0; i < columnCount; i++)
        {
            var type = (IdentifierType)data[pos++];
            var tokens = RecordCodec.ReadLength(data, ref pos);
            columns[type] = (tokens, (tokens + ChunkTokens - 1) / ChunkTokens);
        }
        var names = new string[RecordCodec.ReadLength(data, ref pos)];
        for (var i = 0; i < names.Length; i++) names[i] = RecordCodec.ReadString(data, ref pos);
        var firstIds = new string[RecordCodec.ReadLength(data, ref pos)];
        for (var i = 0; i < firstIds.Length; i++) firstIds[i] = RecordCodec.ReadString(data, ref pos);
        return new Header(recordCount, columns, names, firstIds);
    }

    /// <summary>Copies one chunk into a column's arrays at <paramref name="offset"/>; returns the number of tokens it held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ReadChunk(ReadOnlySpan<byte> chunk, Token[] tokens, int[] ordinals, int offset)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(chunk);
        if (count < 0 || chunk.Length != 4 + (long)count * (Token.Size + sizeof(int)) || offset + count > tokens.Length)
            throw new InvalidDataException("Malformed token column chunk.");
        var t = chunk.Slice(4, count * Token.Size);
        var o = chunk[(4 + count * Token.Size)..];
        if (BitConverter.IsLittleEndian)
        {
            // The stored layout is the in-memory one on a little-endian machine (a token: High, then Low): one copy.
            MemoryMarshal.Cast<byte, Token>(t).CopyTo(tokens.AsSpan(offset, count));
            MemoryMarshal.Cast<byte, int>(o).CopyTo(ordinals.AsSpan(offset, count));
            return count;
        }
        for (var i = 0; i < count; i++)
        {
            tokens[offset + i] = new Token(BinaryPrimitives.ReadUInt64LittleEndian(t[(i * Token.Size)..]), BinaryPrimitives.ReadUInt64LittleEndian(t[(i * Token.Size + 8)..]));
            ordinals[offset + i] = BinaryPrimitives.ReadInt32LittleEndian(o[(i * sizeof(int))..]);
        }
        return count;
    }

    private static void WriteChunk(ReadOnlySpan<Token> tokens, ReadOnlySpan<int> ordinals, Span<byte> destination)
    {
        var t = destination[..(tokens.Length * Token.Size)];
        var o = destination[(tokens.Length * Token.Size)..];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(tokens).CopyTo(t);
            MemoryMarshal.AsBytes(ordinals).CopyTo(o);
            return;
        }
        for (var i = 0; i < tokens.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(t[(i * Token.Size)..], tokens[i].High);
            BinaryPrimitives.WriteUInt64LittleEndian(t[(i * Token.Size + 8)..], tokens[i].Low);
            BinaryPrimitives.WriteInt32LittleEndian(o[(i * sizeof(int))..], ordinals[i]);
        }
    }

    /// <summary>
    /// A version from its header and token column parts (plaintexts, header first, then each type's chunks in order):
    /// the columns are copied as they are, already sorted.
    /// </summary>
    /// <exception cref="InvalidDataException">A part is missing, out of order or malformed.</exception>
    public static PopulationData Decode(string versionId, IEnumerable<(long Part, byte[] Plaintext)> parts)
    {
        Reader? reader = null;
        foreach (var (part, plaintext) in parts)
        {
            if (reader is null)
            {
                if (part != HeaderPart) throw new InvalidDataException("A version's columns lack their header.");
                reader = new Reader(versionId, plaintext);
            }
            else reader.Add(part, plaintext);
        }
        return (reader ?? throw new InvalidDataException("A version's columns lack their header.")).Finish();
    }

    /// <summary>
    /// Reads a version's header and token column parts one at a time, each copied into the column's arrays as it comes,
    /// so a part can be opened into a reused buffer (<see cref="Decode"/> does it for parts already opened).
    /// </summary>
    public sealed class Reader
    {
        private readonly string _versionId;
        private readonly Header _header;
        private readonly Dictionary<IdentifierType, (Token[] Tokens, int[] Ordinals)> _arrays;
        private readonly Dictionary<IdentifierType, int> _filled;

        /// <param name="header">The plaintext of the header part.</param>
        public Reader(string versionId, ReadOnlySpan<byte> header)
        {
            _versionId = versionId;
            _header = ReadHeader(header);
            // Not zeroed first: every element is written by the chunks, and Finish refuses columns not filled to the end.
            _arrays = _header.Columns.ToDictionary(c => c.Key,
                c => (ColumnArrays.Uninitialized<Token>(c.Value.Tokens), ColumnArrays.Uninitialized<int>(c.Value.Tokens)));
            _filled = _arrays.Keys.ToDictionary(t => t, _ => 0);
        }

        /// <summary>The plaintext of the next token column part (each type's chunks in order).</summary>
        public void Add(long part, ReadOnlySpan<byte> plaintext)
        {
            var type = (IdentifierType)(part >> 32);
            var chunk = (int)(part & 0xFFFF_FFFF);
            if (!_arrays.TryGetValue(type, out var column) || (long)chunk * ChunkTokens != _filled[type])
                throw new InvalidDataException("A version's token columns are incomplete or out of order.");
            var from = _filled[type];
            var count = ReadChunk(plaintext, column.Tokens, column.Ordinals, from);
            // Checked now, while the chunk is in the cache (with the previous chunk's last entry, so the column is checked
            // whole), rather than in a pass over the whole column afterwards.
            var start = Math.Max(0, from - 1);
            PopulationData.CheckColumn(column.Tokens.AsSpan(start, from + count - start), column.Ordinals.AsSpan(start, from + count - start), _header.RecordCount);
            _filled[type] = from + count;
        }

        public PopulationData Finish()
        {
            if (_filled.Any(f => f.Value != _arrays[f.Key].Tokens.Length)) throw new InvalidDataException("A version's token columns are incomplete.");
            return PopulationData.FromCheckedColumns(_versionId, _header.RecordCount, _arrays, _header.AttributeNames, _header.BlockFirstIds);
        }
    }

    /// <summary>The records (ids and attributes, no tokens) of a block, in ordinal order.</summary>
    public static List<EscrowRecord> ReadBlock(ReadOnlySpan<byte> block, int expectedCount) => RecordCodec.ReadAll(block, expectedCount);

    /// <summary>Records in a block: <see cref="PopulationData.BlockSize"/>, fewer in the last.</summary>
    public static int RecordsIn(int block, int recordCount) => Math.Min(PopulationData.BlockSize, recordCount - block * PopulationData.BlockSize);
}
