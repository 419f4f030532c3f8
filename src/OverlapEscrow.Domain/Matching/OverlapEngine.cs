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
        PartnerCount = theirOrdinals.Distinct().Count();
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

    /// <summary>Number of their distinct records that overlap (among the kept pairs).</summary>
    public int PartnerCount { get; } = 0;

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
/// The rule is applied while joining, before the per-record cap, so rejected pairs never take a kept place.
/// Work is O(n + m + pairs) after the per-version sort, which is cached with the version.
/// </remarks>
public static class OverlapEngine
{
    /// <summary>Partner records kept per overlapping record; beyond it the result is flagged as truncated.</summary>
    public const int MaxPartnersPerRecord = 50;

    public static OverlapResult Compute(PopulationData mine, PopulationData theirs)
    {
        var pairs = new List<Pair>();
        JoinDomains(mine.Index(IdentifierType.Domain), theirs.Index(IdentifierType.Domain), pairs);
        JoinNames(mine, theirs, pairs);
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
            myOrdinals.Add(me);
            pairStart.Add(theirOrdinals.Count);
            var kept = 0;
            var cut = false;
            while (i < pairs.Count && pairs[i].Mine == me)
            {
                var them = pairs[i].Theirs;
                var kind = MatchKinds.None;
                while (i < pairs.Count && pairs[i].Mine == me && pairs[i].Theirs == them) kind |= pairs[i++].Kind;
                if (kept == MaxPartnersPerRecord) { cut = true; continue; }
                // A domain match whose names agree as well says so (the name join only pairs records without conflicting domains).
                if (kind == MatchKinds.Domain && ShareName(mine.Records[me], theirs.Records[them])) kind |= MatchKinds.Name;
                theirOrdinals.Add(them);
                kinds.Add(kind);
                kept++;
            }
            truncated.Add(cut);
        }
        pairStart.Add(theirOrdinals.Count);
        return new OverlapResult([.. myOrdinals], [.. pairStart], [.. theirOrdinals], [.. kinds], [.. truncated]);
    }

    /// <summary>Every pair sharing a domain token (at most cap + 1 partner records per token and record, enough to flag truncation).</summary>
    private static void JoinDomains(TokenIndex a, TokenIndex b, List<Pair> pairs) =>
        ForEachRun(a, b, (iFrom, iTo, jFrom, jTo) =>
        {
            var jKeep = Math.Min(jTo, jFrom + MaxPartnersPerRecord + 1);
            for (var x = iFrom; x < iTo; x++)
                for (var y = jFrom; y < jKeep; y++)
                    pairs.Add(new Pair(a.Ordinals[x], b.Ordinals[y], MatchKinds.Domain));
        });

    /// <summary>
    /// Pairs sharing a name token that the match rule accepts. The rule is applied here, before any cap: for one of
    /// my records with a domain, only partner records without a domain are candidates (two records that both carry
    /// domains overlap through a shared domain or not at all), so a popular name cannot crowd out the valid pairs.
    /// </summary>
    private static void JoinNames(PopulationData mine, PopulationData theirs, List<Pair> pairs)
    {
        var a = mine.Index(IdentifierType.Name);
        var b = theirs.Index(IdentifierType.Name);
        var withoutDomain = new List<int>();
        ForEachRun(a, b, (iFrom, iTo, jFrom, jTo) =>
        {
            withoutDomain.Clear();
            for (var y = jFrom; y < jTo && withoutDomain.Count <= MaxPartnersPerRecord; y++)
                if (!theirs.HasDomain[b.Ordinals[y]]) withoutDomain.Add(b.Ordinals[y]);
            var jKeep = Math.Min(jTo, jFrom + MaxPartnersPerRecord + 1);
            for (var x = iFrom; x < iTo; x++)
            {
                var me = a.Ordinals[x];
                if (mine.HasDomain[me])
                    foreach (var them in withoutDomain) pairs.Add(new Pair(me, them, MatchKinds.Name));
                else
                    for (var y = jFrom; y < jKeep; y++) pairs.Add(new Pair(me, b.Ordinals[y], MatchKinds.Name));
            }
        });
    }

    /// <summary>Calls <paramref name="run"/> with the index ranges of each token present on both sides.</summary>
    private static void ForEachRun(TokenIndex a, TokenIndex b, Action<int, int, int, int> run)
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
            run(i, iEnd, j, jEnd);
            i = iEnd;
            j = jEnd;
        }
    }

    private static bool ShareName(EscrowRecord a, EscrowRecord b)
    {
        foreach (var x in a.Tokens)
            if (x.Type == IdentifierType.Name)
                foreach (var y in b.Tokens)
                    if (y.Type == IdentifierType.Name && x.Token == y.Token) return true;
        return false;
    }

    private readonly record struct Pair(int Mine, int Theirs, MatchKinds Kind);
}
