using System.Buffers;
using System.Runtime.CompilerServices;
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
    NameGeneric = 1 << (IdentifierType.NameGeneric - 1),
    NameSkeleton = 1 << (IdentifierType.NameSkeleton - 1),
    NameTypo = 1 << (IdentifierType.NameTypo - 1),
}

/// <summary>
/// How sure a match is (docs/hashing.md, "Server match rules"). Exact: a shared domain. Strong: a distinctive name
/// with its country, or a name with a corroborating key. Possible: a name alone that many companies could carry.
/// </summary>
public enum MatchConfidence : byte
{
    Possible = 1,
    Strong = 2,
    Exact = 3,
}

/// <summary>Which matches a computation keeps: by default exact and strong ones; possible ones on request.</summary>
public enum MatchView : byte
{
    Default = 0,
    IncludePossible = 1,
}

/// <summary>
/// The overlap of two population versions from one side's point of view ("mine" against "theirs"):
/// which of my records overlap, and with which of their records, on which identifier types.
/// </summary>
public sealed class OverlapResult
{
    internal OverlapResult(int[] myOrdinals, int[] pairStart, int[] theirOrdinals, MatchKinds[] kinds, MatchConfidence[] confidences, bool[] truncated, int partnerCount)
    {
        Confidences = confidences;
        PartnerCount = partnerCount;
        MyOrdinals = myOrdinals;
        PairStart = pairStart;
        TheirOrdinals = theirOrdinals;
        Kinds = kinds;
        Truncated = truncated;
        EstimatedBytes = MemorySize.Object(6 * MemorySize.Reference + sizeof(int) + sizeof(long))
            + MemorySize.Array(sizeof(int), myOrdinals.Length) + MemorySize.Array(sizeof(int), pairStart.Length)
            + MemorySize.Array(sizeof(int), theirOrdinals.Length) + MemorySize.Array(sizeof(MatchKinds), kinds.Length)
            + MemorySize.Array(sizeof(MatchConfidence), confidences.Length) + MemorySize.Array(sizeof(bool), truncated.Length);
    }

    /// <summary>The managed memory this result holds (its arrays), estimated like <see cref="PopulationData.EstimatedBytes"/>.</summary>
    public long EstimatedBytes { get; }

    /// <summary>Ordinals of my overlapping records, ascending (so in record id order).</summary>
    public int[] MyOrdinals { get; }

    /// <summary>Pairs of my i-th overlapping record are at [PairStart[i], PairStart[i+1]).</summary>
    public int[] PairStart { get; }
    public int[] TheirOrdinals { get; }
    public MatchKinds[] Kinds { get; }

    /// <summary>The confidence of each pair, aligned with <see cref="TheirOrdinals"/> and <see cref="Kinds"/>.</summary>
    public MatchConfidence[] Confidences { get; }

    /// <summary>The highest confidence among the kept pairs of my i-th overlapping record.</summary>
    public MatchConfidence BestConfidence(int i)
    {
        var best = MatchConfidence.Possible;
        for (var p = PairStart[i]; p < PairStart[i + 1]; p++)
            if (Confidences[p] > best) best = Confidences[p];
        return best;
    }

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
/// Match rules (docs/hashing.md, "Server match rules"), for one of my records and one partner record. Their domains
/// contradict each other when both carry domain tokens and they share no domain label. A record whose country is
/// unknown carries name-only tokens and no name or generic-name token (spec v2 clients send it so).
/// Exact: (a) they share a domain token.
/// Strong: (b) they share a name token (name + country) and their domains do not contradict; (c) they share a
/// name-only token and a domain label, and one of them carries a domain: the same name on the same brand under another
/// public suffix, or named by the name label of a record without a domain (kickstarter.com); (d) they share
/// a name-only token, the country of one of them is unknown, and their domains do not contradict; (e) they share a
/// name-skeleton token and their domains do not contradict; (f) they share a name-typo token (their names with
/// their countries are one typo apart) and their domains do not contradict.
/// Possible (only in <see cref="MatchView.IncludePossible"/>): a shared name token whose domains contradict; a
/// shared generic-name or name-only token whose domains do not; (g) a strong match of a record without a domain
/// whose strong matches include records with contradicting domains, unless it rests on the name in its own country
/// and those it contradicts do not (<see cref="DemoteAmbiguous"/>).
/// Domain labels never match on their own. Rules are applied before the per-record cap, so pairs
/// outside the view never take a kept place. A name-type token carried by more than <see cref="TooCommon"/> records
/// on either side identifies nobody and is skipped, which also bounds the work. Work is O(n + m + pairs) after the
/// per-version sort, which is cached with the version.
/// </remarks>
public static class OverlapEngine
{
    /// <summary>Partner records kept per overlapping record; beyond it the result is flagged as truncated.</summary>
    public const int MaxPartnersPerRecord = 50;

