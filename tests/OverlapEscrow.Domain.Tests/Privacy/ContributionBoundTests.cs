using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;
using static OverlapEscrow.Domain.Tests.TestRecords;

namespace OverlapEscrow.Domain.Tests.Privacy;

public class ContributionBoundTests
{
    /// <summary>A match graph as the engine reports it: for each of my overlapping records, the owner records it matched.</summary>
    private static int Matching(params int[][] partners)
    {
        var start = new List<int> { 0 };
        var ordinals = new List<int>();
        foreach (var p in partners)
        {
            ordinals.AddRange(p);
            start.Add(ordinals.Count);
        }
        return ContributionBound.MatchingSize(start, ordinals);
    }

    [Fact]
    public void WithoutDuplicatesEveryOverlappingRecordCounts()
    {
        Assert.Equal(3, Matching([0], [1], [2]));
        Assert.Equal(0, Matching());
    }

    [Fact]
    public void ManyOfMyRecordsHittingOneOwnerRecordCountOnce()
    {
        // One account uploaded a thousand times under a thousand record ids moves the count by one, not a thousand.
        Assert.Equal(1, Matching(Enumerable.Range(0, 1000).Select(_ => new[] { 7 }).ToArray()));
    }

    [Fact]
    public void OneOfMyRecordsHittingManyOwnerRecordsCountsOnce()
    {
        Assert.Equal(1, Matching([1, 2, 3, 4, 5]));
    }

    [Fact]
    public void AGreedyChoiceIsImprovedAlongAnAugmentingPath()
    {
        // Greedy pairs my record 0 with owner record 0 and leaves my record 1 unmatched; the maximum is 2.
        Assert.Equal(2, Matching([0, 1], [0]));
        Assert.Equal(3, Matching([0, 1], [1, 2], [0]));
    }

    [Fact]
    public void OneOwnerRecordMovesTheBoundedCountByAtMostOneOnRandomGraphs()
    {
        // The property the privacy guarantee rests on: ν(G) − 1 ≤ ν(G − v) ≤ ν(G) for every owner record v; and the
        // size is the true maximum (checked against a simple augmenting-path search).
        var random = new Random(5);
        for (var graph = 0; graph < 300; graph++)
        {
            var mine = random.Next(1, 25);
            var owners = random.Next(1, 25);
            var adjacency = Enumerable.Range(0, mine)
                .Select(_ => Enumerable.Range(0, owners).Where(_ => random.NextDouble() < 0.15).ToArray())
                .Where(a => a.Length > 0).ToArray();
            var size = Matching(adjacency);
            Assert.Equal(Kuhn(adjacency, owners), size);
            for (var v = 0; v < owners; v++)
            {
                var without = adjacency.Select(a => a.Where(o => o != v).ToArray()).Where(a => a.Length > 0).ToArray();
                Assert.InRange(Matching(without), size - 1, size);
            }
        }
    }

    [Fact]
    public void ALargeOneToOneCellIsCountedQuickly()
    {
        var partners = Enumerable.Range(0, 1_000_000).Select(i => new[] { i }).ToArray();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(1_000_000, Matching(partners));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), watch.Elapsed.ToString());
    }

    private static int Kuhn(int[][] adjacency, int owners)
    {
        var match = Enumerable.Repeat(-1, owners).ToArray();
        var size = 0;
        for (var u = 0; u < adjacency.Length; u++)
            if (Try(u, new bool[owners])) size++;
        return size;

        bool Try(int u, bool[] seen)
        {
            foreach (var v in adjacency[u])
            {
                if (seen[v]) continue;
                seen[v] = true;
                if (match[v] < 0 || Try(match[v], seen)) { match[v] = u; return true; }
            }
            return false;
        }
    }
}

/// <summary>
/// The bounded count on the engine's graph (docs/privacy.md, "What one account can move"): taking any one owner record
/// away moves it by at most one, also where the lists' rules weigh an owner record against the owner's others
/// (ambiguous names, the per-record cap, too-common names) and one record moves the lists' count by many.
/// </summary>
public class OwnerLocalCountTests
{
    private static RecordToken L(ulong n) => new(IdentifierType.DomainLabel, new Token(0xB0, n));
    private static RecordToken O(ulong n) => new(IdentifierType.NameOnly, new Token(0xC0, n));

    /// <summary>The contribution-bounded count on the lists' graph, as counts were drawn before.</summary>
    private static int ListsCount(PopulationData viewer, PopulationData owner)
    {
        var result = OverlapEngine.Compute(viewer, owner);
        return ContributionBound.MatchingSize(result);
    }

    /// <summary>The pairs of the owner-local graph by record ids (ordinals change when a record is taken away).</summary>
    private static List<(string Viewer, string Owner)> Pairs(PopulationData viewer, PopulationData owner)
    {
        var graph = OverlapEngine.OwnerLocal(viewer, owner);
        var pairs = new List<(string, string)>();
        for (var i = 0; i < graph.MyOrdinals.Length; i++)
            for (var p = graph.PairStart[i]; p < graph.PairStart[i + 1]; p++)
                pairs.Add((viewer.Records[graph.MyOrdinals[i]].RecordId, owner.Records[graph.TheirOrdinals[p]].RecordId));
        return pairs;
    }

