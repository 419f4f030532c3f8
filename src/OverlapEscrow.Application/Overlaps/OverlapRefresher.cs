using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>Settings of the overlap refresher's queue, under Escrow:Refresh (environment: Escrow__Refresh__Name).</summary>
public sealed class RefreshOptions
{
    /// <summary>
    /// How often each instance's worker looks for queued changes when nothing wakes it. A change queued on this instance
    /// wakes its worker at once; one queued on another instance (or left by a killed one) is found by this poll.
    /// </summary>
    [Range(50, 60_000)]
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>
    /// How long a claimed change is held; renewed every third of it while the refresh runs. A killed instance's claims
    /// are taken over by another once this has passed.
    /// </summary>
    [Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>Passes over one change that may fail before it is given up (logged; the next change of the cell refreshes it).</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait before a failed change is tried again (doubled per failed attempt).</summary>
    [Range(1, 3600)]
    public int RetryDelaySeconds { get; set; } = 10;

    /// <summary>
    /// A test and operations knob: how long this instance's worker waits after start before it claims anything (0: at
    /// once). With it, an instance queues changes it does not process itself (other instances do), which is how the tests
    /// kill an instance with its refresh still queued; an operator may use it to keep an instance to serving requests.
    /// </summary>
    [Range(0, 86_400)]
    public int WorkerStartDelaySeconds { get; set; }
}

/// <summary>
/// Recomputes, in the background, the overlaps a change affects, so the next report finds them ready, and records
/// what changed: a new version recomputes both directions of every active partnership of its organization for that
/// population; a sharing change or an acceptance recomputes every cell of the partnership. Each side's changed
/// cells go into its overlap history and, when what the side may see of them changed, into an overlaps.changed
/// event for it — the points and the event in one transaction. Reports never wait for this: a cell that is not
/// ready is computed on demand for that pair alone.
/// </summary>
/// <remarks>
/// The queue is in the database (<see cref="IRefreshQueueRepository"/>), written in the transaction of the change that
/// causes the work (<see cref="QueuePopulationChangedAsync"/>, <see cref="QueuePartnershipChangedAsync"/>), so a crash after the
/// commit loses nothing and every instance on the database shares the work. Work is coalesced, never dropped: a change
/// already waiting is not queued twice (its counter is bumped), so the queue holds at most one row per population and
/// per partnership however many changes arrive, and a change that arrives while the same one is being processed is
/// processed again afterwards. Each instance's worker claims one row at a time under a lease: two instances never
/// process one row at once, and a killed instance's rows are taken over when their lease expires. The commit wakes
/// this instance's worker at once; the others find the row by polling (<see cref="RefreshOptions.PollMilliseconds"/>).
/// </remarks>
public sealed class OverlapRefresher(
    PartnerViews views,
    OverlapComputation overlaps,
    HistoryRecorder recorder,
    CountReleases releases,
    IPartnershipRepository partnerships,
    IOverlapHistoryRepository history,
    IRefreshQueueRepository queue,
    ITransactions transactions,
    IEventPublisher events,
    TimeProvider time,
    IOptions<RefreshOptions> options,
    ILogger<OverlapRefresher> logger,
    Signals.JointOpportunities joints)
{
    private readonly WakeSignal _wake = new();

    /// <summary>
    /// Changes queued or being processed, on every instance sharing the database; zero when they have all caught up.
    /// </summary>
    public Task<int> PendingAsync(CancellationToken ct) => queue.CountAsync(ct);

    /// <summary>
    /// Queues the refresh of a new version of <paramref name="populationId"/> in <paramref name="uow"/>, so it commits with
    /// the version (or not at all). The caller wakes this instance's worker (<see cref="Wake"/>) after the commit, once the
    /// versions it superseded have left memory (so the refresh does not load the new one beside them).
    /// </summary>
    public Task QueuePopulationChangedAsync(IUnitOfWork uow, string organizationId, string populationId, CancellationToken ct) =>
        uow.RefreshQueue.EnqueueAsync(new RefreshChange(organizationId, populationId, null), time.GetUtcNow(), ct);

    /// <summary>
    /// A rule of the organization changed, or the partnership became active or ended, in <paramref name="uow"/>: queues the
    /// refresh of its cells (those of <paramref name="populationId"/> only, when given), committed with the change.
    /// </summary>
    public Task QueuePartnershipChangedAsync(IUnitOfWork uow, string organizationId, string partnershipId, string? populationId, CancellationToken ct) =>
        QueueAsync(uow, new RefreshChange(organizationId, populationId, partnershipId), ct);

    /// <summary>
    /// Queues the refresh of <paramref name="populationId"/> on its own, for a caller with no change of its own to commit
    /// with it (a scheduled refresh): durable once this returns.
    /// </summary>
    public async Task PopulationChangedAsync(string organizationId, string populationId, CancellationToken ct)
    {
        await queue.EnqueueAsync(new RefreshChange(organizationId, populationId, null), time.GetUtcNow(), ct);
        Wake();
    }

    private async Task QueueAsync(IUnitOfWork uow, RefreshChange change, CancellationToken ct)
    {
        await uow.RefreshQueue.EnqueueAsync(change, time.GetUtcNow(), ct);
        uow.AfterCommit(Wake);
    }

    /// <summary>Wakes this instance's worker: a change it queued has committed.</summary>
    public void Wake() => _wake.Wake();

    /// <summary>
    /// Refreshes both sides of one partnership now, in the caller's flow rather than the background loop's (the demo's
    /// seeding records the history its attribution evidence is computed from before the service answers).
    /// </summary>
    public Task RefreshNowAsync(string organizationId, string partnershipId, CancellationToken ct) => RefreshAsync(organizationId, partnershipId, null, ct);

    /// <summary>Processes queued changes until <paramref name="stoppingToken"/> is cancelled (the host's background service).</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        try
        {
            if (o.WorkerStartDelaySeconds > 0) await Task.Delay(TimeSpan.FromSeconds(o.WorkerStartDelaySeconds), time, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    while (await ProcessOneAsync(stoppingToken)) { }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // The queue itself could not be read or written (the database is away): the rows wait for the next poll.
                    logger.LogWarning("Claiming overlap refreshes failed: {ExceptionType}", e.GetType().Name);
                }
                await _wake.WaitAsync(TimeSpan.FromMilliseconds(o.PollMilliseconds), time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Claims one queued change and processes it; false when none was due.</summary>
    private async Task<bool> ProcessOneAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var lease = TimeSpan.FromSeconds(o.LeaseSeconds);
        // A fresh claimant per claim: only this pass can renew, complete or release what it took.
        var owner = Ids.New("rfq");
        var now = time.GetUtcNow();
        if ((await queue.ClaimAsync(owner, now, now + lease, 1, stoppingToken)).FirstOrDefault() is not { } claimed) return false;
        var change = claimed.Change;
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var stopRenewing = new CancellationTokenSource();
        var renewal = RenewAsync(claimed, owner, lease, lost, stopRenewing.Token);
        Exception? failure = null;
        var stopped = false;
        try
        {
            IReadOnlyList<string> ids = change.PartnershipId is { } one
                ? [one]
                : (await partnerships.ListAsync(change.OrganizationId, lost.Token)).Where(p => p.SharesData).Select(p => p.Id).ToList();
            foreach (var partnershipId in ids)
                await RefreshAsync(change.OrganizationId, partnershipId, change.PopulationId, lost.Token);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            failure = e;
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            stopped = true;
            throw;
        }
        finally
        {
            await stopRenewing.CancelAsync();
            await renewal;
            // Shutting down (the exception goes on): the change is given back, so another instance (or this one restarted)
            // processes it at once, not once the lease has run out (a rolling restart held history and overlaps.changed
            // back by up to LeaseSeconds). Should that fail, the lease runs out as before.
            if (stopped) await ReleaseOnStopAsync(claimed, owner);
        }
        if (failure is null)
        {
            await queue.CompleteAsync(claimed, owner, CancellationToken.None);
            return true;
        }
        var target = change.PopulationId ?? change.PartnershipId;
        if (lost.IsCancellationRequested)
        {
            // The lease could not be renewed and another instance took the change over: it is theirs now.
            logger.LogWarning("Overlap refresh for {Target} lost its lease and stopped", target);
        }
        else if (claimed.Attempts + 1 >= o.MaxAttempts)
        {
            // A failed refresh only means the next report computes on demand and history misses this change.
            logger.LogWarning("Overlap refresh for {Target} failed {Attempts} times and was given up: {ExceptionType}", target, claimed.Attempts + 1,
                failure.GetType().Name);
            await queue.CompleteAsync(claimed, owner, CancellationToken.None);
        }
        else
        {
            logger.LogWarning("Overlap refresh for {Target} failed and will be tried again: {ExceptionType}", target, failure.GetType().Name);
            var retryAt = time.GetUtcNow() + TimeSpan.FromSeconds(o.RetryDelaySeconds * Math.Pow(2, claimed.Attempts));
            await queue.FailAsync(claimed, owner, retryAt, CancellationToken.None);
        }
        return true;
    }

    private async Task ReleaseOnStopAsync(ClaimedRefresh claimed, string owner)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await queue.ReleaseAsync(claimed, owner, timeout.Token);
        }
        catch (Exception e)
        {
            logger.LogWarning("Giving back an overlap refresh at shutdown failed: {ExceptionType}", e.GetType().Name);
        }
    }