    /// <summary>Records sharing one name token beyond which the token is too common to identify an account.</summary>
    public const int TooCommon = 1000;

    /// <summary>My records of one token that <see cref="OwnerLocal"/> looks at per partner record (four times the cap kept).</summary>
    public const int OwnerLocalScan = 4 * (MaxPartnersPerRecord + 1);

    /// <summary>The default view: exact and strong matches, which the matrix counts and the lists show.</summary>
    public static OverlapResult Compute(PopulationData mine, PopulationData theirs) => Compute(mine, theirs, MatchView.Default);

    /// <summary>
    /// The confidence of a pair from the token types it shares (as joined), and the types its match rests on
    /// (matchedOn): a domain match says whether the names agree too; a name-only match is reported as such only when
    /// no other name rule applies, and rule (c) names the domain label it rests on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (MatchKinds Kinds, MatchConfidence? Confidence, bool ByCountry) Judge(PopulationData mine, PopulationData theirs, int me, int them, MatchKinds joined,
        bool shareName)
    {
        // Rule (c) needs a domain on one side at least: two records without one share a label only where both name it
        // after themselves (or after one e-mail domain), which says no more than the name.
        var label = (joined & MatchKinds.NameOnly) != 0 && (mine.HasDomain[me] || theirs.HasDomain[them])
            && Share(mine, me, theirs, them, IdentifierType.DomainLabel);
        var kinds = joined & (MatchKinds.Domain | MatchKinds.NameSkeleton | MatchKinds.NameGeneric);
        if ((joined & MatchKinds.Name) != 0) kinds |= MatchKinds.Name;
        // A domain match whose names agree as well says so, even when the name join skipped a too-common name
        // (shareName: marked by the name join, SharesName, or looked up before judging, NamesShared).
        else if ((joined & MatchKinds.Domain) != 0 && shareName) kinds |= MatchKinds.Name;
        // Equal names share their typo keys too; a typo key is reported only where the names differ.
        if ((joined & MatchKinds.NameTypo) != 0 && (kinds & MatchKinds.Name) == 0) kinds |= MatchKinds.NameTypo;
        if (label) kinds |= MatchKinds.NameOnly | MatchKinds.DomainLabel;
        else if ((joined & MatchKinds.NameOnly) != 0 && (kinds & (MatchKinds.Name | MatchKinds.NameSkeleton | MatchKinds.NameGeneric | MatchKinds.NameTypo | MatchKinds.Domain)) == 0)
            kinds |= MatchKinds.NameOnly;

        if ((joined & MatchKinds.Domain) != 0) return (kinds, MatchConfidence.Exact, true);
        // Only the name rules ask whether the domains contradict (two label look-ups a pair): not a domain match.
        var contradict = Contradict(mine, theirs, me, them);
        var countryUnknown = mine.CountryUnknown[me] || theirs.CountryUnknown[them];
        // Rules (b), (d), (e), (f): the name in the record's own country (or a country one side does not know).
        var byCountry = ((joined & MatchKinds.Name) != 0 && !contradict)
            || ((joined & MatchKinds.NameOnly) != 0 && !contradict && countryUnknown)
            || ((joined & MatchKinds.NameSkeleton) != 0 && !contradict)
            || ((joined & MatchKinds.NameTypo) != 0 && !contradict);
        if (byCountry || label) return (kinds, MatchConfidence.Strong, byCountry);
        if ((joined & MatchKinds.Name) != 0 || (!contradict && (joined & (MatchKinds.NameGeneric | MatchKinds.NameOnly)) != 0))
            return (kinds, MatchConfidence.Possible, false);
        return (kinds, null, false);
    }

    /// <summary>Both records carry domains and share no domain label: their domains say they are different companies.</summary>
    private static bool Contradict(PopulationData mine, PopulationData theirs, int me, int them) =>
        mine.HasDomain[me] && theirs.HasDomain[them] && !Share(mine, me, theirs, them, IdentifierType.DomainLabel);

