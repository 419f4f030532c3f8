using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// One committed version of a population, materialized in memory for matching: records ordered by record id
/// (ordinal), and per identifier type a token index sorted by token. Immutable, so it can be cached by version id.
/// </summary>
public sealed class PopulationData
{
    private readonly TokenIndex[] _indexes;

    private PopulationData(string versionId, EscrowRecord[] records)
    {
        VersionId = versionId;
        Records = records;
        HasDomain = new bool[records.Length];
        CountryUnknown = new bool[records.Length];
        _indexes = new TokenIndex[IdentifierTypes.All.Count + 1];
        // Domain labels only qualify other matches (checked per pair), so they need no index of their own.
        foreach (var type in IdentifierTypes.All)
            _indexes[(int)type] = type == IdentifierType.DomainLabel ? new TokenIndex([], []) : BuildIndex(records, type);
        for (var i = 0; i < records.Length; i++)
        {
            bool nameOnly = false, name = false;
            foreach (var t in records[i].Tokens)
            {
                if (t.Type == IdentifierType.Domain) HasDomain[i] = true;
                else if (t.Type == IdentifierType.NameOnly) nameOnly = true;
                else if (t.Type is IdentifierType.Name or IdentifierType.NameGeneric) name = true;
            }
            CountryUnknown[i] = nameOnly && !name;
        }
        EstimatedBytes = Estimate(records);
    }

    /// <summary>
    /// The managed memory this version holds (records with their strings and arrays, the indexes), estimated from
    /// the CLR's 64-bit object layout. What caches charge against their byte budget.
    /// </summary>
    public long EstimatedBytes { get; }

    public string VersionId { get; }

    /// <summary>Records ordered by record id (ordinal comparison); a record's position is its ordinal.</summary>
    public IReadOnlyList<EscrowRecord> Records { get; }

    /// <summary>Whether the record at an ordinal has at least one domain token (used by the name rule).</summary>
    internal bool[] HasDomain { get; }

    /// <summary>
    /// Whether the record's country is unknown: it has name-only tokens and no name or generic-name token, which is
    /// how spec v2 clients send a distinctive name without a known country.
    /// </summary>
    internal bool[] CountryUnknown { get; }

    internal TokenIndex Index(IdentifierType type) => _indexes[(int)type];

    public static PopulationData Empty(string versionId) => new(versionId, []);

    /// <summary>
    /// Builds a version from its layers: the snapshot's records first, then each delta in commit order
    /// (a delta record replaces the record with the same id, a deletion removes it).
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
        return new PopulationData(versionId, records);
    }

    /// <summary>The ordinal of a record id, or a negative number when absent.</summary>
    public int OrdinalOf(string recordId)
    {
        int lo = 0, hi = Records.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(Records[mid].RecordId, recordId);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    private long Estimate(EscrowRecord[] records)
    {
        long bytes = MemorySize.Object(5 * MemorySize.Reference + sizeof(long)) + MemorySize.String(VersionId)
            + MemorySize.Array(MemorySize.Reference, _indexes.Length) + MemorySize.Array(MemorySize.Reference, records.Length)
            + MemorySize.Array(sizeof(bool), HasDomain.Length) + MemorySize.Array(sizeof(bool), CountryUnknown.Length);
        foreach (var index in _indexes)
            if (index is not null)
                bytes += MemorySize.Object(2 * MemorySize.Reference)
                    + MemorySize.Array(Token.Size, index.Tokens.Length) + MemorySize.Array(sizeof(int), index.Ordinals.Length);
        foreach (var record in records) bytes += MemorySize.Of(record);
        return bytes;
    }

    private static TokenIndex BuildIndex(EscrowRecord[] records, IdentifierType type)
    {
        var entries = new List<Entry>();
        for (var i = 0; i < records.Length; i++)
            foreach (var t in records[i].Tokens)
                if (t.Type == type) entries.Add(new Entry(t.Token, i));
        // Ties broken by ordinal, so records sharing a token come in record-id order and any cap keeps the same ones.
        entries.Sort();
        var tokens = new Token[entries.Count];
        var ordinals = new int[entries.Count];
        for (var n = 0; n < entries.Count; n++) (tokens[n], ordinals[n]) = (entries[n].Token, entries[n].Ordinal);
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
}

/// <summary>Tokens of one identifier type sorted ascending, with the ordinal of the record holding each.</summary>
internal sealed record TokenIndex(Token[] Tokens, int[] Ordinals);
