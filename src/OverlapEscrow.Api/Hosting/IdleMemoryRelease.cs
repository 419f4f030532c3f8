using OverlapEscrow.Application.Overlaps;

namespace OverlapEscrow.Api.Hosting;

/// <summary>
/// Gives memory back to the operating system once the service is idle. The garbage collector runs only when the
/// program allocates, so after a burst of uploads an idle service would keep the heap it grew, and the versions its
/// caches let go of, for as long as nobody calls it. Every <see cref="Period"/> this looks whether a collection
/// happened since its last look. None means nothing is being allocated: the service is idle. If, moreover, there
/// were collections since the last release (the heap grew and churned) or the caches let go of entries, it runs one
/// aggressive collection (blocking, compacting, large objects included), which returns the free memory to the
/// system, and then asks the C allocator to return its free pages too (<see cref="NativeHeap.Trim"/>). A busy service
/// collects all the time and is never interrupted by it; an idle one pays one collection per quiet spell.
/// <para>
/// Idleness is a matter of wall-clock time, so this ticks on the system clock, never on the service's
/// <see cref="TimeProvider"/> (a test moving its clock through a day is not a day of idleness). A collection is
/// process-wide, so where one process hosts several services (the integration tests do) one release per period
/// serves them all.
/// </para>
/// </summary>
public sealed class IdleMemoryRelease(CacheMemory caches, ILogger<IdleMemoryRelease> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private static long _lastReleaseTimestamp;

    /// <summary>True for the one caller, process-wide, that may release now; false within a period of the last release.</summary>
    private static bool TakeReleaseTurn()
    {
        var now = TimeProvider.System.GetTimestamp();
        var last = Interlocked.Read(ref _lastReleaseTimestamp);
        if (last != 0 && TimeProvider.System.GetElapsedTime(last, now) < Period) return false;
        return Interlocked.CompareExchange(ref _lastReleaseTimestamp, now, last) == last;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, TimeProvider.System);
        var seen = GC.CollectionCount(0);
        int? collectionsAtRelease = null;
        var droppedAtRelease = caches.Dropped;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var collections = GC.CollectionCount(0);
                var dropped = caches.Dropped;
                if (collections == seen && (collections != collectionsAtRelease || dropped != droppedAtRelease) && TakeReleaseTurn())
                {
                    var before = Environment.WorkingSet;
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                    NativeHeap.Trim(); // and the native allocator's free pages (SQLite, OpenSSL, the runtime)
                    collections = GC.CollectionCount(0);
                    collectionsAtRelease = collections;
                    droppedAtRelease = dropped;
                    var gc = GC.GetGCMemoryInfo(GCKind.Any);
                    logger.LogDebug("Idle: memory released; working set {Before} MiB -> {After} MiB, heap {Heap} MiB, committed {Committed} MiB, caches {Caches} MiB",
                        before >> 20, Environment.WorkingSet >> 20, gc.HeapSizeBytes >> 20, gc.TotalCommittedBytes >> 20, caches.HeldBytes >> 20);
                }
                seen = collections;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
