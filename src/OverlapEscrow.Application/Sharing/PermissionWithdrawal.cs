using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Application.Sharing;

/// <summary>
/// The one sequence that runs when a permission is withdrawn or changed — a sharing rule of an owner, or the end of a
/// partnership — so that nothing derived outlives it. Inside the change's unit of work: the history each partner
/// derived from cells it may no longer see is deleted (all of the partnership's history when it ended), and its cells are
/// queued for a refresh (new history points and overlaps.changed events follow the new rules). Once the change has
/// committed: the partnership's cached overlap results are dropped.
/// </summary>
public sealed class PermissionWithdrawal(OverlapCache overlaps, OverlapRefresher refresher)
{
    /// <summary>
    /// After <paramref name="ownerOrganizationId"/> changed what it shares in <paramref name="partnershipId"/> (for
    /// <paramref name="populationId"/> only, when given) or ended it, within <paramref name="uow"/>, before it commits.
    /// </summary>
    public async Task ApplyAsync(IUnitOfWork uow, string ownerOrganizationId, string partnershipId, string? populationId, CancellationToken ct)
    {
        // A refresh recording at this moment (on another instance, say) holds the partnership until it commits: its points
        // are then deleted below; one that comes later waits for this change and records under its rules (OverlapRefresher).
        await uow.Partnerships.LockAsync(partnershipId, ct);
        var partnership = await uow.Partnerships.GetAsync(ownerOrganizationId, partnershipId, ct)
            ?? throw new InvalidOperationException("The partnership is not the owner's.");
        if (partnership.Status == PartnershipStatus.Terminated)
        {
            // History is derived from both sides' data: it goes with the partnership.
            await uow.History.DeletePartnershipAsync(partnershipId, ct);
        }
        else if (partnership.SharesData
                 && await PartnerViews.LoadAsync(uow, partnership.PartnerOf(ownerOrganizationId), partnershipId, ct) is { } partnerView)
        {
            // What the partner derived from a cell hidden now goes with the permission, at once.
            await HistoryRecorder.ForgetHiddenCellsAsync(partnerView, uow.History, ct);
        }
        // First among the after-commit actions: the cached results are gone before the commit wakes the refresher.
        uow.AfterCommit(() => overlaps.Evict(partnershipId));
        // Terminated: the queued refresh deletes history again after any refresh that was under way and may have
        // added a point meanwhile. Active: history and overlaps.changed follow the new rules. Queued in this unit of work,
        // so it commits with the change (a crash after the commit cannot lose it); the commit wakes the worker.
        if (partnership.Status is PartnershipStatus.Active or PartnershipStatus.Terminated)
            await refresher.QueuePartnershipChangedAsync(uow, ownerOrganizationId, partnershipId, populationId, ct);
    }
}