    public static OverlapResult Compute(PopulationData mine, PopulationData theirs, MatchView view) =>
        Run(mine, theirs, view == MatchView.IncludePossible, ownerLocal: false);

    /// <summary>
    /// The match graph a counts-level figure counts (<see cref="Privacy.ContributionBound"/>, the health figures' bounded
    /// set): the exact and strong pairs of <paramref name="mine"/> (the viewer's) against <paramref name="theirs"/> (the
    /// owner's, whose records noise protects), where whether a pair is in depends only on its owner record and the
    /// viewer's data, never on the owner's other records.
    /// </summary>
    /// <remarks>
    /// The lists' rules that look at other owner records are what a count must not see (docs/privacy.md, "What one
    /// account can move"): with them one owner record could move a count by many. Rule (g) demotes a viewer record's
    /// name matches once its matches include two owner records whose domains contradict, so one added owner record
    /// demotes the matches of every such viewer record to other owner records; the per-record cap keeps a viewer
    /// record's first 50 owner records, so one added owner record with a low ordinal pushes another out of each; and a name
    /// token carried by more than <see cref="TooCommon"/> owner records is skipped, so the next one takes every pair
    /// through it away. Here no pair is demoted, the cap is per owner record (its first 51 viewer records a token, in
    /// the viewer's order) and only the viewer's side of a token can be too common. Each owner record then adds or takes
    /// away only its own edges. The graph is not the lists': it has pairs they leave out (ambiguous names, names common
    /// on the partner's side) and lacks some they keep (beyond an owner record's 51 a token), and its count is
    /// protected by the noise either way.
    /// </remarks>
    public static OverlapResult OwnerLocal(PopulationData mine, PopulationData theirs) => Run(mine, theirs, possible: false, ownerLocal: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static OverlapResult Run(PopulationData mine, PopulationData theirs, bool possible, bool ownerLocal)
    {
        // One join per identifier type that matches (domain labels never match on their own), each into pairs of its
        // own: the joins share nothing, so large ones run on the cores at once. Their order does not matter: the pairs
        // are ordered by (mine, theirs) next, and pairs equal on both merged.
        JoinType[] types = possible ? AllJoins : DefaultJoins;
        var joined = new PairBuffer[types.Length];
        long work = 0;
        foreach (var t in types) work += mine.Index(t.Type).Tokens.Length + theirs.Index(t.Type).Tokens.Length;
        if (work >= ParallelFrom && Environment.ProcessorCount > 1)
            Parallel.For(0, types.Length, k => joined[k] = Join(mine, theirs, types[k], possible, ownerLocal));
        else
            for (var k = 0; k < types.Length; k++) joined[k] = Join(mine, theirs, types[k], possible, ownerLocal);
        // The computation's working arrays (pairs, the judged list, the name look-ups) are rented from the shared pool and
        // returned cleared: a matrix computes many overlaps, and fresh arrays of that size are large-object allocations
        // whose pages are touched for the first time (dear on a virtual machine), collected only by a full collection.
        var sorted = SortPairs(joined, mine.RecordCount, theirs.RecordCount, out var pairCount);
        try
        {
            // The judged pairs are written over the sorted ones they come from (Judgements): a computation in a new process
            // touches every byte of its working arrays for the first time, and a third array of a pair count was about a
            // fifth of them (6.3 of 29 MB at 1M × 1M) (docs/performance.md, "A restart's first overlap").
            var judged = new Judgements(sorted, pairCount);
            // Domain pairs not joined by name: whether their names agree too (one pass over the name columns for just their records).
            // Whether a domain match's names agree says only which kinds it reports, which the owner-local graph does not
            // keep (its joins mark no shared names either): nothing to look up there.
            var nameShared = ownerLocal ? [] : NamesShared(mine, theirs, sorted, pairCount);
            try
            {
                // Each (mine, theirs) pair once, with its confidence, before the view and the cap. A judged pair is written at
                // an index no greater than its group's first pair, all of which have been read by then.
                for (int i = 0, check = 0; i < pairCount;)
                {
                    var me = sorted[i].Mine;
                    var them = sorted[i].Theirs;
                    var kinds = MatchKinds.None;
                    while (i < pairCount && sorted[i].Mine == me && sorted[i].Theirs == them) kinds |= sorted[i++].Kind;
                    if (kinds == SharesName) continue;
                    var shareName = (kinds & SharesName) != 0 || (!ownerLocal && NeedsNameCheck(kinds) && nameShared[check++]);
                    var (kind, confidence, byCountry) = Judge(mine, theirs, me, them, kinds, shareName);
                    if (confidence is not null) judged.Add(new Judged(me, them, kind, confidence.Value, byCountry));
                }
            }
            finally
            {
                if (!ownerLocal) ArrayPool<bool>.Shared.Return(nameShared, clearArray: true);
            }
            if (ownerLocal) return Result(theirs, judged, possible, int.MaxValue);
            DemoteAmbiguous(mine, theirs, judged);
            return Result(theirs, judged, possible, MaxPartnersPerRecord);
        }
        finally
        {
            // The pairs and the judged pairs over them say who overlaps whom: not left in a buffer others rent.
            sorted.AsSpan(0, pairCount).Clear();
            ArrayPool<Pair>.Shared.Return(sorted);
        }
    }

    /// <summary>
    /// The result of the judged pairs in (mine, theirs) order, after the view and the cap. Its arrays are the result's own
    /// (a cached result is read by lists and exports long after): allocated at their exact sizes, their pages faulted in
    /// ahead when large (<see cref="ColumnArrays"/>), as a new process's first computation would otherwise fault them page by
    /// page as it writes them.
    /// </summary>
    private static OverlapResult Result(PopulationData theirs, Judgements judged, bool possible, int cap)
    {
        // The result's arrays at their exact sizes: the records and pairs kept are counted first (the view and the cap).
        int records = 0, kept = 0;
        for (var i = 0; i < judged.Count;)
        {
            var me = judged[i].Mine;
            var inRecord = 0;
            for (; i < judged.Count && judged[i].Mine == me; i++)
                if ((judged[i].Confidence != MatchConfidence.Possible || possible) && inRecord < cap) inRecord++;
            if (inRecord == 0) continue;
            records++;
            kept += inRecord;
        }
        var myOrdinals = ColumnArrays.Zeroed<int>(records);
        var pairStart = ColumnArrays.Zeroed<int>(records + 1);
        var theirOrdinals = ColumnArrays.Zeroed<int>(kept);
        var matchKinds = ColumnArrays.Zeroed<MatchKinds>(kept);
        var confidences = ColumnArrays.Zeroed<MatchConfidence>(kept);
        var truncated = ColumnArrays.Zeroed<bool>(records);
        records = 0;
        kept = 0;
        for (var i = 0; i < judged.Count;)
        {
            var me = judged[i].Mine;
            var start = kept;
            var cut = false;
            for (; i < judged.Count && judged[i].Mine == me; i++)
            {
                var pair = judged[i];
                if (pair.Confidence == MatchConfidence.Possible && !possible) continue;
                if (kept - start == cap) { cut = true; continue; }
                theirOrdinals[kept] = pair.Theirs;
                matchKinds[kept] = pair.Kinds;
                confidences[kept] = pair.Confidence;
                kept++;
            }
            if (kept == start) continue;
            myOrdinals[records] = me;
            pairStart[records] = start;
            truncated[records] = cut;
            records++;
        }
        pairStart[records] = kept;
        var partners = new System.Collections.BitArray(theirs.RecordCount);
        var partnerCount = 0;
        for (var p = 0; p < kept; p++)
            if (!partners[theirOrdinals[p]]) { partners[theirOrdinals[p]] = true; partnerCount++; }
        return new OverlapResult(myOrdinals, pairStart, theirOrdinals, matchKinds, confidences, truncated, partnerCount);
    }

    /// <summary>Tokens on both sides together from which the joins run in parallel (below it, starting tasks costs more than it saves).</summary>
    private const long ParallelFrom = 1 << 16;

    /// <summary>A join of one identifier type and the match kind it yields.</summary>
    private readonly record struct JoinType(IdentifierType Type, MatchKinds Kind);

    // Rule (a); rule (b), and on request a name shared by records whose domains contradict; rules (c) and (d), and on
    // request any name-only match whose domains do not contradict; rules (e) and (f); on request, generic names.
    private static readonly JoinType[] DefaultJoins =
    [
        new(IdentifierType.Domain, MatchKinds.Domain), new(IdentifierType.Name, MatchKinds.Name), new(IdentifierType.NameOnly, MatchKinds.NameOnly),
        new(IdentifierType.NameSkeleton, MatchKinds.NameSkeleton), new(IdentifierType.NameTypo, MatchKinds.NameTypo),
    ];

    private static readonly JoinType[] AllJoins = [.. DefaultJoins, new(IdentifierType.NameGeneric, MatchKinds.NameGeneric)];

    /// <summary>Whether a pair sharing a token of the join's type counts as sharing it (a domain always does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Qualifies(PopulationData mine, PopulationData theirs, IdentifierType type, bool possible, int me, int them) => type switch
    {
        IdentifierType.Domain => true,
        IdentifierType.Name => possible || !Contradict(mine, theirs, me, them),
        IdentifierType.NameOnly => Share(mine, me, theirs, them, IdentifierType.DomainLabel)
            || (!Contradict(mine, theirs, me, them) && (possible || mine.CountryUnknown[me] || theirs.CountryUnknown[them])),
        _ => !Contradict(mine, theirs, me, them),
    };

    /// <summary>
    /// The pairs sharing a token of one type, by a merge of the two sorted columns. Domains: every pair (at most cap + 1
    /// partner records per token and record, enough to flag truncation). Name types: the pairs that pass
    /// <see cref="Qualifies"/>, skipping tokens too common to identify anyone and keeping at most cap + 1 qualifying
    /// partners per record and token.
    /// </summary>
    /// <remarks>
    /// <paramref name="ownerLocal"/> (<see cref="OwnerLocal"/>): the cap is per partner record (cap + 1 of my records a
    /// token, in my index's order) and a token is too common only by my side's count.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PairBuffer Join(PopulationData mine, PopulationData theirs, JoinType join, bool possible, bool ownerLocal)
    {
        var a = mine.Index(join.Type);
        var b = theirs.Index(join.Type);
        var at = a.Tokens;
        var bt = b.Tokens;
        var pairs = new PairBuffer(Math.Min(at.Length, bt.Length) / 4);
        var domain = join.Type == IdentifierType.Domain;
        int i = 0, j = 0;
        while (i < at.Length && j < bt.Length)
        {
            // Tokens are HMAC outputs: their high halves almost never tie, so most steps compare one 64-bit value,
            // and advance without a branch to mispredict.
            ulong x = at[i].High, y = bt[j].High;
            if (x != y)
            {
                i += x < y ? 1 : 0;
                j += x > y ? 1 : 0;
                continue;
            }
            if (at[i].Low != bt[j].Low)
            {
                if (at[i].Low < bt[j].Low) i++; else j++;
                continue;
            }
            var token = at[i];
            var iEnd = i + 1;
            while (iEnd < at.Length && at[iEnd] == token) iEnd++;
            var jEnd = j + 1;
            while (jEnd < bt.Length && bt[jEnd] == token) jEnd++;
            if (ownerLocal)
                JoinOwnerLocal(mine, theirs, join, a, b, i, iEnd, j, jEnd, pairs);
            else if (domain)
            {
                var jKeep = Math.Min(jEnd, j + MaxPartnersPerRecord + 1);
                for (var p = i; p < iEnd; p++)
                    for (var q = j; q < jKeep; q++)
                        pairs.Add(new Pair(a.Ordinals[p], b.Ordinals[q], join.Kind));
            }
            else if (iEnd - i <= TooCommon && jEnd - j <= TooCommon)
            {
                for (var p = i; p < iEnd; p++)
                {
                    var me = a.Ordinals[p];
                    var kept = 0;
                    for (var q = j; q < jEnd && kept <= MaxPartnersPerRecord; q++)
                    {
                        var them = b.Ordinals[q];
                        if (!Qualifies(mine, theirs, join.Type, possible, me, them))
                        {
                            // Not a name match, but the pair does share a name: said so for a domain match of the same pair (Judge).
                            if (join.Type == IdentifierType.Name) pairs.Add(new Pair(me, them, SharesName));
                            continue;
                        }
                        pairs.Add(new Pair(me, them, join.Kind));
                        kept++;
                    }
                }
            }
            i = iEnd;
            j = jEnd;
        }
        return pairs;
    }

    /// <summary>
    /// One token's pairs for <see cref="OwnerLocal"/>: each partner record's with at most cap + 1 of my records (the first
    /// that qualify among the first <see cref="OwnerLocalScan"/> in my index's order), so its pairs depend on it and my data
    /// only; nothing when my side alone carries the token more than <see cref="TooCommon"/> times. A pair that does not
    /// qualify leaves no mark (the graph keeps no kinds), and the scan bounds the work where the partner's side carries a
    /// token many times: at most that many looks per partner record and token.
    /// </summary>
    private static void JoinOwnerLocal(PopulationData mine, PopulationData theirs, JoinType join, TokenIndex a, TokenIndex b, int i, int iEnd, int j, int jEnd,
        PairBuffer pairs)
    {
        var domain = join.Type == IdentifierType.Domain;
        if (!domain && iEnd - i > TooCommon) return;
        for (var q = j; q < jEnd; q++)
        {
            var them = b.Ordinals[q];
            var kept = 0;
            var scanEnd = Math.Min(iEnd, i + OwnerLocalScan);
            for (var p = i; p < scanEnd && kept <= MaxPartnersPerRecord; p++)
            {
                var me = a.Ordinals[p];
                if (!domain && !Qualifies(mine, theirs, join.Type, false, me, them)) continue;
                pairs.Add(new Pair(me, them, join.Kind));
                kept++;
            }
        }
    }

    /// <summary>A pair joined by domain but not by name: whether the names agree too is looked up (<see cref="NamesShared"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NeedsNameCheck(MatchKinds joined) => (joined & (MatchKinds.Domain | MatchKinds.Name | SharesName)) == MatchKinds.Domain;

    /// <summary>
    /// Marks a pair the name join found sharing a name token but did not take as a name match (their domains contradict):
    /// a domain match of the pair then says the names agree without looking them up. Never part of a result's kinds
    /// (Judge builds those from the real kinds only); a pair with nothing else is not judged.
    /// </summary>
    private const MatchKinds SharesName = (MatchKinds)0x80;

    /// <summary>
    /// For each pair (mine, theirs) in <paramref name="sorted"/> that <see cref="NeedsNameCheck"/>, in order: whether the two
    /// records share a name token. Most pairs that do were marked by the name join (<see cref="SharesName"/>); these are the
    /// rest: pairs whose names differ, or share only a name too common for the join, or beyond its per-record cap. A
    /// version keeps no name tokens per record (they would cost 16 bytes a name token and a scatter over the whole column
    /// on every load); instead the records of these pairs get theirs here: one pass over each side's name column
    /// (<see cref="SomeRecordTokens"/>).
    /// </summary>
    /// <returns>An array rented from the shared pool (at least one entry a check): return it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool[] NamesShared(PopulationData mine, PopulationData theirs, Pair[] sorted, int pairCount)
    {
        // Few pairs need the look-up (most that share a name were marked by the name join), so the list starts small and
        // grows: an array of a pair count, faulted in whole, was 4 MB of a new process's fresh memory at 1M × 1M, where the
        // bench's computation used fewer than 32,768 entries of its 524,288.
        var checks = ArrayPool<(int Mine, int Theirs)>.Shared.Rent(Math.Max(pairCount / 64, 16));
        var count = 0;
        for (var i = 0; i < pairCount;)
        {
            var (me, them) = (sorted[i].Mine, sorted[i].Theirs);
            var kinds = MatchKinds.None;
            while (i < pairCount && sorted[i].Mine == me && sorted[i].Theirs == them) kinds |= sorted[i++].Kind;
            if (!NeedsNameCheck(kinds)) continue;
            if (count == checks.Length)
            {
                var larger = ColumnArrays.Rent<(int Mine, int Theirs)>(checks.Length * 2);
                checks.AsSpan(0, count).CopyTo(larger);
                checks.AsSpan(0, count).Clear();
                ArrayPool<(int, int)>.Shared.Return(checks);
                checks = larger;
            }
            checks[count++] = (me, them);
        }
        var result = ColumnArrays.Rent<bool>(Math.Max(count, 1));
        result.AsSpan(0, count).Clear();
        try
        {
            var myNames = mine.Index(IdentifierType.Name);
            var theirNames = theirs.Index(IdentifierType.Name);
            if (count == 0 || myNames.Tokens.Length == 0 || theirNames.Tokens.Length == 0) return result;
            var pairs = checks.AsSpan(0, count);
            using var myTokens = SomeRecordTokens.Of(myNames, mine.RecordCount, pairs, theirSide: false);
            using var theirTokens = SomeRecordTokens.Of(theirNames, theirs.RecordCount, pairs, theirSide: true);
            for (var k = 0; k < count; k++)
            {
                var other = theirTokens.Of(pairs[k].Theirs);
                foreach (var x in myTokens.Of(pairs[k].Mine))
                    if (other.Contains(x)) { result[k] = true; break; }
            }
            return result;
        }
        finally
        {
            checks.AsSpan(0, count).Clear();
            ArrayPool<(int, int)>.Shared.Return(checks);
        }
    }

    /// <summary>Whether two records share a token of the type (domain labels: the type kept per record).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Share(PopulationData mine, int me, PopulationData theirs, int them, IdentifierType type)
    {
        var theirTokens = theirs.TokensOf(type, them);
        if (theirTokens.IsEmpty) return false;
        foreach (var x in mine.TokensOf(type, me))
            foreach (var y in theirTokens)
                if (x == y) return true;
        return false;
    }

    /// <summary>
    /// The pairs of every join ordered by (mine, theirs), in time linear in the pairs: a least-significant-digit radix
    /// sort on 16-bit digits of theirs, then of mine (passes whose digit is zero throughout are skipped). Pairs equal on
    /// both are merged later, so their order among themselves does not matter. Few pairs are sorted by comparison.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Pair[] SortPairs(PairBuffer[] joined, int myRecordCount, int theirRecordCount, out int count)
    {
        count = 0;
        foreach (var j in joined) count += j.Count;
        // Both arrays (rented: the caller returns the one handed back) are written before they are read, up to count (the
        // joins' pairs copied in, then each pass's scatter).
        var sorted = ColumnArrays.Rent<Pair>(Math.Max(count, 1));
        var n = 0;
        foreach (var j in joined)
        {
            j.Items.AsSpan(0, j.Count).CopyTo(sorted.AsSpan(n));
            n += j.Count;
            j.Release();
        }
        if (count < 1 << 12)
        {
            sorted.AsSpan(0, count).Sort(static (x, y) => x.Mine != y.Mine ? x.Mine.CompareTo(y.Mine) : x.Theirs.CompareTo(y.Theirs));
            return sorted;
        }
        var other = ColumnArrays.Rent<Pair>(count);
        var counts = ArrayPool<int>.Shared.Rent(1 << 16);
        foreach (var (byMine, shift, records) in new[] { (false, 0, theirRecordCount), (false, 16, theirRecordCount), (true, 0, myRecordCount), (true, 16, myRecordCount) })
        {
            if (shift > 0 && records <= 1 << 16) continue;
            Array.Clear(counts, 0, 1 << 16);
            foreach (var p in sorted.AsSpan(0, count)) counts[Digit(p, byMine, shift)]++;
            for (int d = 0, sum = 0; d < 1 << 16; d++) (counts[d], sum) = (sum, sum + counts[d]);
            foreach (var p in sorted.AsSpan(0, count)) other[counts[Digit(p, byMine, shift)]++] = p;
            (sorted, other) = (other, sorted);
        }
        ArrayPool<int>.Shared.Return(counts);
        other.AsSpan(0, count).Clear();
        ArrayPool<Pair>.Shared.Return(other);
        return sorted;

        static int Digit(Pair p, bool byMine, int shift) => ((byMine ? p.Mine : p.Theirs) >>> shift) & 0xFFFF;
    }

    /// <summary>A growable array of pairs (a List without its per-add checks and versioning), rented from the shared pool.</summary>
    private sealed class PairBuffer(int capacity)
    {
        public Pair[] Items = ColumnArrays.Rent<Pair>(Math.Max(capacity, 16));
        public int Count;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Pair pair)
        {
            if (Count == Items.Length) Grow();
            Items[Count++] = pair;
        }

        private void Grow()
        {
            var larger = ColumnArrays.Rent<Pair>(Items.Length * 2);
            Items.AsSpan(0, Count).CopyTo(larger);
            Release();
            Items = larger;
        }

        /// <summary>Gives the array back to the pool, cleared (the pairs say who overlaps whom).</summary>
        public void Release()
        {
            Items.AsSpan(0, Count).Clear();
            ArrayPool<Pair>.Shared.Return(Items);
            Items = [];
        }
    }