    /// <summary>Renews the claim every third of the lease until stopped; cancels <paramref name="lost"/> when it no longer holds it.</summary>
    private async Task RenewAsync(ClaimedRefresh claimed, string owner, TimeSpan lease, CancellationTokenSource lost, CancellationToken stop)
    {
        await Task.Yield();
        try
        {
            using var timer = new PeriodicTimer(lease / 3, time);
            while (await timer.WaitForNextTickAsync(stop))
            {
                bool held;
                try { held = await queue.RenewAsync(claimed.Change, owner, time.GetUtcNow() + lease, stop); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning("Renewing the lease of an overlap refresh failed: {ExceptionType}", e.GetType().Name);
                    continue; // held until it expires; the next renewal may succeed
                }
                if (!held)
                {
                    await lost.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
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
        foreach (var loaded in new[] { mine, theirs })
        {
            var view = loaded;
            // The overlaps first, outside the transaction: computing them must not hold the database's write lock.
            var computed = new List<(DisclosedCell Cell, CellOverlap Overlap)>();
            // A counts-level cell's bounded count too, which a release in the transaction draws from.
            foreach (var cell in PartnerVisibility.Cells(view))
                if (populationId is null || cell.Mine.Id == populationId || cell.Theirs.Id == populationId)
                {
                    try
                    {
                        computed.Add((cell, cell.Sharing.Level == SharingLevel.Counts
                            ? await overlaps.ComputeForReleaseAsync(view, cell.Mine, cell.Theirs, ct)
                            : await overlaps.ComputeAsync(view, cell.Mine, cell.Theirs, ct)));
                    }
                    catch (VersionUnreadableException)
                    {
                        // One side's data no key opens (a restore older than a data-key rotation): this cell has nothing to
                        // record until that population is uploaded again, and the partnership's other cells go on (the
                        // matrix reads it unreadable). Failing the whole refresh would withhold their history and events.
                        logger.LogWarning("Overlap refresh of partnership {PartnershipId} skipped the cell {MyPopulationId} x {TheirPopulationId}: " +
                                          "one side's data cannot be opened with the keys held", partnershipId, cell.Mine.Id, cell.Theirs.Id);
                    }
                }

            await using var uow = await transactions.BeginAsync(ct);
            // The rules as they are now, read under the partnership's lock, which every change of its sharing takes too: a
            // change that committed after the views above were loaded is seen here, and its cells are not recorded under the
            // rules it replaced; one still to come waits for this commit, then forgets what it hides. (On PostgreSQL a hide
            // committed on another instance between the load and this transaction left a point of the hidden cell: a trial,
            // 2026-12-04.) A cell whose level changed is left to the refresh the change queued.
            await uow.Partnerships.LockAsync(partnershipId, ct);
            var current = await PartnerViews.LoadAsync(uow, view.MyOrganizationId, partnershipId, ct);
            if (current is null || !current.Partnership.SharesData) continue;
            var levels = PartnerVisibility.Cells(current).ToDictionary(c => (c.Mine.Id, c.Theirs.Id), c => c.Sharing);
            computed = [.. computed.Where(c => levels.TryGetValue((c.Cell.Mine.Id, c.Cell.Theirs.Id), out var now) && now.Level == c.Cell.Sharing.Level)
                .Select(c => (c.Cell with { Sharing = levels[(c.Cell.Mine.Id, c.Cell.Theirs.Id)] }, c.Overlap))];
            view = current;
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
            c.MyPopulationId, c.PartnerPopulationId, c.Level, c.Count.Value, c.MinimumCount ?? c.Count.WithheldBelow, c.Previous.Value,
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
/// A changed cell as the receiver may see it: <see cref="Count"/> null when withheld, below <see cref="MinimumCount"/>
/// (at the counts level, the partner's minimum reportable count in force when the event was made, withheld or not);
/// <see cref="PreviousCount"/> is the value before, released under the same rule (null when withheld);
/// <see cref="Privacy"/> at the counts level only: the value is the one the matrix shows, with how it was protected.
/// </summary>
public sealed record OverlapsChangedCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? Count, int? MinimumCount, int? PreviousCount,
    CountPrivacy? Privacy = null);