    /// <summary>The largest change of the count when one owner record is taken away, over every owner record.</summary>
    private static int LargestMove(Func<PopulationData, PopulationData, int> count, PopulationData viewer, IReadOnlyList<EscrowRecord> owner)
    {
        var all = count(viewer, Pop([.. owner]));
        var largest = 0;
        for (var k = 0; k < owner.Count; k++)
            largest = Math.Max(largest, Math.Abs(all - count(viewer, Pop([.. owner.Where((_, i) => i != k)]))));
        return largest;
    }

    [Fact]
    public void AnOwnerRecordThatMakesANameAmbiguousMovesTheCountByOneAtMost()
    {
        // 40 subsidiaries of one group (domains sharing the label 1) and the target z of the same name on a domain of
        // another label; the viewer holds the name 40 times without a domain (trial 7, F1).
        var group = Enumerable.Range(0, 40).Select(i => Rec($"y{i:D2}", D(100 + (ulong)i), L(1), N(5), O(5))).ToList();
        var z = Rec("z", D(999), L(999), N(5), O(5));
        var viewer = Pop([.. Enumerable.Range(0, 40).Select(i => Rec($"m{i:D2}", N(5), O(5)))]);

        // The premise: on the lists' graph z demotes every name match, and the count drops by 40.
        Assert.Equal(40, ListsCount(viewer, Pop([.. group])) - ListsCount(viewer, Pop([.. group, z])));

        Assert.Equal(40, ContributionBound.Count(viewer, Pop([.. group, z])));
        Assert.True(LargestMove(ContributionBound.Count, viewer, [.. group, z]) <= 1);
    }

    [Fact]
    public void AnOwnerRecordThatFillsTheCapMovesTheCountByOneAtMost()
    {
        // The owner: 50 name-only records of "Acmeprobe" in one country (ids first in order), and 100 records of other
        // names on the brand's domains; the viewer: 100 records of "Acmeprobe" on those domains (trial 7, F2).
        var names = Enumerable.Range(0, 50).Select(i => Rec($"O-A{i:D3}", N(7), O(7))).ToList();
        var domains = Enumerable.Range(0, 100).Select(i => Rec($"O-D{i:D3}", D(200 + (ulong)i), L(50), N(300 + (ulong)i), O(300 + (ulong)i))).ToList();
        var viewer = Pop([.. Enumerable.Range(0, 100).Select(i => Rec($"m{i:D3}", D(200 + (ulong)i), L(50), N(7), O(7)))]);

        // The premise: the 50th name-only record pushes every domain match out of its record's kept 50.
        Assert.Equal(50, ListsCount(viewer, Pop([.. names.Take(49), .. domains])) - ListsCount(viewer, Pop([.. names, .. domains])));

        Assert.Equal(100, ContributionBound.Count(viewer, Pop([.. names, .. domains])));
        Assert.True(LargestMove(ContributionBound.Count, viewer, [.. names, .. domains]) <= 1);
    }

    [Fact]
    public void TheOwnerRecordThatMakesANameTooCommonMovesTheCountByOneAtMost()
    {
        var owner = Enumerable.Range(0, OverlapEngine.TooCommon + 1).Select(i => Rec($"o{i:D4}", N(9), O(9))).ToList();
        var viewer = Pop([.. Enumerable.Range(0, 10).Select(i => Rec($"m{i}", N(9), O(9)))]);

        // The premise: the 1001st carrier of the name takes every pair through it away from the lists.
        Assert.Equal(10, ListsCount(viewer, Pop([.. owner.Take(OverlapEngine.TooCommon)])) - ListsCount(viewer, Pop([.. owner])));

        Assert.Equal(10, ContributionBound.Count(viewer, Pop([.. owner])));
        Assert.True(LargestMove(ContributionBound.Count, viewer, owner) <= 1);
    }

    [Fact]
    public void OnRandomPopulationsOfSharedNamesAndDomainsNoOwnerRecordMovesTheCountByMoreThanOne()
    {
        // Few names and domains, labels shared by groups of domains, some countries unknown: ambiguity everywhere.
        static EscrowRecord Random(Random random, string id)
        {
            var tokens = new List<RecordToken>();
            if (random.NextDouble() < 0.6)
            {
                var domain = (ulong)random.Next(15);
                tokens.AddRange([D(domain), L(domain / 3)]);
            }
            var name = (ulong)random.Next(5);
            tokens.Add(O(name));
            if (random.NextDouble() < 0.8) tokens.Add(N(name * 10 + (ulong)random.Next(2)));
            return Rec(id, [.. tokens]);
        }
        var listsMoved = 0;
        for (var seed = 0; seed < 30; seed++)
        {
            var random = new Random(seed);
            var viewer = Pop([.. Enumerable.Range(0, 40).Select(i => Random(random, $"m{i:D2}"))]);
            var owner = Enumerable.Range(0, 40).Select(i => Random(random, $"o{i:D2}")).ToList();

            Assert.True(LargestMove(ContributionBound.Count, viewer, owner) <= 1, $"seed {seed}");
            // Stronger: taking an owner record away takes away its own pairs and leaves every other one as it was.
            var all = Pairs(viewer, Pop([.. owner]));
            for (var k = 0; k < owner.Count; k++)
            {
                var gone = owner[k].RecordId;
                Assert.Equal(all.Where(p => p.Owner != gone).Order(), Pairs(viewer, Pop([.. owner.Where((_, i) => i != k)])).Order());
            }
            if (LargestMove(ListsCount, viewer, owner) > 1) listsMoved++;
        }
        // The populations do reach the rules that made the lists' count move by more than one.
        Assert.True(listsMoved > 0);
    }
}
