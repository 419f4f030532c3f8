using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

public class UnitOfWorkTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static StoredWebhook Hook(string org, params string[] events) =>
        new(Ids.New("whk"), org, new SealedValue([3], [4], 1), null, events, new SealedValue([1], [2], 1), T0, "member:m");

    [Theory, StorageData]
    public async Task AChangeItsAuditEventAndItsOutgoingEventsCommitTogether(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var hook = Hook(me, "partnership.invited");
        await s.Webhooks.CreateAsync(hook, 20, None);
        await s.Webhooks.CreateAsync(Hook(me, "sync.failed"), 20, None);
        var partnership = new Partnership(Ids.New("ptn"), me, partner, PartnershipStatus.Invited, T0, null, null);

        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.True(await uow.Partnerships.CreateAsync(partnership, None));
            await uow.Audit.AppendAsync(new AuditEntry(T0, me, "member:m", "partnership.invited", partnership.Id, new { }), None);
            Assert.Equal(1, await uow.Outbox.PublishAsync(me, "partnership.invited", T0, (_, _) => Task.FromResult(new OverlapEscrow.Application.Keys.SealedValue([1], [2], 1)), None));
            var woken = false;
            uow.AfterCommit(() => woken = true);
            await uow.CommitAsync(None);
            Assert.True(woken);
        }

        Assert.NotNull(await s.Partnerships.GetAsync(me, partnership.Id, None));
        Assert.Equal(1, (await s.Audit.VerifyAsync(None)).EventCount);
        var delivery = Assert.Single(await s.Webhooks.ListDeliveriesAsync(me, hook.Id, null, 10, None));
        Assert.Equal(("partnership.invited", DeliveryStatus.Pending), (delivery.EventType, delivery.Status));
    }

    [Theory, StorageData]
    public async Task AUnitOfWorkLeftWithoutCommittingWritesNothing(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var hook = Hook(me, "partnership.invited");
        await s.Webhooks.CreateAsync(hook, 20, None);
        var partnership = new Partnership(Ids.New("ptn"), me, partner, PartnershipStatus.Invited, T0, null, null);
        var woken = false;

        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            await uow.Partnerships.CreateAsync(partnership, None);
            await uow.Audit.AppendAsync(new AuditEntry(T0, me, "member:m", "partnership.invited", partnership.Id, new { }), None);
            await uow.Outbox.PublishAsync(me, "partnership.invited", T0, (_, _) => Task.FromResult(new OverlapEscrow.Application.Keys.SealedValue([1], [2], 1)), None);
            uow.AfterCommit(() => woken = true);
        }

        Assert.False(woken);
        Assert.Null(await s.Partnerships.GetAsync(me, partnership.Id, None));
        Assert.Equal(0, (await s.Audit.VerifyAsync(None)).EventCount);
        Assert.Empty(await s.Webhooks.ListDeliveriesAsync(me, hook.Id, null, 10, None));
        // The audit head was not moved either: the next append chains from the start.
        await s.Audit.AppendAsync(new AuditEntry(T0, me, "member:m", "x", null, new { }), None);
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
    }

    [Theory, StorageData]
    public async Task AWriteThatDeclinesInsideAUnitOfWorkLeavesNothingOfItselfBehind(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        var version = Ids.New("ver");
        await s.Populations.BeginVersionAsync(version, pop, Domain.Populations.VersionKind.Snapshot, T0, None);
        var claim = await s.Populations.ClaimIdempotencyKeyAsync(me, "k", pop, Domain.Populations.VersionKind.Snapshot, T0, T0.AddSeconds(30), None);

        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            // Completes the key, then finds the population moved on: declines, and must roll back the completion too.
            var committed = await uow.Populations.CommitAsync(version, 0, T0,
                new IdempotencyCompletion(new IdempotencyHold(me, "k", claim.ClaimToken!), new IdempotentResponse(200, "{}")), "ver_other", None);
            Assert.Null(committed);
            await uow.Audit.AppendAsync(new AuditEntry(T0, me, "member:m", "kept", null, new { }), None);
            await uow.CommitAsync(None);
        }

        Assert.Equal(1, (await s.Audit.VerifyAsync(None)).EventCount);
        var again = await s.Populations.ClaimIdempotencyKeyAsync(me, "k", pop, Domain.Populations.VersionKind.Snapshot, T0, T0.AddSeconds(30), None);
        Assert.Equal(ClaimOutcome.InProgress, again.Outcome);
    }

    [Theory, StorageData]
    public async Task AReadSnapshotSeesOneStateAndDoesNotHoldBackWriters(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        await s.PopulationAsync(me, "Customers");

        await using (var read = await s.Transactions.BeginReadAsync(None))
        {
            Assert.Single(await read.Populations.ListAsync(me, None));
            // A writer commits while the snapshot is open: it is not held back by it (no write lock taken)…
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await using (var write = await s.Transactions.BeginAsync(timeout.Token))
            {
                await write.Audit.AppendAsync(new AuditEntry(T0, me, "member:m", "x", null, new { }), timeout.Token);
                await write.CommitAsync(timeout.Token);
            }
            await s.PopulationAsync(me, "Pipeline");
            // …and the snapshot's later reads still see the state of its first.
            Assert.Single(await read.Populations.ListAsync(me, None));
        }

        Assert.Equal(2, (await s.Populations.ListAsync(me, None)).Count);
    }

    [Theory, StorageData]
    public async Task AVersionsColumnsWrittenInItsCommitAreStoredWithItOrNotAtAll(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        VersionPart[] parts = [new(0, new SealedValue([1], [1, 2], 1)), new(1L << 32, new SealedValue([2], [3, 4], 1))];
        async Task<string> PendingAsync()
        {
            var id = Ids.New("ver");
            await s.Populations.BeginVersionAsync(id, pop, Domain.Populations.VersionKind.Snapshot, T0, None);
            Assert.True(await s.Populations.AppendSegmentAsync(new Segment(id, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
            return id;
        }
        var columns = s.VersionColumns;

        var failed = await PendingAsync();
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(failed, 1, T0, null, null, None));
            Assert.True(await uow.VersionColumns.StoreAsync(failed, parts, None));
            // left without committing: a crash or a failure before the commit
        }
        Assert.Empty(await columns.ReadColumnsAsync(failed, None));
        Assert.Null((await s.Populations.GetAsync(me, pop, None))!.CurrentVersionId);

        var committed = await PendingAsync();
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(committed, 1, T0, null, null, None));
            Assert.True(await uow.VersionColumns.StoreAsync(committed, parts, None));
            await uow.CommitAsync(None);
        }
        Assert.Equal([0L, 1L << 32], (await columns.ReadColumnsAsync(committed, None)).Select(p => p.Part));
        // Whoever loads it next finds its parts there and writes none.
        Assert.False(await columns.StoreAsync(committed, parts, None));
    }
    [Theory, StorageData]
    public async Task AnUploadsPartsWrittenWhilePendingCommitWithItsVersionAndGoWithItWhenAbandonedOrSwept(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(me);
        VersionPart Part(long part) => new(part, new SealedValue([(byte)part], [1, 2, 3], 1));
        var block0 = Domain.Matching.VersionColumns.BlockPart(0);
        async Task<string> PendingAsync()
        {
            var id = Ids.New("ver");
            await s.Populations.BeginVersionAsync(id, pop, Domain.Populations.VersionKind.Snapshot, T0, None);
            Assert.True(await s.Populations.AppendSegmentAsync(new Segment(id, 0, 1, new SealedValue([7], [7, 7], 1)), T0, None));
            return id;
        }
        var columns = s.VersionColumns;

        // Abandoned after a failure: its parts go with it.
        var abandoned = await PendingAsync();
        Assert.True(await columns.AppendPendingAsync(abandoned, [Part(block0), Part(block0 + 1)], T0, None));
        await s.Populations.AbandonAsync(abandoned, None);
        Assert.Empty(await columns.ReadBlocksAsync(abandoned, [0, 1], None));
        Assert.False(await columns.AppendPendingAsync(abandoned, [Part(0)], T0, None)); // gone: nothing written

        // Killed mid-upload and swept: the same, and a late write of the dead upload finds nothing to add to.
        var swept = await PendingAsync();
        Assert.True(await columns.AppendPendingAsync(swept, [Part(block0)], T0, None));
        Assert.Equal(1, await s.Populations.DeleteAbandonedAsync(T0.AddMinutes(1), None));
        Assert.Empty(await columns.ReadBlocksAsync(swept, [0], None));
        Assert.False(await columns.AppendPendingAsync(swept, [Part(0)], T0, None));

        // Blocks built anew: only the blocks are removed.
        var committed = await PendingAsync();
        Assert.True(await columns.AppendPendingAsync(committed, [Part(block0), Part(block0 + 1)], T0, None));
        Assert.True(await columns.RemovePendingBlocksAsync(committed, None));
        Assert.Empty(await columns.ReadBlocksAsync(committed, [0, 1], None));
        Assert.True(await columns.AppendPendingAsync(committed, [Part(0), Part(1L << 32), Part(block0)], T0, None));
        await using (var uow = await s.Transactions.BeginAsync(None))
        {
            Assert.NotNull(await uow.Populations.CommitAsync(committed, 1, T0, null, null, None));
            await uow.CommitAsync(None);
        }
        Assert.Equal([0L, 1L << 32], (await columns.ReadColumnsAsync(committed, None)).Select(p => p.Part));
        Assert.Single(await columns.ReadBlocksAsync(committed, [0], None));
        // Committed: immutable, and whoever loads it finds its parts there and writes none.
        Assert.False(await columns.AppendPendingAsync(committed, [Part(2L << 32)], T0, None));
        Assert.False(await columns.RemovePendingBlocksAsync(committed, None));
        Assert.Single(await columns.ReadBlocksAsync(committed, [0], None));
        Assert.False(await columns.StoreAsync(committed, [Part(2L << 32)], None));
        Assert.Equal(2, (await columns.ReadColumnsAsync(committed, None)).Count);
    }
}
