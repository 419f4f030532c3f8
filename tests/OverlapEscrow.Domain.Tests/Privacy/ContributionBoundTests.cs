using OverlapEscrow.Domain.Privacy;

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
