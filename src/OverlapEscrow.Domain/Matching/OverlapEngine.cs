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

    /// <summary>The default view: exact and strong matches, which the matrix counts and the lists show.</summary>
    public static OverlapResult Compute(PopulationData mine, PopulationData theirs) => Compute(mine, theirs, MatchView.Default);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static OverlapResult Compute(PopulationData mine, PopulationData theirs, MatchView view)
    {
        var possible = view == MatchView.IncludePossible;
        var pairs = new List<Pair>();
        JoinDomains(mine.Index(IdentifierType.Domain), theirs.Index(IdentifierType.Domain), pairs);
        // Rule (b), and on request a name shared by records whose domains contradict.
        JoinQualified(mine, theirs, IdentifierType.Name, MatchKinds.Name, pairs, (me, them) => possible || !Contradict(mine, theirs, me, them));
        // Rules (c) and (d), and on request any name-only match whose domains do not contradict.
        JoinQualified(mine, theirs, IdentifierType.NameOnly, MatchKinds.NameOnly, pairs, (me, them) =>
            Share(mine, me, theirs, them, IdentifierType.DomainLabel)
            || (!Contradict(mine, theirs, me, them) && (possible || mine.CountryUnknown[me] || theirs.CountryUnknown[them])));
        JoinQualified(mine, theirs, IdentifierType.NameSkeleton, MatchKinds.NameSkeleton, pairs, (me, them) => !Contradict(mine, theirs, me, them));
        // Rule (f).
        JoinQualified(mine, theirs, IdentifierType.NameTypo, MatchKinds.NameTypo, pairs, (me, them) => !Contradict(mine, theirs, me, them));
        if (possible)
            JoinQualified(mine, theirs, IdentifierType.NameGeneric, MatchKinds.NameGeneric, pairs, (me, them) => !Contradict(mine, theirs, me, them));
        var sorted = SortPairs(pairs, mine.RecordCount);

        // Each (mine, theirs) pair once, with its confidence, before the view and the cap.
        var judged = new List<Judged>(sorted.Length);
        for (var i = 0; i < sorted.Length;)
        {
            var me = sorted[i].Mine;
            var them = sorted[i].Theirs;
            var joined = MatchKinds.None;
            while (i < sorted.Length && sorted[i].Mine == me && sorted[i].Theirs == them) joined |= sorted[i++].Kind;
            var (kind, confidence, byCountry) = Judge(mine, theirs, me, them, joined);
            if (confidence is not null) judged.Add(new Judged(me, them, kind, confidence.Value, byCountry));
        }
        DemoteAmbiguous(mine, theirs, judged);

        var myOrdinals = new List<int>();
        var pairStart = new List<int>();
        var theirOrdinals = new List<int>();
        var kinds = new List<MatchKinds>();
        var confidences = new List<MatchConfidence>();
        var truncated = new List<bool>();
        for (var i = 0; i < judged.Count;)
        {
            var me = judged[i].Mine;
            var start = theirOrdinals.Count;
            var kept = 0;
            var cut = false;
            for (; i < judged.Count && judged[i].Mine == me; i++)
            {
                var pair = judged[i];
                if (pair.Confidence == MatchConfidence.Possible && !possible) continue;
                if (kept == MaxPartnersPerRecord) { cut = true; continue; }
                theirOrdinals.Add(pair.Theirs);
                kinds.Add(pair.Kinds);
                confidences.Add(pair.Confidence);
                kept++;
            }
            if (kept == 0) continue;
            myOrdinals.Add(me);
            pairStart.Add(start);
            truncated.Add(cut);
        }
        pairStart.Add(theirOrdinals.Count);
        var partners = new System.Collections.BitArray(theirs.RecordCount);
        var partnerCount = 0;
        foreach (var them in theirOrdinals)
            if (!partners[them]) { partners[them] = true; partnerCount++; }
        return new OverlapResult([.. myOrdinals], [.. pairStart], [.. theirOrdinals], [.. kinds], [.. confidences], [.. truncated], partnerCount);
    }

    /// <summary>
    /// The confidence of a pair from the token types it shares (as joined), and the types its match rests on
    /// (matchedOn): a domain match says whether the names agree too; a name-only match is reported as such only when
    /// no other name rule applies, and rule (c) names the domain label it rests on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (MatchKinds Kinds, MatchConfidence? Confidence, bool ByCountry) Judge(PopulationData mine, PopulationData theirs, int me, int them, MatchKinds joined)
    {
        // Rule (c) needs a domain on one side at least: two records without one share a label only where both name it
        // after themselves (or after one e-mail domain), which says no more than the name.
        var label = (joined & MatchKinds.NameOnly) != 0 && (mine.HasDomain[me] || theirs.HasDomain[them])
            && Share(mine, me, theirs, them, IdentifierType.DomainLabel);
        var contradict = Contradict(mine, theirs, me, them);
        var kinds = joined & (MatchKinds.Domain | MatchKinds.NameSkeleton | MatchKinds.NameGeneric);
        if ((joined & MatchKinds.Name) != 0) kinds |= MatchKinds.Name;
        // A domain match whose names agree as well says so, even when the name join skipped a too-common name.
        else if ((joined & MatchKinds.Domain) != 0 && Share(mine, me, theirs, them, IdentifierType.Name)) kinds |= MatchKinds.Name;
        // Equal names share their typo keys too; a typo key is reported only where the names differ.
        if ((joined & MatchKinds.NameTypo) != 0 && (kinds & MatchKinds.Name) == 0) kinds |= MatchKinds.NameTypo;
        if (label) kinds |= MatchKinds.NameOnly | MatchKinds.DomainLabel;
        else if ((joined & MatchKinds.NameOnly) != 0 && (kinds & (MatchKinds.Name | MatchKinds.NameSkeleton | MatchKinds.NameGeneric | MatchKinds.NameTypo | MatchKinds.Domain)) == 0)
            kinds |= MatchKinds.NameOnly;

        if ((joined & MatchKinds.Domain) != 0) return (kinds, MatchConfidence.Exact, true);
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

    /// <summary>Every pair sharing a domain token (at most cap + 1 partner records per token and record, enough to flag truncation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void JoinDomains(TokenIndex a, TokenIndex b, List<Pair> pairs) =>
        ForEachRun(a, b, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (iFrom, iTo, jFrom, jTo) =>
        {
            var jKeep = Math.Min(jTo, jFrom + MaxPartnersPerRecord + 1);
            for (var x = iFrom; x < iTo; x++)
                for (var y = jFrom; y < jKeep; y++)
                    pairs.Add(new Pair(a.Ordinals[x], b.Ordinals[y], MatchKinds.Domain));
        });

    /// <summary>
    /// Pairs sharing a token of the given type that also pass <paramref name="qualifies"/>, skipping tokens too common
    /// to identify anyone and keeping at most cap + 1 qualifying partners per record and token.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void JoinQualified(PopulationData mine, PopulationData theirs, IdentifierType type, MatchKinds kind, List<Pair> pairs,
        Func<int, int, bool> qualifies)
    {
        var a = mine.Index(type);
        var b = theirs.Index(type);
        ForEachRun(a, b, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (iFrom, iTo, jFrom, jTo) =>
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>Whether two records share a token of the type (domain labels and names: the types looked up per record).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Share(PopulationData mine, int me, PopulationData theirs, int them, IdentifierType type)
    {
        var a = mine.Index(type).Tokens;
        var b = theirs.Index(type).Tokens;
        var theirPositions = theirs.PositionsOf(type, them);
        if (theirPositions.IsEmpty) return false;
        foreach (var x in mine.PositionsOf(type, me))
            foreach (var y in theirPositions)
                if (a[x] == b[y]) return true;
        return false;
    }

    /// <summary>
    /// Pairs ordered by (mine, theirs), in time linear in the pairs and my records: counted into one bucket per record of
    /// mine, then each bucket (a few pairs) ordered by theirs. Pairs equal on both are merged later, so their order
    /// among themselves does not matter.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Pair[] SortPairs(List<Pair> pairs, int myRecordCount)
    {
        var sorted = new Pair[pairs.Count];
        if (pairs.Count < myRecordCount / 16)
        {
            pairs.CopyTo(sorted);
            Array.Sort(sorted, static (x, y) => x.Mine != y.Mine ? x.Mine.CompareTo(y.Mine) : x.Theirs.CompareTo(y.Theirs));
            return sorted;
        }
        var start = new int[myRecordCount + 1];
        foreach (var p in pairs) start[p.Mine + 1]++;
        for (var i = 0; i < myRecordCount; i++) start[i + 1] += start[i];
        var next = start.AsSpan(0, myRecordCount).ToArray();
        foreach (var p in pairs) sorted[next[p.Mine]++] = p;
        for (var i = 0; i < myRecordCount; i++)
        {
            // Insertion sort by theirs: buckets hold a handful of pairs (at most cap + 1 per token and type).
            for (var k = start[i] + 1; k < start[i + 1]; k++)
            {
                var p = sorted[k];
                var j = k - 1;
                while (j >= start[i] && sorted[j].Theirs > p.Theirs) { sorted[j + 1] = sorted[j]; j--; }
                sorted[j + 1] = p;
            }
        }
        return sorted;
    }

    /// <summary>
    /// Ambiguous names (docs/hashing.md, "Server match rules", rule (g)): a record without a domain whose strong name
    /// matches on the other side include records whose domains contradict one another names two companies, and cannot
    /// be told which. Each such match is only possible, unless it is better supported than every match it contradicts
    /// (the name in the record's own country against a rule (c) match in another one). Only strong, non-exact pairs
    /// of a record without a domain with one that has a domain take part; the pairs are in (mine, theirs) order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DemoteAmbiguous(PopulationData mine, PopulationData theirs, List<Judged> judged)
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
    private static void DemoteWithin(PopulationData side, bool mineSide, List<Judged> judged, List<int> positions)
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
