using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// Brings back into memory, after a start, what the caches held before it: the overlaps of the partnerships read within
/// the caches' idle time before the start (matrix reads and list pages or exports, as the audit log records them), newest
/// read first, computed exactly as a read computes them and for the reading side only (<see cref="OverlapComputation"/>),
/// until a share of the byte budget (<see cref="WarmShare"/>) is held. A partnership manager reading again after a
/// restart (a deployment, a crash) finds the overlaps in memory instead of loading both versions from storage; a read
/// arriving while a version is being warmed shares that load. Nothing is answered, disclosed or audited: a warm-up
/// computes what the next read of the same caller would, under the same rules, and keeps it only in the caches (the
/// decisions: docs/architecture.md, "Warming the caches after a start").
/// </summary>
public sealed class CacheWarmUp(IAuditRepository audit, PartnerViews views, OverlapComputation overlaps, CacheMemory memory, IOptions<CacheOptions> options,
    TimeProvider time, ILogger<CacheWarmUp> logger)
{
    /// <summary>The reads whose partnerships are warmed: a matrix read and a list page or export (each names its partnership).</summary>
    public static readonly IReadOnlyList<string> Actions = ["overlaps.matrix_read", "overlaps.released"];

    /// <summary>The share of the byte budget a warm-up fills at most: the rest stays for what is read first after the start.</summary>
    public const double WarmShare = 0.75;

    /// <summary>At most this many of the newest audit events are looked at (a bounded walk, however long the log).</summary>
    public const int MaxEvents = 200_000;

    private readonly TaskCompletionSource<WarmUpResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What a warm-up did: the partnerships (reading sides) warmed, the cells computed, the bytes then held.</summary>
    public sealed record WarmUpResult(int Partnerships, int Cells, long HeldBytes, TimeSpan Took);

    /// <summary>Completes when the warm-up has ended (done, skipped, stopped or failed): for tests and the benchmark.</summary>
    public Task<WarmUpResult> Done => _done.Task;

    public async Task<WarmUpResult> WarmAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        int partnerships = 0, cells = 0;
        try
        {
            if (options.Value.CacheWarmOnStart)
            {
                var since = time.GetUtcNow() - memory.IdleTime;
                var limit = (long)(memory.BudgetBytes * WarmShare);
                foreach (var (organizationId, partnershipId) in await audit.RecentReadsAsync(Actions, since, MaxEvents, ct))
                {
                    if (memory.HeldBytes >= limit) break;
                    var computed = await WarmPartnershipAsync(organizationId, partnershipId, limit, ct);
                    if (computed > 0) partnerships++;
                    cells += computed;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Warming is an optimization: a failure only means the first reads load from storage, as without it.
            logger.LogWarning("Warming the caches after the start failed: {ExceptionType}", e.GetType().Name);
        }
        var result = new WarmUpResult(partnerships, cells, memory.HeldBytes, time.GetElapsedTime(started));
        if (result.Partnerships > 0)
            logger.LogInformation("Warmed the caches with the overlaps of {Partnerships} partnerships read before the start ({Cells} cells, {MiB} MiB) in {Millis} ms",
                result.Partnerships, result.Cells, result.HeldBytes >> 20, (long)result.Took.TotalMilliseconds);
        _done.TrySetResult(result);
        return result;
    }

    /// <summary>The reading side's cells of one partnership, as its matrix computes them; none when it no longer shares data.</summary>
    private async Task<int> WarmPartnershipAsync(string organizationId, string partnershipId, long limit, CancellationToken ct)
    {
        // Loaded fresh, as a read does: a partnership ended, a rule changed or an organization erased since the read is
        // seen here, and what the caller may no longer see is not computed.
        var view = await views.LoadAsync(organizationId, partnershipId, ct);
        if (view is null || !view.Partnership.SharesData) return 0;
        var computed = 0;
        foreach (var cell in PartnerVisibility.Cells(view))
        {
            if (memory.HeldBytes >= limit) break;
            try
            {
                await overlaps.ComputeAsync(view, cell.Mine, cell.Theirs, ct);
                computed++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One cell that cannot be computed now (a version superseded twice meanwhile, an organization whose key
                // is gone) is computed on demand later; the others are still worth warming.
                logger.LogDebug("A cell was not warmed: {ExceptionType}", e.GetType().Name);
            }
        }
        return computed;
    }
}
