using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Domain.Privacy;

/// <summary>
/// The count a counts-level cell releases, bounded so that one account of the owner moves it by at most one: the size
/// of a maximum matching between the viewer's overlapping records and the owner's records they matched, each record
/// of either side used at most once.
/// </summary>
/// <remarks>
/// Why a matching. The plain count of the viewer's overlapping records is unbounded in one owner record: a viewer that
/// uploads one account under a thousand record ids moves it by a thousand when that account is the owner's. The count
/// of distinct owner records is bounded per owner record but still lets one owner record that matches several of
/// the viewer's count as several through different viewer records. A maximum matching ν(G) is bounded both ways:
/// removing one owner record (a vertex) from the bipartite match graph G removes at most one edge of any matching,
/// and a matching of G − v is one of G, so ν(G) − 1 ≤ ν(G − v) ≤ ν(G). Its sensitivity to one owner record is 1.
/// When nothing is duplicated on either side the matching is the whole overlap, so it equals the viewer's count.
/// Hopcroft and Karp's algorithm ("An n^5/2 algorithm for maximum matchings in bipartite graphs", SIAM J. Comput.
/// 1973) finds it in O(E √V); a greedy pass first matches the usual one-to-one pairs, so a typical cell needs one
/// search that finds nothing to improve.
/// </remarks>
public static class ContributionBound
{
    /// <summary>
    /// The contribution-bounded count of <paramref name="viewer"/>'s records against <paramref name="owner"/>'s: the
    /// maximum matching of the match graph in which each owner record's edges depend on that record alone
    /// (<see cref="OverlapEngine.OwnerLocal"/>). On the lists' graph, rules that weigh an owner record against the
    /// owner's other records (ambiguous names, the per-record cap, too-common names) would let one record remove the
    /// edges of others, and ν − 1 ≤ ν(G − v) would not hold.
    /// </summary>
    public static int Count(PopulationData viewer, PopulationData owner) => MatchingSize(OverlapEngine.OwnerLocal(viewer, owner));

    /// <summary>The maximum matching size of an engine result's graph (the owner-local one, for a count: <see cref="Count"/>).</summary>
    public static int MatchingSize(OverlapResult graph) => MatchingSize(graph.PairStart, graph.TheirOrdinals);

    /// <summary>
    /// The maximum matching size of the graph whose left vertex i (the viewer's i-th overlapping record) is joined to the
    /// owner records <paramref name="partnerOrdinals"/>[<paramref name="pairStart"/>[i] .. <paramref name="pairStart"/>[i+1]).
    /// </summary>
    public static int MatchingSize(IReadOnlyList<int> pairStart, IReadOnlyList<int> partnerOrdinals)
    {
        var left = pairStart.Count - 1;
        if (left <= 0) return 0;
        // Owner records by a compact index.
        var compact = new Dictionary<int, int>();
        var adjacency = new int[partnerOrdinals.Count];
        for (var p = 0; p < partnerOrdinals.Count; p++)
        {
            if (!compact.TryGetValue(partnerOrdinals[p], out var index)) compact[partnerOrdinals[p]] = index = compact.Count;
            adjacency[p] = index;
        }
        var start = new int[left + 1];
        for (var i = 0; i <= left; i++) start[i] = pairStart[i];
        return new HopcroftKarp(start, adjacency, compact.Count).Run();
    }

    private sealed class HopcroftKarp(int[] start, int[] adjacency, int right)
    {
        private const int Infinity = int.MaxValue;
        private readonly int _left = start.Length - 1;
        private int[] _matchLeft = [], _matchRight = [], _distance = [], _next = [], _via = [];

        public int Run()
        {
            _matchLeft = new int[_left];
            _matchRight = new int[right];
            _distance = new int[_left];
            _next = new int[_left];
            _via = new int[_left];
            Array.Fill(_matchLeft, -1);
            Array.Fill(_matchRight, -1);
            var size = 0;
            for (var u = 0; u < _left; u++)
                for (var e = start[u]; e < start[u + 1]; e++)
                    if (_matchRight[adjacency[e]] < 0)
                    {
                        _matchLeft[u] = adjacency[e];
                        _matchRight[adjacency[e]] = u;
                        size++;
                        break;
                    }
            var queue = new int[_left];
            var stack = new Stack<int>();
            while (Layer(queue))
            {
                for (var u = 0; u < _left; u++) _next[u] = start[u];
                for (var u = 0; u < _left; u++)
                    if (_matchLeft[u] < 0 && Augment(u, stack)) size++;
            }
            return size;
        }

        /// <summary>Breadth-first layers from the free left vertices; whether a free right vertex is reachable.</summary>
        private bool Layer(int[] queue)
        {
            int head = 0, tail = 0;
            for (var u = 0; u < _left; u++)
            {
                if (_matchLeft[u] < 0) { _distance[u] = 0; queue[tail++] = u; }
                else _distance[u] = Infinity;
            }
            var found = false;
            while (head < tail)
            {
                var u = queue[head++];
                for (var e = start[u]; e < start[u + 1]; e++)
                {
                    var w = _matchRight[adjacency[e]];
                    if (w < 0) found = true;
                    else if (_distance[w] == Infinity)
                    {
                        _distance[w] = _distance[u] + 1;
                        queue[tail++] = w;
                    }
                }
            }
            return found;
        }

        /// <summary>A depth-first search for an augmenting path from <paramref name="root"/> along the layers, without recursion.</summary>
        private bool Augment(int root, Stack<int> stack)
        {
            stack.Clear();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var u = stack.Peek();
                if (_next[u] == start[u + 1])
                {
                    _distance[u] = Infinity; // a dead end for this phase
                    stack.Pop();
                    continue;
                }
                var v = adjacency[_next[u]++];
                var w = _matchRight[v];
                if (w < 0)
                {
                    _via[u] = v;
                    foreach (var x in stack)
                    {
                        _matchLeft[x] = _via[x];
                        _matchRight[_via[x]] = x;
                    }
                    return true;
                }
                if (_distance[w] == _distance[u] + 1)
                {
                    _via[u] = v;
                    stack.Push(w);
                }
            }
            return false;
        }
    }
}
