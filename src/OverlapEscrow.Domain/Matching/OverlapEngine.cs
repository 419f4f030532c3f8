using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Matching;

[Flags]
public enum MatchKinds : byte
{
    None = 0,
    Domain = 1 << (IdentifierType.Domain - 1),
    Name = 1 << (IdentifierType.Name - 1),
}

/// <summary>
/// The overlap of two population versions from one side's point of view ("mine" against "theirs"):
/// which of my records overlap, and with which of their records, on which identifier types.
/// </summary>
public sealed class OverlapResult
{
    internal OverlapResult(int[] myOrdinals, int[] pairStart, int[] theirOrdinals, MatchKinds[] kinds, bool[] truncated)
    {
        MyOrdinals = myOrdinals;
        PairStart = pairStart;
        TheirOrdinals = theirOrdinals;
        Kinds = kinds;
        Truncated = truncated;
    }

    /// <summary>Ordinals of my overlapping records, ascending (so in record id order).</summary>
    public int[] MyOrdinals { get; }

    /// <summary>Pairs of my i-th overlapping record are at [PairStart[i], PairStart[i+1]).</summary>
    public int[] PairStart { get; }
    public int[] TheirOrdinals { get; }
    public MatchKinds[] Kinds { get; }

    /// <summary>Whether my i-th overlapping record matched more partner records than were kept.</summary>
    public bool[] Truncated { get; }

    /// <summary>Number of my distinct records that overlap.</summary>
    public int Count => MyOrdinals.Length;

    /// <summary>Index into <see cref="MyOrdinals"/> of the first overlapping record with ordinal ≥ the given one.</summary>
    public int FirstAtOrAfter(int myOrdinal)
    {
        var i = Array.BinarySearch(MyOrdinals, myOrdinal);
        return i >= 0 ? i : ~i;
    }
}

/// <summary>
/// Computes overlaps by merge-joining the sorted token indexes of two versions, one identifier type at a time.
/// </summary>
/// <remarks>
/// Match rule (docs/hashing.md, "Server match rules"):
/// two records overlap when they share a domain token; or when they share a name token (name + country) and
/// they do not both carry domain tokens. When both carry domains and none is shared, the domains say they are
/// different companies that happen to share a name in one country, and the name match is dropped.
/// Work is O(n + m + pairs) after the per-version sort, which is cached with the version.
/// </remarks>
public static class OverlapEngine
{
    /// <summary>Partner records kept per overlapping record; beyond it the result is flagged as truncated.</summary>
    public const int MaxPartnersPerRecord = 50;

    public static OverlapResult Compute(PopulationData mine, PopulationData theirs)
    {
        var pairs = new List<Pair>();
        foreach (var type in IdentifierTypes.All)
            Join(mine.Index(type), theirs.Index(type), (MatchKinds)(1 << ((int)type - 1)), pairs);

        pairs.Sort(static (x, y) => x.Mine != y.Mine ? x.Mine.CompareTo(y.Mine) : x.Theirs.CompareTo(y.Theirs));

        var myOrdinals = new List<int>();
        var pairStart = new List<int>();
        var theirOrdinals = new List<int>();
        var kinds = new List<MatchKinds>();
        var truncated = new List<bool>();
        var i = 0;
        while (i < pairs.Count)
        {
            var me = pairs[i].Mine;
            var startCount = theirOrdinals.Count;
            var kept = 0;
            var cut = false;
            while (i < pairs.Count && pairs[i].Mine == me)
            {
                var them = pairs[i].Theirs;
                var kind = MatchKinds.None;
                while (i < pairs.Count && pairs[i].Mine == me && pairs[i].Theirs == them) kind |= pairs[i++].Kind;
                if ((kind & MatchKinds.Domain) == 0 && mine.HasDomain[me] && theirs.HasDomain[them]) continue;
                if (kept == MaxPartnersPerRecord) { cut = true; continue; }
                theirOrdinals.Add(them);
                kinds.Add(kind);
                kept++;
            }
            if (theirOrdinals.Count == startCount) continue;
            myOrdinals.Add(me);
            pairStart.Add(startCount);
            truncated.Add(cut);
        }
        pairStart.Add(theirOrdinals.Count);
        return new OverlapResult([.. myOrdinals], [.. pairStart], [.. theirOrdinals], [.. kinds], [.. truncated]);
    }

    private static void Join(TokenIndex a, TokenIndex b, MatchKinds kind, List<Pair> pairs)
    {
        int i = 0, j = 0;
        while (i < a.Tokens.Length && j < b.Tokens.Length)
        {
            var c = a.Tokens[i].CompareTo(b.Tokens[j]);
            if (c < 0) { i++; continue; }
            if (c > 0) { j++; continue; }
            var token = a.Tokens[i];
            var iEnd = i;
            while (iEnd < a.Tokens.Length && a.Tokens[iEnd] == token) iEnd++;
            var jEnd = j;
            while (jEnd < b.Tokens.Length && b.Tokens[jEnd] == token) jEnd++;
            // A token shared by very many partner records (a catch-all domain) must not blow up the pair list:
            // keep a bounded number per token; the per-record cap below flags the truncation.
            var jKeep = Math.Min(jEnd, j + MaxPartnersPerRecord + 1);
            for (var x = i; x < iEnd; x++)
                for (var y = j; y < jKeep; y++)
                    pairs.Add(new Pair(a.Ordinals[x], b.Ordinals[y], kind));
            i = iEnd;
            j = jEnd;
        }
    }

    private readonly record struct Pair(int Mine, int Theirs, MatchKinds Kind);
}
