using System.Runtime.CompilerServices;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// One committed version of a population as matching needs it: per identifier type a token column sorted by
/// (token, ordinal), where a record's ordinal is its position in record id order (ordinal comparison). Nothing per
/// record is an object: the columns are arrays of values, so the garbage collector never walks them, and a version
/// read from its stored columns (<see cref="VersionColumns"/>) needs no sort. Immutable, so it can be cached by
/// version id.
/// </summary>
/// <remarks>
/// The records themselves (ids and attributes) are not part of it, except for a version just materialized from its
/// record segments (<see cref="Materialize"/>, <see cref="HasRecords"/>): lists and exports read the records they
/// show from the stored record blocks, located by <see cref="BlockOf"/>.
/// </remarks>
public sealed class PopulationData
{
    /// <summary>Records per stored record block (ids and attributes), in ordinal order.</summary>
    public const int BlockSize = 256;

    private readonly TokenIndex[] _indexes;
    private readonly RecordTokens[] _byRecord;
    private readonly EscrowRecord[]? _records;
    private readonly string[] _blockFirstIds;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PopulationData(string versionId, int recordCount, TokenIndex[] indexes, string[] attributeNames, string[] blockFirstIds, EscrowRecord[]? records)
    {
        VersionId = versionId;
        RecordCount = recordCount;
        _indexes = indexes;
        _records = records;
        _blockFirstIds = blockFirstIds;
        AttributeNames = attributeNames;
        HasDomain = ColumnArrays.Zeroed<bool>(recordCount);
        CountryUnknown = ColumnArrays.Zeroed<bool>(recordCount);
        foreach (var o in Index(IdentifierType.Domain).Ordinals) HasDomain[o] = true;
        // Country unknown: name-only tokens and no name or generic-name token (how spec v2 clients send it).
        foreach (var o in Index(IdentifierType.NameOnly).Ordinals) CountryUnknown[o] = true;
        foreach (var o in Index(IdentifierType.Name).Ordinals) CountryUnknown[o] = false;
        foreach (var o in Index(IdentifierType.NameGeneric).Ordinals) CountryUnknown[o] = false;
        // Domain labels are also compared per pair (Share in the engine, for every pair a name join considers): a record's
        // label tokens, found from its ordinal. Built by counting, in linear time. Names are compared only for pairs sharing
        // a domain and not joined by name; the engine finds those records' names when it needs them (SomeRecordTokens), so
        // a load does not scatter every name token and a version does not keep them twice.
        _byRecord = new RecordTokens[indexes.Length];
        _byRecord[(int)IdentifierType.DomainLabel] = RecordTokens.Of(Index(IdentifierType.DomainLabel), recordCount);
        EstimatedBytes = Estimate();
    }

    /// <summary>
    /// The managed memory this version holds (columns, flags, per-record lookups, and the records when it has them),
    /// estimated from the CLR's 64-bit object layout. What caches charge against their byte budget.
    /// </summary>
    public long EstimatedBytes { get; }

    public string VersionId { get; }

    /// <summary>Number of records in the version.</summary>
    public int RecordCount { get; }

    /// <summary>The attribute names the version's records carry, in ordinal order.</summary>
    public IReadOnlyList<string> AttributeNames { get; }

    /// <summary>Whether the records are held too (a version just materialized from its segments).</summary>
    public bool HasRecords => _records is not null;

    /// <summary>Records ordered by record id (ordinal comparison); a record's position is its ordinal. Only when <see cref="HasRecords"/>.</summary>
    public IReadOnlyList<EscrowRecord> Records =>
        _records ?? throw new InvalidOperationException("This version holds token columns only; read its records from its stored record blocks.");

    /// <summary>The first record id of each stored record block, in order.</summary>
    public IReadOnlyList<string> BlockFirstIds => _blockFirstIds;

    /// <summary>Number of stored record blocks.</summary>
    public int BlockCount => _blockFirstIds.Length;

    /// <summary>Whether the record at an ordinal has at least one domain token (used by the name rule).</summary>
    internal bool[] HasDomain { get; }

    /// <summary>
    /// Whether the record's country is unknown: it has name-only tokens and no name or generic-name token, which is
    /// how spec v2 clients send a distinctive name without a known country.
    /// </summary>
    internal bool[] CountryUnknown { get; }

