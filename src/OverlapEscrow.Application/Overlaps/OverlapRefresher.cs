using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// Recomputes, in the background, the overlaps a change affects, so the next report finds them ready, and records
/// what changed: a new version recomputes both directions of every active partnership of its organization for that
/// population; a sharing change or an acceptance recomputes every cell of the partnership. Each side's changed
/// cells go into its overlap history and, when what the side may see of them changed, into an overlaps.changed
/// event for it — the points and the event in one transaction. Reports never wait for this: a cell that is not
/// ready is computed on demand for that pair alone.
/// </summary>
/// <remarks>
/// Work is coalesced, never dropped: a change already waiting is not queued twice, so the queue holds at most one
/// entry per population and per partnership however many changes arrive, and a change that arrives while the same
/// one is being processed is processed again afterwards.
/// </remarks>
public sealed class OverlapRefresher(
    PartnerViews views,
    OverlapComputation overlaps,
    HistoryRecorder recorder,
    CountReleases releases,
    IPartnershipRepository partnerships,
    IOverlapHistoryRepository history,
    ITransactions transactions,
    IEventPublisher events,
    TimeProvider time,
    ILogger<OverlapRefresher> logger,
    Signals.JointOpportunities joints)
{
    /// <summary>A change to refresh: a population (in every active partnership of its organization, or in one), or a whole partnership.</summary>
    private sealed record Change(string OrganizationId, string? PopulationId, string? PartnershipId);

    private readonly ConcurrentDictionary<Change, byte> _waiting = new();
    private readonly Channel<Change> _order = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private int _pending;

    /// <summary>Changes waiting or being processed; zero when the refresher has caught up.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public void PopulationChanged(string organizationId, string populationId) => Enqueue(new Change(organizationId, populationId, null));

    /// <summary>
    /// A rule of the organization changed, or the partnership became active or ended: refresh its cells (those of
    /// <paramref name="populationId"/> only, when given).
    /// </summary>
    public void PartnershipChanged(string organizationId, string partnershipId, string? populationId = null) =>
        Enqueue(new Change(organizationId, populationId, partnershipId));

    /// <summary>
    /// Refreshes both sides of one partnership now, in the caller's flow rather than the background loop's (the demo's
    /// seeding records the history its attribution evidence is computed from before the service answers).
    /// </summary>
    public Task RefreshNowAsync(string organizationId, string partnershipId, CancellationToken ct) => RefreshAsync(organizationId, partnershipId, null, ct);

    private void Enqueue(Change change)
    {
        if (!_waiting.TryAdd(change, 0)) return; // the same change is waiting already: it will see this one too
        Interlocked.Increment(ref _pending);
        _order.Writer.TryWrite(change);
    }

    /// <summary>Processes changes as they come until <paramref name="stoppingToken"/> is cancelled (the host's background service).</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in _order.Reader.ReadAllAsync(stoppingToken))
        {
            _waiting.TryRemove(change, out _);
            try
            {
                IReadOnlyList<string> ids = change.PartnershipId is { } one
                    ? [one]
                    : (await partnerships.ListAsync(change.OrganizationId, stoppingToken)).Where(p => p.SharesData).Select(p => p.Id).ToList();
                foreach (var partnershipId in ids)
                    await RefreshAsync(change.OrganizationId, partnershipId, change.PopulationId, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A failed refresh only means the next report computes on demand and history misses this change.
                logger.LogWarning("Overlap refresh for {Target} failed: {ExceptionType}", change.PopulationId ?? change.PartnershipId, e.GetType().Name);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <summary>Both sides of one partnership: the cells that involve <paramref name="populationId"/>, or all of them.</summary>
    private async Task RefreshAsync(string organizationId, string partnershipId, string? populationId, CancellationToken ct)
    {
        var both = await views.LoadBothAsync(organizationId, partnershipId, ct);
        if (both is not var (mine, theirs)) return;
        if (!mine.Partnership.SharesData)
        {
            // Ended: its history goes with it (termination deletes it at once and queues this, which runs after any
            // refresh that was under way and may have added a point meanwhile).
            await history.DeletePartnershipAsync(partnershipId, ct);
            return;
        }
        foreach (var view in new[] { mine, theirs })
        {
            // The overlaps first, outside the transaction: computing them must not hold the database's write lock.
            var computed = new List<(DisclosedCell Cell, CellOverlap Overlap)>();
            foreach (var cell in PartnerVisibility.Cells(view))
                if (populationId is null || cell.Mine.Id == populationId || cell.Theirs.Id == populationId)
                    computed.Add((cell, await overlaps.ComputeAsync(view, cell.Mine, cell.Theirs, ct)));

            await using var uow = await transactions.BeginAsync(ct);
            await HistoryRecorder.ForgetHiddenCellsAsync(view, uow.History, ct);
            // Against the latest points, before this refresh records new ones (docs/health.md, joint opportunities).
            var joint = await joints.DetectAsync(uow, view, computed, ct);
            var changes = new List<CellChange>();
            using (var side = await recorder.ForSideAsync(view, uow.History, ct))
                foreach (var (cell, overlap) in computed)
                    if (await side.RecordAsync(cell.Mine, cell.Theirs, cell.Sharing.Level, overlap.Result,
                            () => overlaps.MyRecordsAsync(overlap, overlap.Result.MyOrdinals, ct), ct) is { } change)
                        changes.Add(change);
            // Counts-level cells get their new value here when one is due, in this transaction, so the event below carries
            // the value the matrix shows; whether one is due never depends on the counts (CountReleases).
            var released = new List<ReleaseChange>();
            foreach (var (cell, overlap) in computed.Where(c => c.Cell.Sharing.Level == SharingLevel.Counts))
                if (await releases.ReleaseAsync(uow, view, cell, overlap, ct) is { IsNew: true, Release: { } release } r)
                    released.Add(new ReleaseChange(cell.Mine.Id, cell.Theirs.Id, r.Previous?.Point, release.Point, r.Count.Protection?.RefreshesAt));
            if (OverlapsChanged.For(view, changes, released) is { } payload)
                await events.PublishAsync(uow, view.MyOrganizationId, OverlapsChanged.Type, payload, time.GetUtcNow(), ct);
            // Only with a recorded change: a refresher that lost the race to record it reports nothing.
            if (changes.Count > 0) await joints.PublishAsync(uow, view.MyOrganizationId, joint, ct);
            await uow.CommitAsync(ct);
        }
    }
}

/// <summary>The overlaps.changed event for one side: its changed cells as <see cref="ChangeNotice"/> lets it see them.</summary>
public static class OverlapsChanged
{
    public const string Type = "overlaps.changed";

    /// <summary>The payload for the viewer of <paramref name="view"/>, or null when none of the changes is visible to it.</summary>
    public static OverlapsChangedPayload? For(PartnerView view, IReadOnlyList<CellChange> changes, IReadOnlyList<ReleaseChange> releases)
    {
        var cells = ChangeNotice.For(view, changes, releases);
        return cells.Count == 0 ? null : new OverlapsChangedPayload(view.Partnership.Id, cells.Select(c => new OverlapsChangedCell(
            c.MyPopulationId, c.PartnerPopulationId, c.Level, c.Count.Value, c.Count.WithheldBelow, c.Previous.Value,
            CountPrivacy.Of(c.Count.Protection))).ToList());
    }
}

/// <summary>
/// How a counts-level value was protected, as the API and webhooks show it: noised (<see cref="Protected"/>) with
/// ± <see cref="MarginOfError"/> around the true count at <see cref="Confidence"/>, or exact by the owner's choice; when
/// it was released, when it may next change, and <see cref="State"/>: current, data_changed (a new value comes at
/// refreshesAt) or budget_exhausted (the owner's budget for this partner is spent until refreshesAt).
/// </summary>
public sealed record CountPrivacy(bool Protected, int MarginOfError, double Confidence, DateTimeOffset? ReleasedAt, DateTimeOffset? RefreshesAt, ReleaseState State)
{
    public static CountPrivacy? Of(CountProtection? protection) => protection is null ? null
        : new(protection.Noised, protection.MarginOfError, protection.Confidence, protection.ReleasedAt, protection.RefreshesAt, protection.State);
}

public sealed record OverlapsChangedPayload(string PartnershipId, IReadOnlyList<OverlapsChangedCell> Cells);

/// <summary>
/// A changed cell as the receiver may see it: <see cref="Count"/> null when withheld (then <see cref="MinimumCount"/>
/// says it is below it); <see cref="PreviousCount"/> is the value before, released under the same rule (null when withheld);
/// <see cref="Privacy"/> at the counts level only: the value is the one the matrix shows, with how it was protected.
/// </summary>
public sealed record OverlapsChangedCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? Count, int? MinimumCount, int? PreviousCount,
    CountPrivacy? Privacy = null);
