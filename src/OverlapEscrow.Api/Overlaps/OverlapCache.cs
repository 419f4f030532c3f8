using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// Derived overlap results, per partnership and pair of versions. A new snapshot changes the version ids, so
/// results of old versions are never read again; terminating a partnership or changing a rule drops all of
/// the partnership's results at once (<see cref="Evict"/>), so nothing derived outlives the permission.
/// </summary>
public sealed class OverlapCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _partnershipTokens = new();

    public OverlapCache(IOptions<EscrowOptions> options) =>
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.CacheRecordBudget });

    public async Task<OverlapResult> GetAsync(string partnershipId, PopulationData mine, PopulationData theirs, CancellationToken ct)
    {
        var key = $"{partnershipId}|{mine.VersionId}|{theirs.VersionId}";
        var lazy = _cache.GetOrCreate(key, entry =>
        {
            entry.Size = 1 + mine.Records.Count / 16;
            entry.AddExpirationToken(new CancellationChangeToken(TokenFor(partnershipId).Token));
            return new Lazy<Task<OverlapResult>>(() => Task.Run(() => OverlapEngine.Compute(mine, theirs)));
        })!;
        return await lazy.Value.WaitAsync(ct);
    }

    public void Evict(string partnershipId)
    {
        // Not disposed: a concurrent GetAsync may still be registering against it; cancelling is what evicts.
        if (_partnershipTokens.TryRemove(partnershipId, out var cts)) cts.Cancel();
    }

    private CancellationTokenSource TokenFor(string partnershipId) => _partnershipTokens.GetOrAdd(partnershipId, _ => new CancellationTokenSource());

    public void Dispose() => _cache.Dispose();
}
