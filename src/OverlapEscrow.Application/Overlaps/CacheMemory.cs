using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Internal;
using Microsoft.Extensions.Options;
namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// The memory the escrow keeps between requests: one <see cref="MemoryCache"/>, shared by the version cache and the
/// overlap cache, limited to <c>Escrow:CacheBudgetMiB</c> of estimated bytes, whose entries leave after
/// <c>Escrow:CacheIdleMinutes</c> without a read.
/// </summary>
/// <remarks>
/// One budget for both caches, so that the operator sizes one number against the machine. An entry is charged its
/// estimated managed size (<see cref="Domain.Matching.MemorySize"/>) plus <see cref="EntryOverhead"/>. MemoryCache
/// refuses an entry that would take it over the limit and then compacts, least recently read first, down to three
/// quarters of it, so that the next entry fits. It looks for expired entries only when it is used; the sweep timer
/// looks too, so that an idle service lets go of them.
/// </remarks>
public sealed class CacheMemory : IDisposable
{
    /// <summary>Charged per entry on top of its estimate: the entry itself, its key, the task and lazy that produced it.</summary>
    public const long EntryOverhead = 512;

    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMinutes(1);
    private readonly ITimer _sweep;
    private long _dropped;

    public CacheMemory(IOptions<CacheOptions> options, TimeProvider time)
    {
        BudgetBytes = options.Value.CacheBudgetMiB * (1L << 20);
        IdleTime = TimeSpan.FromMinutes(options.Value.CacheIdleMinutes);
        Entries = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = BudgetBytes,
            CompactionPercentage = 0.25,
            ExpirationScanFrequency = SweepPeriod,
            Clock = new Clock(time),
            TrackStatistics = true,
        });
        _sweep = time.CreateTimer(_ => Entries.Compact(0), null, SweepPeriod, SweepPeriod);
    }

    public long BudgetBytes { get; }

    public TimeSpan IdleTime { get; }

    internal MemoryCache Entries { get; }

    /// <summary>Bytes charged for the entries held now; never more than <see cref="BudgetBytes"/>.</summary>
    public long HeldBytes => Entries.GetCurrentStatistics()?.CurrentEstimatedSize ?? 0;

    /// <summary>Entries that have left so far, for whatever reason (their memory is garbage from then on).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Entry options for a value of the given estimated size: charged to the budget, dropped when idle.</summary>
    internal MemoryCacheEntryOptions EntryFor(long estimatedBytes) =>
        new MemoryCacheEntryOptions { Size = estimatedBytes + EntryOverhead, SlidingExpiration = IdleTime }
            .RegisterPostEvictionCallback(static (_, _, _, state) => Interlocked.Increment(ref ((CacheMemory)state!)._dropped), this);

    public void Dispose()
    {
        _sweep.Dispose();
        Entries.Dispose();
    }

    private sealed class Clock(TimeProvider time) : ISystemClock
    {
        public DateTimeOffset UtcNow => time.GetUtcNow();
    }
}
