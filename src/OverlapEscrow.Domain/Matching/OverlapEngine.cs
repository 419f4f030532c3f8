using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Matching;

[Flags]
public enum MatchKinds : byte
{
    None = 0,
    Domain = 1 << (IdentifierType.Domain - 1),
    Name = 1 << (IdentifierType.Name - 1),
    DomainLabel = 1 << (IdentifierType.DomainLabel - 1),
    NameOnly = 1 << (IdentifierType.NameOnly - 1),
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
/// Match rule (docs/hashing.md, "Server match rules"): two records overlap when
/// (a) they share a domain token; or
/// (b) they share a name token (name + country) and do not both carry domain tokens without sharing a domain
///     label: two domains with nothing in common say they are different companies that share a name; or
/// (c) they share a name-only token and a domain label: the same name on the same brand under another public
///     suffix (rescuetime.com in India, rescuetime.co.uk in the United States), whatever the billing country.
/// Domain labels and name-only tokens never match on their own. Rules are applied while joining, before the
/// per-record cap, so rejected pairs never take a kept place. A name or name-only token carried by more than
/// <see cref="TooCommon"/> records on either side identifies nobody and is skipped, which also bounds the work.
/// Work is O(n + m + pairs) after the per-version sort, which is cached with the version.
/// </remarks>
public static class OverlapEngine
{
    /// <summary>Partner records kept per overlapping record; beyond it the result is flagged as truncated.</summary>
    public const int MaxPartnersPerRecord = 50;

    /// <summary>Records sharing one name token beyond which the token is too common to identify an account.</summary>
    public const int TooCommon = 1000;

    public static OverlapResult Compute(PopulationData mine, PopulationData theirs)
    {
        var pairs = new List<Pair>();
        JoinDomains(mine.Index(IdentifierType.Domain), theirs.Index(IdentifierType.Domain), pairs);
        JoinNames(mine, theirs, pairs);
        JoinNamesOnBrand(mine, theirs, pairs);
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
                // A domain match whose names agree as well says so.
                if (kind == MatchKinds.Domain && Share(mine.Records[me], theirs.Records[them], IdentifierType.Name)) kind |= MatchKinds.Name;
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
    /// Rule (b): pairs sharing a name token. For one of my records with a domain, a partner record with a domain
    /// qualifies only if the two share a domain label; the rule is applied here, before any cap, so a popular name
    /// cannot crowd out the valid pairs.
    /// </summary>
    private static void JoinNames(PopulationData mine, PopulationData theirs, List<Pair> pairs) =>
        JoinQualified(mine, theirs, IdentifierType.Name, MatchKinds.Name, pairs, (me, them) =>
            !(mine.HasDomain[me] && theirs.HasDomain[them]) || Share(mine.Records[me], theirs.Records[them], IdentifierType.DomainLabel));

    /// <summary>Rule (c): pairs sharing a name-only token and a domain label.</summary>
    private static void JoinNamesOnBrand(PopulationData mine, PopulationData theirs, List<Pair> pairs) =>
        JoinQualified(mine, theirs, IdentifierType.NameOnly, MatchKinds.NameOnly | MatchKinds.DomainLabel, pairs, (me, them) =>
            Share(mine.Records[me], theirs.Records[them], IdentifierType.DomainLabel));

    /// <summary>
    /// Pairs sharing a token of the given type that also pass <paramref name="qualifies"/>, skipping tokens too common
    /// to identify anyone and keeping at most cap + 1 qualifying partners per record and token.
    /// </summary>
    private static void JoinQualified(PopulationData mine, PopulationData theirs, IdentifierType type, MatchKinds kind, List<Pair> pairs,
        Func<int, int, bool> qualifies)
    {
        var a = mine.Index(type);
        var b = theirs.Index(type);
        ForEachRun(a, b, (iFrom, iTo, jFrom, jTo) =>
        {
            if (iTo - iFrom > TooCommon || jTo - jFrom > TooCommon) return;
            for (var x = iFrom; x < iTo; x++)
            {
                var me = a.Ordinals[x];
                var kept = 0;
                for (var y = jFrom; y < jTo && kept <= MaxPartnersPerRecord; y++)
                {
                    var them = b.Ordinals[y];
                    if (!qualifies(me, them)) continue;
                    pairs.Add(new Pair(me, them, kind));
                    kept++;
                }
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

    private static bool Share(EscrowRecord a, EscrowRecord b, IdentifierType type)
    {
        foreach (var x in a.Tokens)
            if (x.Type == type)
                foreach (var y in b.Tokens)
                    if (y.Type == type && x.Token == y.Token) return true;
        return false;
    }

    private readonly record struct Pair(int Mine, int Theirs, MatchKinds Kind);
}
