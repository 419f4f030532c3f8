using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// Brings back into memory, after a start, what the caches held before it: the overlaps of the partnerships read within
/// the caches' idle time before the start (matrix reads and list pages or exports, as the audit log records them), newest
/// read first, for the reading side only, computed as a read computes them (<see cref="OverlapComputation"/>) — the cells
/// whose records the reader may see; a counts-level cell is left out, since its matrix answers from the stored count and
/// loads nothing until a new count is due. A partnership manager reading again after a restart (a deployment, a crash)
/// finds the overlaps in memory instead of loading both versions from storage; a read arriving while a version is being
/// warmed shares that load. Nothing is answered, disclosed or audited. It keeps within <see cref="WarmShare"/> of the
/// budget: a cell whose versions would not fit, estimated from their record counts before anything is loaded, is
/// skipped, and the warm-up stops once the caches have had to drop anything (the decisions: docs/architecture.md,
/// "Caches and memory budget").
/// </summary>
public sealed class CacheWarmUp(IAuditRepository audit, PartnerViews views, OverlapComputation overlaps, PopulationDataCache data, CacheMemory memory,
    IOptions<CacheOptions> options,
    TimeProvider time, ILogger<CacheWarmUp> logger)
{
    /// <summary>The reads whose partnerships are warmed: a matrix read and a list page or export (each names its partnership).</summary>
    public static readonly IReadOnlyList<string> Actions = ["overlaps.matrix_read", "overlaps.released"];

    /// <summary>The share of the byte budget a warm-up fills at most: the rest stays for what is read first after the start.</summary>
    public const double WarmShare = 0.75;

    /// <summary>At most this many of the newest audit events are looked at (a bounded walk, however long the log).</summary>
    public const int MaxEvents = 200_000;

    /// <summary>At most this many cells are computed (a bounded warm-up, however many partnerships were read).</summary>
    public const int MaxCells = 1_000;

    /// <summary>
    /// What a cached version is taken to cost per record before it is loaded: above what one keeps (about 20 bytes a token,
    /// 42–62 a record with a domain and a name: docs/architecture.md), so a cell estimated to fit does fit.
    /// </summary>
    public const long EstimatedBytesPerRecord = 64;

    private readonly TaskCompletionSource<WarmUpResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What a warm-up did: the partnerships (reading sides) warmed, the cells computed, the bytes then held.</summary>
    public sealed record WarmUpResult(int Partnerships, int Cells, long HeldBytes, TimeSpan Took);

    /// <summary>Completes when the warm-up has ended (done, skipped, stopped or failed): for tests and the benchmark.</summary>
    public Task<WarmUpResult> Done => _done.Task;

    public async Task<WarmUpResult> WarmAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var progress = new Progress(memory.Dropped);
        try
        {
            if (options.Value.CacheWarmOnStart)
            {
                var since = time.GetUtcNow() - memory.IdleTime;
                foreach (var (organizationId, partnershipId) in await audit.RecentReadsAsync(Actions, since, MaxEvents, ct))
                {
                    if (progress.Stopped) break;
                    try
                    {
                        await WarmPartnershipAsync(organizationId, partnershipId, progress, ct);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // One partnership that cannot be read now (a busy database, say) is computed on demand later.
                        logger.LogWarning("A partnership was not warmed: {ExceptionType}", e.GetType().Name);
                    }
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
        var result = new WarmUpResult(progress.Partnerships, progress.Cells, memory.HeldBytes, time.GetElapsedTime(started));
        if (result.Partnerships > 0)
            logger.LogInformation("Warmed the caches with the overlaps of {Partnerships} partnerships read before the start ({Cells} cells, {MiB} MiB) in {Millis} ms",
                result.Partnerships, result.Cells, result.HeldBytes >> 20, (long)result.Took.TotalMilliseconds);
        _done.TrySetResult(result);
        return result;
    }

    private sealed class Progress(long droppedAtStart)
    {
        public readonly long DroppedAtStart = droppedAtStart;
        public int Partnerships, Cells;
        public bool Stopped;
    }

    /// <summary>The reading side's cells of one partnership that its next read would compute; none when it no longer shares data.</summary>
    private async Task WarmPartnershipAsync(string organizationId, string partnershipId, Progress progress, CancellationToken ct)
    {
        // Loaded fresh, as a read does: a partnership ended, a rule changed or an organization erased since the read is
        // seen here, and what the caller may no longer see is not computed.
        var view = await views.LoadAsync(organizationId, partnershipId, ct);
        if (view is null || !view.Partnership.SharesData) return;
        var limit = (long)(memory.BudgetBytes * WarmShare);
        var warmed = false;
        foreach (var cell in PartnerVisibility.Cells(view))
        {
            if (cell.Sharing.Level == SharingLevel.Counts) continue;
            // Anything dropped since the start means the budget is full: what is loaded now would push out what was warmed.
            if (progress.Cells >= MaxCells || memory.Dropped > progress.DroppedAtStart)
            {
                progress.Stopped = true;
                break;
            }
            var held = data.HeldVersionIds;
            if (memory.HeldBytes + Estimate(cell.Mine, held) + Estimate(cell.Theirs, held) > limit) continue; // a smaller cell may still fit
            try
            {
                await overlaps.ComputeAsync(view, cell.Mine, cell.Theirs, ct);
                progress.Cells++;
                warmed = true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One cell that cannot be computed now (a version superseded twice meanwhile, an organization whose key
                // is gone) is computed on demand later; the others are still worth warming.
                logger.LogDebug("A cell was not warmed: {ExceptionType}", e.GetType().Name);
            }
        }
        if (warmed) progress.Partnerships++;
    }

    /// <summary>What keeping the population's current version would add: nothing when it is held already.</summary>
    private static long Estimate(PopulationSummary population, IReadOnlyList<string> held) =>
        population.CurrentVersionId is null || held.Contains(population.CurrentVersionId) ? 0 : population.RecordCount * EstimatedBytesPerRecord;
}