    internal TokenIndex Index(IdentifierType type) => _indexes[(int)type];

    /// <summary>The tokens of one record of the type (domain labels only).</summary>
    internal ReadOnlySpan<Token> TokensOf(IdentifierType type, int ordinal) => _byRecord[(int)type].Of(ordinal);

    /// <summary>The sorted token column of one type, with the ordinal of the record holding each token.</summary>
    public (Token[] Tokens, int[] Ordinals) Column(IdentifierType type) => (Index(type).Tokens, Index(type).Ordinals);

    public static PopulationData Empty(string versionId) => new(versionId, 0, EmptyIndexes(), [], [], []);

    /// <summary>
    /// Builds a version from its layers: the snapshot's records first, then each delta in commit order
    /// (a delta record replaces the record with the same id, a deletion removes it). The result holds its records.
    /// </summary>
    public static PopulationData Materialize(string versionId, IEnumerable<IReadOnlyList<EscrowRecord>> layers)
    {
        var list = layers as IReadOnlyList<IReadOnlyList<EscrowRecord>> ?? layers.ToList();
        EscrowRecord[] records;
        if (list.Count == 1 && !list[0].Any(r => r.Deleted))
        {
            // A lone snapshot has unique ids (uploads reject duplicates): no need to index it by id first.
            records = [.. list[0]];
        }
        else
        {
            var byId = new Dictionary<string, EscrowRecord>(StringComparer.Ordinal);
            foreach (var layer in list)
                foreach (var record in layer)
                {
                    if (record.Deleted) byId.Remove(record.RecordId);
                    else byId[record.RecordId] = record;
                }
            records = [.. byId.Values];
        }
        Array.Sort(records, static (a, b) => string.CompareOrdinal(a.RecordId, b.RecordId));
        var indexes = EmptyIndexes();
        foreach (var type in IdentifierTypes.All) indexes[(int)type] = BuildIndex(records, type);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var r in records)
            foreach (var a in r.Attributes) names.Add(a.Name);
        var firstIds = new string[(records.Length + BlockSize - 1) / BlockSize];
        for (var b = 0; b < firstIds.Length; b++) firstIds[b] = records[b * BlockSize].RecordId;
        return new PopulationData(versionId, records.Length, indexes, [.. names], firstIds, records);
    }

    /// <summary>
    /// A version from its stored columns: each column already sorted by (token, ordinal), so nothing is sorted here.
    /// </summary>
    /// <exception cref="InvalidDataException">A column is not sorted or names an ordinal outside the version.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static PopulationData FromColumns(string versionId, int recordCount, IReadOnlyDictionary<IdentifierType, (Token[] Tokens, int[] Ordinals)> columns,
        string[] attributeNames, string[] blockFirstIds)
    {
        foreach (var (_, (tokens, ordinals)) in columns)
            if (tokens.Length == ordinals.Length) CheckColumn(tokens, ordinals, recordCount);
        return FromCheckedColumns(versionId, recordCount, columns, attributeNames, blockFirstIds);
    }

    /// <summary>
    /// Checks a stretch of a token column: sorted by (token, ordinal), every ordinal inside the version. A column checked
    /// stretch by stretch, each overlapping the previous by one entry, is checked whole.
    /// </summary>
    /// <exception cref="InvalidDataException">It is not.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CheckColumn(ReadOnlySpan<Token> tokens, ReadOnlySpan<int> ordinals, int recordCount)
    {
        for (var i = 0; i < ordinals.Length; i++)
            if ((uint)ordinals[i] >= (uint)recordCount) throw new InvalidDataException("A token column names a record outside the version.");
        for (var i = 1; i < tokens.Length; i++)
        {
            var (p, q) = (tokens[i - 1], tokens[i]);
            if (p.High > q.High || (p.High == q.High && (p.Low > q.Low || (p.Low == q.Low && ordinals[i - 1] > ordinals[i]))))
                throw new InvalidDataException("A token column is not sorted.");
        }
    }

    /// <summary>A version from columns already checked with <see cref="CheckColumn"/> (as <see cref="VersionColumns.Reader"/> does, chunk by chunk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static PopulationData FromCheckedColumns(string versionId, int recordCount, IReadOnlyDictionary<IdentifierType, (Token[] Tokens, int[] Ordinals)> columns,
        string[] attributeNames, string[] blockFirstIds)
    {
        var indexes = EmptyIndexes();
        foreach (var (type, (tokens, ordinals)) in columns)
        {
            if ((int)type <= 0 || (int)type >= indexes.Length || tokens.Length != ordinals.Length) throw new InvalidDataException("Malformed token column.");
            indexes[(int)type] = new TokenIndex(tokens, ordinals);
        }
        if (blockFirstIds.Length != (recordCount + BlockSize - 1) / BlockSize) throw new InvalidDataException("Record block count does not match the record count.");
        return new PopulationData(versionId, recordCount, indexes, attributeNames, blockFirstIds, null);
    }

    /// <summary>
    /// The version's records with their tokens, from its record blocks (ids and attributes in ordinal order, as
    /// <see cref="VersionColumns"/> stores them, by block number) and its token columns: what a snapshot stored without
    /// record segments holds. Within a record, tokens come by identifier type, each type's in column order.
    /// </summary>
    /// <exception cref="InvalidDataException">A block is missing, holds another count of records, or does not start where the header says.</exception>
    public EscrowRecord[] RecordsFrom(IReadOnlyDictionary<int, EscrowRecord[]> blocks)
    {
        var counts = new int[RecordCount];
        foreach (var type in IdentifierTypes.All)
            foreach (var o in Index(type).Ordinals) counts[o]++;
        var tokens = new RecordToken[RecordCount][];
        for (var i = 0; i < tokens.Length; i++) tokens[i] = counts[i] == 0 ? [] : new RecordToken[counts[i]];
        Array.Clear(counts);
        foreach (var type in IdentifierTypes.All)
        {
            var (column, ordinals) = Column(type);
            for (var p = 0; p < column.Length; p++) tokens[ordinals[p]][counts[ordinals[p]]++] = new RecordToken(type, column[p]);
        }
        var records = new EscrowRecord[RecordCount];
        for (var b = 0; b < BlockCount; b++)
        {
            if (!blocks.TryGetValue(b, out var block) || block.Length != Math.Min(BlockSize, RecordCount - b * BlockSize)
                || !string.Equals(block[0].RecordId, _blockFirstIds[b], StringComparison.Ordinal))
                throw new InvalidDataException($"Record block {b} of version {VersionId} is missing or does not match its header.");
            for (var i = 0; i < block.Length; i++) records[b * BlockSize + i] = block[i] with { Tokens = tokens[b * BlockSize + i] };
        }
        return records;
    }

    /// <summary>The same version without its records: what a cache keeps.</summary>
    public PopulationData WithoutRecords() => _records is null ? this : new(VersionId, RecordCount, _indexes, [.. AttributeNames], _blockFirstIds, null);

    /// <summary>The ordinal of a record id, or a negative number when absent. Only when <see cref="HasRecords"/>.</summary>
    public int OrdinalOf(string recordId)
    {
        var records = Records;
        int lo = 0, hi = records.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(records[mid].RecordId, recordId);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>The stored record block that holds the record id if the version has it (-1 when it sorts before every record).</summary>
    public int BlockOf(string recordId)
    {
        int lo = 0, hi = _blockFirstIds.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (string.CompareOrdinal(_blockFirstIds[mid], recordId) <= 0) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }

    private static TokenIndex[] EmptyIndexes()
    {
        var indexes = new TokenIndex[IdentifierTypes.All.Count + 1];
        for (var i = 0; i < indexes.Length; i++) indexes[i] = TokenIndex.Empty;
        return indexes;
    }

    private long Estimate()
    {
        long bytes = MemorySize.Object(7 * MemorySize.Reference + sizeof(long) + sizeof(int)) + MemorySize.String(VersionId)
            + MemorySize.Array(MemorySize.Reference, _indexes.Length) + MemorySize.Array(MemorySize.Reference, _byRecord.Length)
            + MemorySize.Array(sizeof(bool), HasDomain.Length) + MemorySize.Array(sizeof(bool), CountryUnknown.Length)
            + MemorySize.Array(MemorySize.Reference, _blockFirstIds.Length) + MemorySize.Array(MemorySize.Reference, AttributeNames.Count);
        foreach (var id in _blockFirstIds) bytes += MemorySize.String(id);
        foreach (var name in AttributeNames) bytes += MemorySize.String(name);
        foreach (var index in _indexes.Distinct())
            if (index.Tokens.Length > 0)
                bytes += MemorySize.Object(2 * MemorySize.Reference) + MemorySize.Array(Token.Size, index.Tokens.Length) + MemorySize.Array(sizeof(int), index.Ordinals.Length);
        foreach (var r in _byRecord)
            if (r is not null) bytes += r.EstimatedBytes;
        if (_records is not null)
        {
            bytes += MemorySize.Array(MemorySize.Reference, _records.Length);
            foreach (var record in _records) bytes += MemorySize.Of(record);
        }
        return bytes;
    }

    private static TokenIndex BuildIndex(EscrowRecord[] records, IdentifierType type)
    {
        var count = 0;
        foreach (var r in records)
            foreach (var t in r.Tokens)
                if (t.Type == type) count++;
        if (count == 0) return TokenIndex.Empty;
        var tokens = new Token[count];
        var ordinals = new int[count];
        var n = 0;
        for (var i = 0; i < records.Length; i++)
            foreach (var t in records[i].Tokens)
                if (t.Type == type) (tokens[n], ordinals[n++]) = (t.Token, i);
        // Ordinals ascend as added, and the sort is stable only by key: sort by (token, ordinal) so records sharing a
        // token come in record-id order and any cap keeps the same ones.
        var keys = new Entry[count];
        for (var i = 0; i < count; i++) keys[i] = new Entry(tokens[i], ordinals[i]);
        Array.Sort(keys);
        for (var i = 0; i < count; i++) (tokens[i], ordinals[i]) = (keys[i].Token, keys[i].Ordinal);
        return new TokenIndex(tokens, ordinals);
    }

    private readonly record struct Entry(Token Token, int Ordinal) : IComparable<Entry>
    {
        public int CompareTo(Entry other)
        {
            var c = Token.CompareTo(other.Token);
            return c != 0 ? c : Ordinal.CompareTo(other.Ordinal);
        }
    }

    /// <summary>
    /// Per record, its tokens of one type (compressed sparse rows): the tokens themselves, not their positions in the
    /// sorted column, so comparing two records' tokens reads two short runs rather than a token per position scattered
    /// over the column.
    /// </summary>
    private sealed class RecordTokens(int[] start, Token[] tokens)
    {
        private static readonly RecordTokens None = new([], []);

        public long EstimatedBytes => MemorySize.Object(2 * MemorySize.Reference) + MemorySize.Array(sizeof(int), start.Length) + MemorySize.Array(Token.Size, tokens.Length);

        public ReadOnlySpan<Token> Of(int ordinal) => start.Length == 0 ? default : tokens.AsSpan(start[ordinal], start[ordinal + 1] - start[ordinal]);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static RecordTokens Of(TokenIndex index, int recordCount)
        {
            if (index.Ordinals.Length == 0) return None;
            // Counted per record, then running ends; filled from the column's end backwards, each record's end moves down
            // to its start (no second array of positions).
            var start = new int[recordCount + 1];
            var ordinals = index.Ordinals;
            foreach (var o in ordinals) start[o]++;
            for (int i = 0, sum = 0; i < recordCount; i++) start[i] = sum += start[i];
            start[recordCount] = ordinals.Length;
            // Every slot is written exactly once (the counts above), so the array need not be zeroed first.
            var tokens = ColumnArrays.Uninitialized<Token>(ordinals.Length);
            var column = index.Tokens;
            for (var p = ordinals.Length - 1; p >= 0; p--) tokens[--start[ordinals[p]]] = column[p];
            return new RecordTokens(start, tokens);
        }
    }
}

/// <summary>Tokens of one identifier type sorted ascending, with the ordinal of the record holding each.</summary>
internal sealed record TokenIndex(Token[] Tokens, int[] Ordinals)
{
    public static readonly TokenIndex Empty = new([], []);
}
