using Dapper;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Overlaps;

/// <summary>
/// The refresher's queue (migration 2026-12-01-0020). '' in population_id or partnership_id stands for "all", so the
/// primary key coalesces on both databases. Claiming locks the due rows it picks and skips those another claimer holds
/// (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write transaction excludes every other writer); every later write is
/// a compare-and-set on the claimant (and on the counter, where a change queued meanwhile must survive).
/// </summary>
internal sealed class RefreshQueueRepository(IDbScope scope) : IRefreshQueueRepository
{
    private const string Key = "organization_id = @OrganizationId AND population_id = @PopulationId AND partnership_id = @PartnershipId";

    private static object KeyOf(RefreshChange change) =>
        new { change.OrganizationId, PopulationId = change.PopulationId ?? "", PartnershipId = change.PartnershipId ?? "" };

    public async Task EnqueueAsync(RefreshChange change, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // One statement on both databases: a second change of the same key bumps the counter (PostgreSQL's ON CONFLICT
        // waits for a concurrent insert or delete of the key and then updates or inserts, so nothing is lost). The time
        // queued stays the first one's, so a change queued over and over is not starved by newer ones.
        await db.ExecuteAsync(
            """
            INSERT INTO refresh_queue (organization_id, population_id, partnership_id, changes, attempts, queued_at)
            VALUES (@OrganizationId, @PopulationId, @PartnershipId, 1, 0, @now)
            ON CONFLICT (organization_id, population_id, partnership_id) DO UPDATE SET changes = refresh_queue.changes + 1
            """, Merge(change, new { now = Time.ToUnixMs(now) }));
    }

    public async Task<IReadOnlyList<ClaimedRefresh>> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var args = new { owner, now = Time.ToUnixMs(now), leaseUntil = Time.ToUnixMs(leaseUntil), limit };
        // Every instance polls: an idle poll reads, and takes no write lock (SQLite's is the whole database's).
        if (await db.ScalarAsync<long?>("SELECT 1 FROM refresh_queue WHERE lease_until IS NULL OR lease_until <= @now LIMIT 1", args) is null) return [];
        await using var tx = await db.BeginWriteAsync();
        // The due rows are locked as they are picked (skipping rows another worker is claiming), then leased, in one transaction.
        var due = await db.QueryAsync<RefreshRow>(
            $"""
            SELECT organization_id, population_id, partnership_id, changes, attempts FROM refresh_queue
            WHERE lease_until IS NULL OR lease_until <= @now
            ORDER BY queued_at, organization_id, population_id, partnership_id
            LIMIT @limit{db.Dialect.ForUpdateSkipLocked}
            """, args);
        var claimed = new List<RefreshRow>();
        foreach (var row in due)
            // A compare-and-set on the lease as well, so a row is claimed once even where the SELECT locked nothing.
            if (await db.ExecuteAsync(
                    $"UPDATE refresh_queue SET claimed_by = @owner, lease_until = @leaseUntil WHERE {Key} AND (lease_until IS NULL OR lease_until <= @now)",
                    new { owner, args.leaseUntil, args.now, row.OrganizationId, row.PopulationId, row.PartnershipId }) == 1)
                claimed.Add(row);
        await tx.CommitAsync();
        return claimed.Select(r => new ClaimedRefresh(
            new RefreshChange(r.OrganizationId, NullIfAll(r.PopulationId), NullIfAll(r.PartnershipId)), r.Changes, (int)r.Attempts)).ToList();
    }

    public async Task<bool> RenewAsync(RefreshChange change, string owner, DateTimeOffset leaseUntil, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            $"UPDATE refresh_queue SET lease_until = @leaseUntil WHERE {Key} AND claimed_by = @owner",
            Merge(change, new { owner, leaseUntil = Time.ToUnixMs(leaseUntil) })) == 1;
    }

    public async Task<bool> CompleteAsync(ClaimedRefresh claimed, string owner, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var args = Merge(claimed.Change, new { owner, claimed.Changes });
        // A compare-and-set on the counter: a change queued while this one was processed bumped it, and keeps the row
        // (released at once, with its failed attempts forgotten: it is a new change).
        if (await db.ExecuteAsync($"DELETE FROM refresh_queue WHERE {Key} AND claimed_by = @owner AND changes = @Changes", args) == 1)
        {
            await tx.CommitAsync();
            return true;
        }
        await db.ExecuteAsync($"UPDATE refresh_queue SET claimed_by = NULL, lease_until = NULL, attempts = 0 WHERE {Key} AND claimed_by = @owner", args);
        await tx.CommitAsync();
        return false;
    }

    public async Task FailAsync(ClaimedRefresh claimed, string owner, DateTimeOffset retryAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // claimed_by NULL with a lease in the future: nobody holds it, and nobody claims it before retryAt.
        await db.ExecuteAsync(
            $"UPDATE refresh_queue SET claimed_by = NULL, lease_until = @retryAt, attempts = attempts + 1 WHERE {Key} AND claimed_by = @owner",
            Merge(claimed.Change, new { owner, retryAt = Time.ToUnixMs(retryAt) }));
    }

    public async Task ReleaseAsync(ClaimedRefresh claimed, string owner, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            $"UPDATE refresh_queue SET claimed_by = NULL, lease_until = NULL WHERE {Key} AND claimed_by = @owner",
            Merge(claimed.Change, new { owner }));
    }

    public async Task<int> CountAsync(CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (int)await db.ScalarAsync<long>("SELECT COUNT(*) FROM refresh_queue");
    }

    private static string? NullIfAll(string value) => value.Length == 0 ? null : value;

    private static DynamicParameters Merge(RefreshChange change, object extra)
    {
        var args = new DynamicParameters(KeyOf(change));
        args.AddDynamicParams(extra);
        return args;
    }

    private sealed class RefreshRow
    {
        public string OrganizationId { get; set; } = "";
        public string PopulationId { get; set; } = "";
        public string PartnershipId { get; set; } = "";
        public long Changes { get; set; }
        public long Attempts { get; set; }
    }
}
