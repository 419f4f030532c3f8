using System.Threading.Channels;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// Recomputes, in the background, the overlaps a change affects, so the next report finds them ready, and records
/// what changed: a new version recomputes both directions of every active partnership of its organization for that
/// population; a sharing change or an acceptance recomputes every cell of the partnership. Each side's changed
/// cells go into its overlap history and, when what the side may see of them changed, into an overlaps.changed
/// event for it. Reports never wait for this: a cell that is not ready is computed on demand for that pair alone.
/// </summary>
public sealed class OverlapRefresher : BackgroundService
{
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<OverlapRefresher> _logger;
    private readonly Channel<Change> _changes;
    private int _pending;

    public OverlapRefresher(IServiceScopeFactory scopes, ILogger<OverlapRefresher> logger)
    {
        _scopes = scopes;
        _logger = logger;
        _changes = Channel.CreateBounded<Change>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest },
            _ => Interlocked.Decrement(ref _pending));
    }

    /// <summary>A change to refresh: a population (in every active partnership of its organization, or in one), or a whole partnership.</summary>
    private sealed record Change(string OrganizationId, string? PopulationId, string? PartnershipId);

    /// <summary>Changes queued or being processed; zero when the refresher has caught up.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public void PopulationChanged(string organizationId, string populationId) => Enqueue(new Change(organizationId, populationId, null));

    /// <summary>
    /// A rule of the organization changed, or the partnership became active or ended: refresh its cells (those of
    /// <paramref name="populationId"/> only, when given).
    /// </summary>
    public void PartnershipChanged(string organizationId, string partnershipId, string? populationId = null) =>
        Enqueue(new Change(organizationId, populationId, partnershipId));

    private void Enqueue(Change change)
    {
        Interlocked.Increment(ref _pending);
        if (!_changes.Writer.TryWrite(change)) Interlocked.Decrement(ref _pending);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in _changes.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await using var scope = _scopes.CreateAsyncScope();
                var partnerships = scope.ServiceProvider.GetRequiredService<IPartnershipRepository>();
                IReadOnlyList<string> ids = change.PartnershipId is { } one
                    ? [one]
                    : (await partnerships.ListAsync(change.OrganizationId, stoppingToken)).Where(p => p.Status == "active").Select(p => p.Id).ToList();
                foreach (var partnershipId in ids)
                    await RefreshAsync(scope.ServiceProvider, change.OrganizationId, partnershipId, change.PopulationId, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A failed refresh only means the next report computes on demand and history misses this change.
                _logger.LogWarning("Overlap refresh for {Target} failed: {ExceptionType}", change.PopulationId ?? change.PartnershipId, e.GetType().Name);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>Both sides of one partnership: the cells that involve <paramref name="populationId"/>, or all of them.</summary>
    private static async Task RefreshAsync(IServiceProvider services, string organizationId, string partnershipId, string? populationId, CancellationToken ct)
    {
        var service = services.GetRequiredService<OverlapService>();
        var history = services.GetRequiredService<OverlapHistory>();
        var events = services.GetRequiredService<IEscrowEvents>();
        var mine = await service.LoadAsync(organizationId, partnershipId, ct);
        if (mine is null) return;
        if (!mine.Partnership.SharesData)
        {
            // Terminated (termination deletes history at once and queues this, which runs after any refresh that
            // was under way and may have added a point meanwhile).
            await services.GetRequiredService<IOverlapHistoryRepository>().DeletePartnershipAsync(partnershipId, ct);
            return;
        }
        var theirs = await service.LoadAsync(mine.Partner.Id, partnershipId, ct);
        if (theirs is null) return;
        foreach (var view in new[] { mine, theirs })
        {
            using var side = await history.ForSideAsync(view, ct);
            await side.ForgetHiddenCellsAsync(ct);
            var changes = new List<CellChange>();
            foreach (var my in view.MyPopulations)
                foreach (var their in view.PartnerPopulations)
                {
                    if (populationId is not null && my.Id != populationId && their.Id != populationId) continue;
                    var level = view.PartnerShares(my.Id, their.Id).Level;
                    if (level == SharingLevel.Hidden) continue;
                    var (result, myData, _) = await service.ComputeAsync(view, my, their, ct);
                    if (await side.RecordAsync(my, their, level, result, myData, ct) is { } change) changes.Add(change);
                }
            if (OverlapsChanged.For(view, changes) is { } payload)
                await events.PublishAsync(view.MyOrganizationId, OverlapsChanged.Type, payload, ct);
        }
    }
}

/// <summary>
/// The overlaps.changed event for one side: per changed cell it may see, the count as the partner's rule in force
/// permits — and nothing else (no partner fields, no record ids, no hidden cells).
/// </summary>
public static class OverlapsChanged
{
    public const string Type = "overlaps.changed";

    /// <summary>
    /// The payload for the viewer of <paramref name="view"/>, or null when none of the changes is visible to it. A cell
    /// is included only when what the viewer may read of it changed, both values rendered under the rule in force:
    /// a counts-level cell that stays below the minimum is left out, or the event itself would tell the viewer that
    /// a withheld count moved (upload one more account, see whether an event comes: a membership test).
    /// </summary>
    public static OverlapsChangedPayload? For(PartnerView view, IReadOnlyList<CellChange> changes)
    {
        var cells = new List<OverlapsChangedCell>();
        foreach (var c in changes)
        {
            var sharing = view.PartnerShares(c.MyPopulationId, c.PartnerPopulationId);
            if (sharing.Level == SharingLevel.Hidden) continue;
            var before = SharingPolicy.ReportableCount(sharing, c.PreviousCount, c.PreviousPartnerCount);
            var after = SharingPolicy.ReportableCount(sharing, c.Count, c.PartnerCount);
            if (before == after) continue;
            cells.Add(new OverlapsChangedCell(c.MyPopulationId, c.PartnerPopulationId, sharing.Level.ToWire(), after,
                after is null ? sharing.MinimumCount : null, before));
        }
        return cells.Count == 0 ? null : new OverlapsChangedPayload(view.Partnership.Id, cells);
    }
}

public sealed record OverlapsChangedPayload(string PartnershipId, IReadOnlyList<OverlapsChangedCell> Cells);

/// <summary>
/// A changed cell as the receiver may see it: <see cref="Count"/> null when withheld (then <see cref="MinimumCount"/>
/// says it is below it); <see cref="PreviousCount"/> is the value before, rendered under the same rule (null when withheld).
/// </summary>
public sealed record OverlapsChangedCell(string MyPopulationId, string PartnerPopulationId, string Level, int? Count, int? MinimumCount, int? PreviousCount);
