namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A change whose overlaps the refresher recomputes: a population in every active partnership of its organization
/// (<see cref="PartnershipId"/> null), a whole partnership (<see cref="PopulationId"/> null), or one population in one
/// partnership.
/// </summary>
public sealed record RefreshChange(string OrganizationId, string? PopulationId, string? PartnershipId);

/// <summary>
/// A queued change as a worker claimed it: <see cref="Changes"/> is the row's counter at the claim (the row is deleted
/// after processing only if it is still that), <see cref="Attempts"/> the passes over it that failed before.
/// </summary>
public sealed record ClaimedRefresh(RefreshChange Change, long Changes, int Attempts);

/// <summary>
/// The overlap refresher's queue, in the database so that it survives a crash and is shared by every instance on it
/// (docs/architecture.md, "Overlap refresher"). One row per change, coalesced: queuing a change that is waiting already
/// bumps its counter instead of adding a row. Rows are claimed with a lease: two workers never hold one row at once,
/// and an expired lease (an instance killed mid-refresh) lets another worker take it over.
/// Only the refresher uses it, never with a caller's input.
/// </summary>
public interface IRefreshQueueRepository
{
    /// <summary>
    /// Queues <paramref name="change"/>, or bumps its counter when it is queued already (also while it is being
    /// processed: the worker then leaves the row for another pass). In a unit of work, it commits with the change.
    /// </summary>
    Task EnqueueAsync(RefreshChange change, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Claims up to <paramref name="limit"/> rows whose lease is free or expired at <paramref name="now"/>, oldest first, for
    /// <paramref name="owner"/> until <paramref name="leaseUntil"/>. Rows another worker is claiming at the same moment are
    /// skipped, never returned to both.
    /// </summary>
    Task<IReadOnlyList<ClaimedRefresh>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken ct);

    /// <summary>Extends the lease <paramref name="owner"/> holds on the row; false when it no longer holds it (it expired and another took it).</summary>
    Task<bool> RenewAsync(RefreshChange change, string owner, DateTimeOffset leaseUntil, CancellationToken ct);

    /// <summary>
    /// After processing (or when giving a row up): deletes the row if <paramref name="owner"/> still holds it and its counter
    /// is still the claimed one (true); otherwise the change was queued again meanwhile, and the row is released for another
    /// pass, its failed attempts forgotten (false).
    /// </summary>
    Task<bool> CompleteAsync(ClaimedRefresh claimed, string owner, CancellationToken ct);

    /// <summary>
    /// After a failed pass: releases the row, not claimable before <paramref name="retryAt"/>, with one more failed attempt.
    /// </summary>
    Task FailAsync(ClaimedRefresh claimed, string owner, DateTimeOffset retryAt, CancellationToken ct);

    /// <summary>
    /// When the instance stops mid-pass: gives the row back if <paramref name="owner"/> still holds it, claimable at once and
    /// with no failed attempt added (nothing failed), so that another instance takes it without waiting for the lease.
    /// </summary>
    Task ReleaseAsync(ClaimedRefresh claimed, string owner, CancellationToken ct);

    /// <summary>Rows queued or being processed, in every organization (zero once every instance has caught up).</summary>
    Task<int> CountAsync(CancellationToken ct);
}
