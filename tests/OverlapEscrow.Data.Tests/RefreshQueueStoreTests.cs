using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The overlap refresher's queue on every configured database, with two instances (each its own pool) where claims race:
/// coalescing, claims that never overlap, leases that expire, and a change queued during processing that must survive.
/// </summary>
public class RefreshQueueStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(2);

    [Theory, StorageData]
    public async Task TheSameChangeQueuedAgainIsOneRowWithItsCounterBumpedAndAllIsKeptApartFromOne(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var population = new RefreshChange(org, "pop_1", null);
        for (var i = 0; i < 3; i++) await s.RefreshQueue.EnqueueAsync(population, T0.AddSeconds(i), None);
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, null, "ptn_1"), T0.AddSeconds(5), None);
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", "ptn_1"), T0.AddSeconds(6), None);

        Assert.Equal(3, await s.RefreshQueue.CountAsync(None));
        var claimed = await s.RefreshQueue.ClaimAsync("w1", T0.AddMinutes(1), T0.AddMinutes(3), 10, None);
        // Oldest first; null stands for "all" both ways.
        Assert.Equal(
            [(new RefreshChange(org, "pop_1", null), 3L), (new RefreshChange(org, null, "ptn_1"), 1L), (new RefreshChange(org, "pop_1", "ptn_1"), 1L)],
            claimed.Select(c => (c.Change, c.Changes)));
        Assert.All(claimed, c => Assert.Equal(0, c.Attempts));
    }

    [Theory, StorageData]
    public async Task AQueuedChangeCommitsWithItsUnitOfWorkOrNotAtAll(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        await using (var rolledBack = await s.Transactions.BeginAsync(None))
            await rolledBack.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", null), T0, None);
        Assert.Equal(0, await s.RefreshQueue.CountAsync(None));

        await using (var committed = await s.Transactions.BeginAsync(None))
        {
            await committed.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", null), T0, None);
            await committed.CommitAsync(None);
        }
        Assert.Equal(1, await s.RefreshQueue.CountAsync(None));
    }

    [Theory, StorageData]
    public async Task ClaimersOnTwoInstancesAtOnceNeverGetTheSameRowAndTogetherGetEveryOne(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var changes = Enumerable.Range(0, 150).Select(i => new RefreshChange(org, $"pop_{i:D3}", null)).ToList();
        foreach (var change in changes) await a.RefreshQueue.EnqueueAsync(change, T0, None);

        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var queue = (w % 2 == 0 ? a : b).RefreshQueue;
            var mine = new List<RefreshChange>();
            while (await queue.ClaimAsync("worker-" + w, T0, T0 + Lease, 2, None) is { Count: > 0 } got)
                mine.AddRange(got.Select(c => c.Change));
            return mine;
        })));

        var all = claims.SelectMany(c => c).ToList();
        Assert.Equal(all.Count, all.Distinct().Count()); // no row went to two claimers
        Assert.Equal(changes.OrderBy(c => c.PopulationId), all.OrderBy(c => c.PopulationId));
        // Held: nothing is claimable again while the leases run.
        Assert.Empty(await b.RefreshQueue.ClaimAsync("late", T0 + Lease - TimeSpan.FromSeconds(1), T0 + Lease * 2, 100, None));
    }

    [PostgresFact]
    public async Task OnPostgresAClaimSkipsARowAnotherClaimerHoldsLockedInsteadOfWaitingOrTakingIt()
    {
        await using var s = await CreateAsync("postgres");
        var org = await s.OrganizationAsync("acme");
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_held", null), T0, None);
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_free", null), T0.AddSeconds(1), None);

        // Another claimer in the middle of its claim: it has locked the oldest row and not yet leased it.
        await using var other = s.OpenConnection();
        await using var tx = await other.BeginTransactionAsync();
        await using (var select = other.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT population_id FROM refresh_queue WHERE population_id = 'pop_held' FOR UPDATE";
            Assert.Equal("pop_held", await select.ExecuteScalarAsync());
        }

        var claim = s.RefreshQueue.ClaimAsync("w1", T0, T0 + Lease, 10, None);
        var finished = await Task.WhenAny(claim, Task.Delay(TimeSpan.FromSeconds(10))) == claim;
        await tx.RollbackAsync();
        Assert.True(finished, "the claim waited for the row another claimer holds");
        Assert.Equal("pop_free", Assert.Single(await claim).Change.PopulationId);
    }

    [Theory, StorageData]
    public async Task AnExpiredLeaseIsClaimedByAnotherInstanceAndTheFirstHolderCanNeitherRenewNorCompleteIt(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        await a.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", null), T0, None);
        var first = Assert.Single(await a.RefreshQueue.ClaimAsync("killed", T0, T0 + Lease, 1, None));

        Assert.Empty(await b.RefreshQueue.ClaimAsync("other", T0 + Lease - TimeSpan.FromMilliseconds(1), T0 + Lease * 2, 1, None));
        var taken = Assert.Single(await b.RefreshQueue.ClaimAsync("other", T0 + Lease, T0 + Lease * 2, 1, None));
        Assert.Equal((first.Change, first.Changes), (taken.Change, taken.Changes));

        Assert.False(await a.RefreshQueue.RenewAsync(first.Change, "killed", T0 + Lease * 3, None));
        Assert.False(await a.RefreshQueue.CompleteAsync(first, "killed", None));
        Assert.Equal(1, await a.RefreshQueue.CountAsync(None));
        // Still the other's: not claimable, and its own completion removes it.
        Assert.Empty(await a.RefreshQueue.ClaimAsync("third", T0 + Lease + TimeSpan.FromSeconds(1), T0 + Lease * 3, 1, None));
        Assert.True(await b.RefreshQueue.RenewAsync(taken.Change, "other", T0 + Lease * 3, None));
        Assert.True(await b.RefreshQueue.CompleteAsync(taken, "other", None));
        Assert.Equal(0, await a.RefreshQueue.CountAsync(None));
    }

    [Theory, StorageData]
    public async Task AChangeQueuedAgainWhileItIsProcessedKeepsTheRowForAnotherPass(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var change = new RefreshChange(org, null, "ptn_1");
        await a.RefreshQueue.EnqueueAsync(change, T0, None);
        var claimed = Assert.Single(await a.RefreshQueue.ClaimAsync("w1", T0, T0 + Lease, 1, None));

        // Another instance commits a change of the same key while w1 processes.
        await using (var uow = await b.Transactions.BeginAsync(None))
        {
            await uow.RefreshQueue.EnqueueAsync(change, T0.AddSeconds(1), None);
            await uow.CommitAsync(None);
        }

        Assert.False(await a.RefreshQueue.CompleteAsync(claimed, "w1", None));
        // Released at once (not after the lease), with the new counter.
        var again = Assert.Single(await b.RefreshQueue.ClaimAsync("w2", T0.AddSeconds(2), T0 + Lease, 1, None));
        Assert.Equal((change, 2L), (again.Change, again.Changes));
        Assert.True(await b.RefreshQueue.CompleteAsync(again, "w2", None));
        Assert.Equal(0, await a.RefreshQueue.CountAsync(None));
    }

    [Theory, StorageData]
    public async Task ACompletionRacingAnUncommittedRequeueWaitsForItAndKeepsTheRow(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var change = new RefreshChange(org, "pop_1", null);
        await a.RefreshQueue.EnqueueAsync(change, T0, None);
        var claimed = Assert.Single(await a.RefreshQueue.ClaimAsync("w1", T0, T0 + Lease, 1, None));

        Task<bool> completion;
        await using (var uow = await b.Transactions.BeginAsync(None))
        {
            await uow.RefreshQueue.EnqueueAsync(change, T0.AddSeconds(1), None); // the upload's transaction, not committed yet
            completion = Task.Run(() => a.RefreshQueue.CompleteAsync(claimed, "w1", None));
            await Task.Delay(300);
            Assert.False(completion.IsCompleted, "the completion did not wait for the requeue's transaction");
            await uow.CommitAsync(None);
        }

        Assert.False(await completion);
        Assert.Equal(2L, Assert.Single(await a.RefreshQueue.ClaimAsync("w2", T0.AddSeconds(2), T0 + Lease, 1, None)).Changes);
    }

    [Theory, StorageData]
    public async Task AFailedPassIsNotClaimableBeforeItsRetryTimeAndCountsItsAttempts(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", null), T0, None);
        var claimed = Assert.Single(await s.RefreshQueue.ClaimAsync("w1", T0, T0 + Lease, 1, None));

        await s.RefreshQueue.FailAsync(claimed, "w1", T0.AddSeconds(10), None);

        Assert.Equal(1, await s.RefreshQueue.CountAsync(None)); // still pending
        Assert.Empty(await s.RefreshQueue.ClaimAsync("w2", T0.AddSeconds(9), T0 + Lease, 1, None));
        var retried = Assert.Single(await s.RefreshQueue.ClaimAsync("w2", T0.AddSeconds(10), T0 + Lease, 1, None));
        Assert.Equal(1, retried.Attempts);
    }

    [Theory, StorageData]
    public async Task AnErasedOrganizationsQueuedChangesGoWithIt(string provider)
    {
        await using var s = await CreateAsync(provider);
        var gone = await s.OrganizationAsync("gone");
        var kept = await s.OrganizationAsync("kept");
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(gone, "pop_1", null), T0, None);
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(kept, "pop_2", null), T0, None);

        await using (var connection = s.OpenConnection())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"DELETE FROM organizations WHERE id = '{gone}'";
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(kept, Assert.Single(await s.RefreshQueue.ClaimAsync("w1", T0, T0 + Lease, 10, None)).Change.OrganizationId);
    }

    [Theory, StorageData]
    public async Task AChangeGivenBackAtShutdownIsClaimableAtOnceWithNoFailedAttemptAndOnlyByItsHolder(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        await s.RefreshQueue.EnqueueAsync(new RefreshChange(org, "pop_1", null), T0, None);
        var claimed = Assert.Single(await s.RefreshQueue.ClaimAsync("stopping", T0, T0 + Lease, 1, None));

        await s.RefreshQueue.ReleaseAsync(claimed, "someone-else", None); // not its holder: nothing changes
        Assert.Empty(await s.RefreshQueue.ClaimAsync("other", T0.AddSeconds(1), T0.AddSeconds(1) + Lease, 1, None));

        await s.RefreshQueue.ReleaseAsync(claimed, "stopping", None);
        var again = Assert.Single(await s.RefreshQueue.ClaimAsync("other", T0.AddSeconds(2), T0.AddSeconds(2) + Lease, 1, None));
        Assert.Equal((claimed.Change, claimed.Changes, 0), (again.Change, again.Changes, again.Attempts));
    }
}