    /// <summary>
    /// The judged pairs of a computation, written over the sorted pairs they are judged from (the caller clears and returns
    /// that array): at most one a group of equal pairs, each at an index no greater than its group's first pair, so never
    /// over a pair not read yet. A judged pair takes no more room than a pair (checked once, below), and neither holds a
    /// reference, so the bytes of one may be read as the other.
    /// </summary>
    private sealed class Judgements(Pair[] storage, int capacity)
    {
        static Judgements()
        {
            if (Unsafe.SizeOf<Judged>() > Unsafe.SizeOf<Pair>()) throw new InvalidOperationException("A judged pair must fit in a pair's place.");
        }

        public int Count { get; private set; }

        public Judged this[int i]
        {
            get => At(i);
            set => At(i) = value;
        }

        /// <summary>At most one a pair: the capacity (the pair count) is never exceeded.</summary>
        public void Add(Judged judged)
        {
            if (Count >= capacity) throw new InvalidOperationException("More judged pairs than pairs.");
            Unsafe.As<Pair, Judged>(ref storage[Count++]) = judged;
        }

        private ref Judged At(int i)
        {
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i));
            return ref Unsafe.As<Pair, Judged>(ref storage[i]);
        }
    }

    /// <summary>
    /// Ambiguous names (docs/hashing.md, "Server match rules", rule (g)): a record without a domain whose strong name
    /// matches on the other side include records whose domains contradict one another names two companies, and cannot
    /// be told which. Each such match is only possible, unless it is better supported than every match it contradicts
    /// (the name in the record's own country against a rule (c) match in another one). Only strong, non-exact pairs
    /// of a record without a domain with one that has a domain take part; the pairs are in (mine, theirs) order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DemoteAmbiguous(PopulationData mine, PopulationData theirs, Judgements judged)
    {
        // A strong pair of a record without a domain (x) and one with a domain (y).
        static bool Candidate(Judged p, bool xHasDomain, bool yHasDomain) => p.Confidence == MatchConfidence.Strong && !xHasDomain && yHasDomain;
        // My records without a domain: their pairs are adjacent.
        for (var i = 0; i < judged.Count;)
        {
            var end = i;
            while (end < judged.Count && judged[end].Mine == judged[i].Mine) end++;
            if (end - i > 1 && !mine.HasDomain[judged[i].Mine])
                DemoteWithin(theirs, false, judged, [.. Enumerable.Range(i, end - i).Where(k => Candidate(judged[k], mine.HasDomain[judged[k].Mine], theirs.HasDomain[judged[k].Theirs]))]);
            i = end;
        }
        // Their records without a domain: grouped by their ordinal.
        Dictionary<int, List<int>>? byTheirs = null;
        for (var k = 0; k < judged.Count; k++)
        {
            var p = judged[k];
            if (!Candidate(p, theirs.HasDomain[p.Theirs], mine.HasDomain[p.Mine])) continue;
            byTheirs ??= [];
            if (!byTheirs.TryGetValue(p.Theirs, out var list)) byTheirs[p.Theirs] = list = [];
            list.Add(k);
        }
        if (byTheirs is null) return;
        foreach (var list in byTheirs.Values)
            if (list.Count > 1) DemoteWithin(mine, true, judged, list);
    }

    /// <summary>
    /// Among the pairs of one record without a domain (at the given positions), whose other records all carry domains
    /// and belong to <paramref name="side"/> (mine when <paramref name="mineSide"/>), makes possible each pair
    /// contradicted by another that is at least as well supported.
    /// </summary>
    private static void DemoteWithin(PopulationData side, bool mineSide, Judgements judged, List<int> positions)
    {
        if (positions.Count < 2) return;
        var demote = new List<int>();
        foreach (var a in positions)
        {
            var ra = mineSide ? judged[a].Mine : judged[a].Theirs;
            foreach (var b in positions)
            {
                if (a == b || (judged[a].ByCountry && !judged[b].ByCountry)) continue;
                var rb = mineSide ? judged[b].Mine : judged[b].Theirs;
                if (!Share(side, ra, side, rb, IdentifierType.DomainLabel)) { demote.Add(a); break; }
            }
        }
        foreach (var a in demote) judged[a] = judged[a] with { Confidence = MatchConfidence.Possible };
    }

    private readonly record struct Pair(int Mine, int Theirs, MatchKinds Kind);

    /// <summary>A pair with its confidence; <see cref="ByCountry"/> when a name rule in the record's own country holds.</summary>
    private readonly record struct Judged(int Mine, int Theirs, MatchKinds Kinds, MatchConfidence Confidence, bool ByCountry);
}
