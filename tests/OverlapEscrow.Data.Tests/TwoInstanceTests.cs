using Dapper;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Privacy;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// Two instances of the service on one database (each its own connection pool and audit group committer: what two
/// processes behind a load balancer share is the database only) racing where a single SQLite writer used to make the
/// argument: version commits, idempotency claims, audit appends, webhook claims, privacy budgets. On PostgreSQL these run
/// truly concurrently, so only the explicit locks (FOR UPDATE, compare-and-set, SKIP LOCKED) keep the counts right.
/// </summary>
public class TwoInstanceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<string> PendingAsync(Stores s, string populationId, VersionKind kind)
    {
        var id = Ids.New("ver");
        await s.Populations.BeginVersionAsync(id, populationId, kind, T0, None);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(id, 0, 1, new SealedValue([1], [2], 1)), T0, None));
        return id;
    }

    [Theory, StorageData]
    public async Task AuditAppendsFromTwoInstancesAtOnceKeepOneUnbrokenChainWithEveryEvent(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();

        // Group-committed appends on both instances, and appends inside units of work on both, all at once.
        var appends = new[] { a, b }.SelectMany((s, side) => Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            var entry = new AuditEntry(T0, "org-" + side, "member:m", "overlaps.released", null, new { side, i });
            if (i % 6 != 0)
            {
                await s.Audit.AppendAsync(entry, None);
                return;
            }
            await using var uow = await s.Transactions.BeginAsync(None);
            await uow.Audit.AppendAsync(entry, None);
            await uow.CommitAsync(None);
        })));
        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(120));

        var verification = await b.Audit.VerifyAsync(None);
        Assert.True(verification.Valid);
        Assert.Equal(120, verification.EventCount);
        foreach (var side in new[] { 0, 1 })
            Assert.Equal(Enumerable.Range(0, 60), (await a.Audit.ListAsync("org-" + side, [], 0, 500, None))
                .Select(e => e.Detail.GetProperty("i").GetInt32()).Order());
    }

    [Theory, StorageData]
    public async Task OneIdempotencyKeyClaimedFromTwoInstancesAtOnceIsHeldByExactlyOneUpload(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var pop = await a.PopulationAsync(org);

        for (var round = 0; round < 10; round++)
        {
            var key = "key-" + round;
            var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
                (i % 2 == 0 ? a : b).Populations.ClaimIdempotencyKeyAsync(org, key, pop, VersionKind.Snapshot, T0, T0.AddMinutes(5), None))));
            Assert.Single(claims, c => c.Outcome == ClaimOutcome.Claimed);
            Assert.All(claims.Where(c => c.Outcome != ClaimOutcome.Claimed), c => Assert.Equal(ClaimOutcome.InProgress, c.Outcome));
        }
    }

    [Theory, StorageData]
    public async Task DeltasCommittedFromTwoInstancesAtOnceFormOneChainInCommitOrder(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var pop = await a.PopulationAsync(org);
        var snapshot = await PendingAsync(a, pop, VersionKind.Snapshot);
        await a.Populations.CommitAsync(snapshot, 1, T0, null, null, None);
        var deltas = new List<(Stores Instance, string Version)>();
        for (var i = 0; i < 12; i++)
        {
            var instance = i % 2 == 0 ? a : b;
            deltas.Add((instance, await PendingAsync(instance, pop, VersionKind.Delta)));
        }

        var commits = await Task.WhenAll(deltas.Select(d => Task.Run(() => d.Instance.Populations.CommitAsync(d.Version, 1, T0, null, null, None))));

        // Every delta applied, each on the one committed before it: depths 1..12, each base the previous delta.
        Assert.All(commits, Assert.NotNull);
        var byDepth = commits.OrderBy(c => c!.Depth).ToList();
        Assert.Equal(Enumerable.Range(1, 12).Select(d => (long)d), byDepth.Select(c => (long)c!.Depth));
        Assert.Equal(snapshot, byDepth[0]!.BaseVersionId);
        for (var i = 1; i < byDepth.Count; i++) Assert.Equal(byDepth[i - 1]!.Id, byDepth[i]!.BaseVersionId);
        Assert.Equal(byDepth[^1]!.Id, (await b.Populations.GetAsync(org, pop, None))!.CurrentVersionId);
        Assert.Equal(13, (await b.Populations.ReadChainAsync(byDepth[^1]!.Id, None)).Count);
    }

    [Theory, StorageData]
    public async Task TwoInstancesCommittingOnOneExpectedVersionAtOnceApplyOnlyOne(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var pop = await a.PopulationAsync(org);
        var first = await PendingAsync(a, pop, VersionKind.Snapshot);
        await a.Populations.CommitAsync(first, 1, T0, null, null, None);
        var x = await PendingAsync(a, pop, VersionKind.Snapshot);
        var y = await PendingAsync(b, pop, VersionKind.Snapshot);

        var commits = await Task.WhenAll(
            Task.Run(() => a.Populations.CommitAsync(x, 1, T0, null, first, None)),
            Task.Run(() => b.Populations.CommitAsync(y, 1, T0, null, first, None)));

        Assert.Single(commits, c => c is not null);
    }

    [Theory, StorageData]
    public async Task DueWebhookDeliveriesClaimedFromTwoInstancesAtOnceAreEachClaimedOnce(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        await DueDeliveriesAsync(a, 60);

        // Four workers per instance, each claiming small batches (at most two of the organization's under way at once, on
        // either instance) and delivering them, until nothing is due.
        var underWay = 0;
        var mostUnderWay = 0;
        var settled = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var claimed = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var mine = new List<string>();
            var instance = w % 2 == 0 ? a : b;
            while (Volatile.Read(ref settled) < 60 && DateTime.UtcNow < deadline)
            {
                var claim = Guid.NewGuid().ToString("N");
                var due = await instance.Webhooks.ClaimDueAsync(T0.AddSeconds(1), T0.AddMinutes(5), claim, 4, 2, None);
                if (due.Count == 0)
                {
                    await Task.Delay(2);
                    continue;
                }
                var now = Interlocked.Add(ref underWay, due.Count);
                InterlockedMax(ref mostUnderWay, now);
                mine.AddRange(due.Select(d => d.Id));
                foreach (var d in due)
                {
                    Assert.True(await instance.Webhooks.RenewLeaseAsync(d.Id, claim, T0.AddMinutes(6), None));
                    Interlocked.Decrement(ref underWay);
                    Assert.True(await instance.Webhooks.RecordAttemptAsync(new DeliveryAttempt(d.Id, 1, T0.AddSeconds(1), 200, null, 1), claim,
                        new DeliveryUpdate(DeliveryStatus.Delivered, null, T0.AddSeconds(1)), None));
                    Interlocked.Increment(ref settled);
                }
            }
            return mine;
        })));

        var all = claimed.SelectMany(c => c).ToList();
        Assert.Equal(60, all.Count);
        Assert.Equal(60, all.Distinct().Count());
        Assert.True(mostUnderWay <= 2, $"{mostUnderWay} of the organization's deliveries were under way at once");
    }

    /// <summary>An organization with a webhook and <paramref name="count"/> of its deliveries due from T0.</summary>
    [Theory, StorageData]
    public async Task ABacklogOfTensOfThousandsOfDeliveriesStillLetsEveryOrganizationsBeClaimed(string provider)
    {
        // One organization's receiver refused everything for a while: 30,000 deliveries are due. Another has three. The
        // claim (a count of leased deliveries per due row, before) outlived its command timeout at this size, and then
        // nothing was delivered to anyone.
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var backlogged = await a.OrganizationAsync("backlogged");
        var hook = new StoredWebhook(Ids.New("whk"), backlogged, new SealedValue([3], [4], 1), null, ["sync.failed"], new SealedValue([1], [2], 1), T0, "member:m");
        Assert.True(await a.Webhooks.CreateAsync(hook, 20, None));
        using (var connection = a.OpenConnection())
            Assert.Equal(30_000, await connection.ExecuteAsync(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
                INSERT INTO webhook_deliveries (id, webhook_id, organization_id, event_type, payload, payload_nonce, payload_sealed, payload_key_version,
                                                status, attempts, created_at, next_attempt_at)
                SELECT 'msg_bulk_' || i, @hook, @org, 'sync.failed', NULL, @nonce, @sealed, 1, 'pending', 1, @at, @at + i FROM n
                """, new { hook = hook.Id, org = backlogged, nonce = new byte[] { 1 }, @sealed = new byte[] { 2 }, at = T0.ToUnixTimeMilliseconds() }));
        await DueDeliveriesAsync(a, 3);

        var first = await a.Webhooks.ClaimDueAsync(T0.AddMinutes(1), T0.AddMinutes(5), "claim-a", 50, 2, None);

        Assert.Equal(2, first.Count(d => d.Id.StartsWith("msg_bulk_", StringComparison.Ordinal)));
        Assert.Equal(["msg_bulk_1", "msg_bulk_2"], first.Where(d => d.Id.StartsWith("msg_bulk_", StringComparison.Ordinal)).Select(d => d.Id).Order());
        Assert.Equal(4, first.Count);
        // Both organizations have their two under way: another instance claims none of either.
        Assert.Empty(await b.Webhooks.ClaimDueAsync(T0.AddMinutes(1), T0.AddMinutes(5), "claim-b", 50, 2, None));
    }

    private static async Task DueDeliveriesAsync(Stores s, int count)
    {
        var org = await s.OrganizationAsync("acme");
        var hook = new StoredWebhook(Ids.New("whk"), org, new SealedValue([3], [4], 1), null, ["sync.failed"], new SealedValue([1], [2], 1), T0, "member:m");
        Assert.True(await s.Webhooks.CreateAsync(hook, 20, None));
        for (var i = 0; i < count; i++)
        {
            await using var uow = await s.Transactions.BeginAsync(None);
            await uow.Outbox.PublishAsync(org, "sync.failed", T0, (_, _) => Task.FromResult(new SealedValue([1], [2], 1)), None);
            await uow.CommitAsync(None);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, current) == current) return;
    }

    [Theory, StorageData]
    public async Task ADeliveryWhoseLeaseRanOutAndWasClaimedByAnotherInstanceIsNotRenewedForTheFirst(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        await DueDeliveriesAsync(a, 3);

        // Instance a claims the organization's two for a minute; while they are under way instance b claims none of the
        // third (the organization's limit is two, across instances).
        var first = await a.Webhooks.ClaimDueAsync(T0.AddSeconds(1), T0.AddMinutes(1), "claim-a", 50, 2, None);
        Assert.Equal(2, first.Count);
        Assert.Empty(await b.Webhooks.ClaimDueAsync(T0.AddSeconds(2), T0.AddMinutes(1), "claim-b", 50, 2, None));
        Assert.True(await a.Webhooks.RenewLeaseAsync(first[0].Id, "claim-a", T0.AddMinutes(2), None));

        // The second's lease runs out while it waits in a's batch: b claims it (not the third: one of a's is still under way),
        // and a may no longer send it.
        var second = await b.Webhooks.ClaimDueAsync(T0.AddMinutes(1).AddSeconds(1), T0.AddMinutes(3), "claim-b", 50, 2, None);
        Assert.Contains(first[1].Id, second.Select(d => d.Id));
        Assert.DoesNotContain(first[0].Id, second.Select(d => d.Id)); // renewed: still a's
        Assert.False(await a.Webhooks.RenewLeaseAsync(first[1].Id, "claim-a", T0.AddMinutes(2), None));
        Assert.True(await b.Webhooks.RenewLeaseAsync(first[1].Id, "claim-b", T0.AddMinutes(4), None));
    }

    [Theory, StorageData]
    public async Task ReleasesSpendingOneBudgetFromTwoInstancesAtOnceNeverPassIt(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var viewer = await a.OrganizationAsync("acme");
        var owner = await a.OrganizationAsync("globex");
        var partnership = Ids.New("ptn");
        await a.Partnerships.CreateAsync(new Partnership(partnership, viewer, owner, PartnershipStatus.Invited, T0, null, null), None);
        var ownerPopulation = await a.PopulationAsync(owner);
        var viewerPopulations = new List<string>();
        for (var i = 0; i < 16; i++) viewerPopulations.Add(await a.PopulationAsync(viewer, "Customers " + i));
        var cost = new Epsilon(100_000);
        var limit = new Epsilon(500_000); // room for five releases

        // Sixteen cells (so no head decides between them): only the budget stands between them and overspending.
        var outcomes = await Task.WhenAll(viewerPopulations.Select((population, i) => Task.Run(() =>
            (i % 2 == 0 ? a : b).Releases.TryReleaseAsync(
                new StoredRelease(Ids.New("ocr"), partnership, viewer, population, owner, ownerPopulation, "v1", "ver-owner", T0, new CountDraw(10, 10, cost)),
                null, new BudgetSpend(owner, viewer, T0, cost, limit), None))));

        Assert.Equal(5, outcomes.Count(o => o.Status == ReleaseStatus.Released));
        Assert.Equal(11, outcomes.Count(o => o.Status == ReleaseStatus.BudgetExhausted));
        var budget = await b.Releases.GetBudgetAsync(owner, viewer, T0, None);
        Assert.Equal((limit, 5), (budget.Spent, budget.Releases));
        Assert.Equal(5, (await a.Releases.ListAsync(partnership, viewer, null, T0.AddDays(1), None)).Count);
    }

    [Theory, StorageData]
    public async Task OneScheduleLeasedFromTwoInstancesAtOnceRunsOnOne(string provider)
    {
        await using var a = await CreateAsync(provider);
        var b = a.SecondInstance();
        var org = await a.OrganizationAsync("acme");
        var schedule = new Schedule(Ids.New("sch"), org, "nightly", "0 2 * * *", "UTC", true, ScheduleKind.Refresh, null, null, null, null, null, null,
            null, null, T0, "2026-11-30T12:00", null, null, null, null, null, "member:m", T0, T0);
        Assert.Equal(ScheduleWriteOutcome.Done, await a.Schedules.CreateAsync(schedule, 50, None));

        for (var round = 0; round < 8; round++)
        {
            var now = T0.AddDays(round);
            var advance = new ScheduleAdvance(now, now.AddDays(1), "next");
            if (round > 0)
            {
                using var connection = a.OpenConnection();
                await connection.ExecuteAsync("UPDATE schedules SET next_run_at = @at, lease_until = NULL WHERE id = @id",
                    new { at = now.ToUnixTimeMilliseconds(), id = schedule.Id });
            }
            var leases = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() =>
                (i % 2 == 0 ? a : b).Schedules.TryAcquireLeaseAsync(schedule.Id, "instance-" + i, now, now.AddMinutes(5), advance, None))));
            Assert.Single(leases, l => l);
        }
    }
}
