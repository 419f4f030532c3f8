using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// On PostgreSQL, a writer that locks a row only to take turns with other writers of it (an upload's commit and its
/// population, a schedule, webhook or member change and its organization) must not make a transaction that inserts a row
/// referencing it wait: an overlap refresh inserts history points and releases that reference both, while it holds the
/// audit's head, which the writer's own audit event then waits for. With FOR UPDATE (it excludes the KEY SHARE lock a
/// foreign-key check takes) the two waited for each other and PostgreSQL aborted one (SQLSTATE 40P01). SQLite has one
/// writer at a time: nothing to interleave.
/// </summary>
public class RowLockTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>How long an insert that should not wait at all is given (a wait for the holder lasts until it commits).</summary>
    private static readonly TimeSpan NoWait = TimeSpan.FromSeconds(10);

    private sealed record World(Stores Stores, string Me, string Partner, string Partnership, string Mine, string Theirs);

    private static async Task<World> WorldAsync()
    {
        var s = await CreateAsync("postgres");
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var partnership = Ids.New("ptn");
        await s.Partnerships.CreateAsync(new Partnership(partnership, me, partner, PartnershipStatus.Active, T0, T0, null), None);
        return new World(s, me, partner, partnership, await s.PopulationAsync(me), await s.PopulationAsync(partner));
    }

    private static async Task<string> PendingSnapshotAsync(Stores s, string populationId)
    {
        var id = Ids.New("ver");
        await s.Populations.BeginVersionAsync(id, populationId, VersionKind.Snapshot, T0, None, 1);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(id, 0, 3, new SealedValue([7], [7, 7], 1)), T0, None));
        return id;
    }

    /// <summary>Each writer, taking its lock inside <c>uow</c> as the application does before its audit event.</summary>
    public static TheoryData<string> Holders() => new() { "upload commit", "schedule create", "webhook create", "member role change" };

    private static async Task HoldAsync(string holder, World w, IUnitOfWork uow)
    {
        switch (holder)
        {
            case "upload commit":
                var version = await PendingSnapshotAsync(w.Stores, w.Mine);
                Assert.NotNull(await uow.Populations.CommitAsync(version, 3, T0, null, null, None));
                break;
            case "schedule create":
                var schedule = new Schedule(Ids.New("sch"), w.Me, "nightly", "0 2 * * *", "UTC", true, ScheduleKind.Refresh, null, null, null, null, null, null,
                    null, null, T0, "2026-11-30T12:00", null, null, null, null, null, "member:m", T0, T0);
                Assert.Equal(ScheduleWriteOutcome.Done, await uow.Schedules.CreateAsync(schedule, 50, None));
                break;
            case "webhook create":
                Assert.True(await uow.Webhooks.CreateAsync(
                    new StoredWebhook(Ids.New("whk"), w.Me, new SealedValue([3], [4], 1), null, ["sync.failed"], new SealedValue([1], [2], 1), T0, "member:m"), 20, None));
                break;
            case "member role change":
                var member = Member(w.Me, "second@acme.example", Roles.Viewer);
                Assert.True(await w.Stores.Accounts.CreateMemberAsync(member, Forms("second@acme.example"), None));
                Assert.Equal(MemberChangeOutcome.Changed, await uow.Accounts.ChangeMemberRoleAsync(w.Me, member.Id, Roles.Admin, None));
                break;
            default: throw new ArgumentOutOfRangeException(nameof(holder));
        }
    }

    [PostgresTheory, MemberData(nameof(Holders))]
    public async Task AWriterTakingTurnsOnARowDoesNotMakeARefreshReferencingItWaitNorDeadlockWithIt(string holder)
    {
        var w = await WorldAsync();
        await using var _s = w.Stores;

        var writer = await w.Stores.Transactions.BeginAsync(None);
        var writerEnded = false;
        var refresh = await w.Stores.Transactions.BeginAsync(None);
        try
        {
            await HoldAsync(holder, w, writer);

            // The refresh: its first release's audit event (the audit's head is now its own until it commits), then a history
            // point of my population as my organization sees it (foreign keys to both rows the writer may hold).
            await refresh.Audit.AppendAsync(new AuditEntry(T0, w.Me, "system:refresh", "privacy.budget_spent", w.Partnership, new { }), None);
            var point = new HistoryPoint(Ids.New("ohp"), w.Partnership, w.Me, w.Mine, w.Theirs, T0.AddMinutes(1), SharingLevel.Overlaps, 2, 2, null);
            var insert = refresh.History.AppendAsync(point, T0.AddDays(-90), null, None);
            var first = await Task.WhenAny(insert, Task.Delay(NoWait));
            if (first != insert)
            {
                writerEnded = true;
                await writer.DisposeAsync(); // rolls the writer back, which lets the insert go on
                await insert;
                Assert.Fail($"The refresh's insert waited for the {holder}'s lock.");
            }
            Assert.True(await insert);

            // The writer's audit event waits for the refresh's commit, and then commits too: no deadlock.
            var writerAudit = writer.Audit.AppendAsync(new AuditEntry(T0, w.Me, "member:m", "test.writer", null, new { }), None);
            await refresh.CommitAsync(None);
            await writerAudit;
            await writer.CommitAsync(None);
        }
        finally
        {
            await refresh.DisposeAsync();
            if (!writerEnded) await writer.DisposeAsync();
        }

        Assert.Equal(2, (await w.Stores.Audit.VerifyAsync(None)).EventCount);
        Assert.Single(await w.Stores.History.ListAsync(w.Partnership, w.Me, null, T0.AddDays(1), None));
    }

    [PostgresFact]
    public async Task AnEventPublishedWhileItsWebhookIsBeingDeletedSkipsItInsteadOfFailingItsForeignKey()
    {
        var w = await WorldAsync();
        await using var _s = w.Stores;
        var hook = new StoredWebhook(Ids.New("whk"), w.Me, new SealedValue([3], [4], 1), null, ["sync.failed"], new SealedValue([1], [2], 1), T0, "member:m");
        var kept = hook with { Id = Ids.New("whk") };
        Assert.True(await w.Stores.Webhooks.CreateAsync(hook, 20, None));
        Assert.True(await w.Stores.Webhooks.CreateAsync(kept, 20, None));

        await using var delete = await w.Stores.Transactions.BeginAsync(None);
        Assert.True(await delete.Webhooks.DeleteAsync(w.Me, hook.Id, None)); // holds the row until it commits
        await using var publish = await w.Stores.Transactions.BeginAsync(None);
        var published = publish.Outbox.PublishAsync(w.Me, "sync.failed", T0, (_, _) => Task.FromResult(new SealedValue([1], [2], 1)), None);
        await Task.Delay(300); // the publisher has read both webhooks and waits for the deleted one's row
        await delete.CommitAsync(None);

        Assert.Equal(1, await published);
        await publish.CommitAsync(None);
        Assert.Single(await w.Stores.Webhooks.ListDeliveriesAsync(w.Me, kept.Id, null, 10, None));
    }

    [PostgresFact]
    public async Task ARefreshReleasingTwoCellsAndAReadReleasingTheSecondTakeTurnsWithoutADeadlock()
    {
        var w = await WorldAsync();
        await using var _s = w.Stores;
        var second = await w.Stores.PopulationAsync(w.Partner, "Prospects");
        StoredRelease Release(string owner) =>
            new(Ids.New("ocr"), w.Partnership, w.Me, w.Mine, w.Partner, owner, "ver-mine", "ver-theirs", T0, new CountDraw(40, 40, new Epsilon(20_000)));
        var spend = new BudgetSpend(w.Partner, w.Me, T0, new Epsilon(20_000), new Epsilon(1_000_000));

        // The refresh: the first cell released and paid (the pair's budget row is its own until it commits).
        var refresh = await w.Stores.Transactions.BeginAsync(None);
        var read = await w.Stores.Transactions.BeginAsync(None);
        try
        {
            Assert.Equal(ReleaseStatus.Released, (await refresh.Releases.TryReleaseAsync(Release(w.Theirs), null, spend, None)).Status);
            // A matrix read releases the second cell meanwhile, then the refresh releases it too.
            var byRead = read.Releases.TryReleaseAsync(Release(second), null, spend, None);
            await Task.WhenAny(byRead, Task.Delay(300));
            var byRefresh = refresh.Releases.TryReleaseAsync(Release(second), null, spend, None);
            Assert.Same(byRefresh, await Task.WhenAny(byRefresh, Task.Delay(NoWait))); // not waiting for the read
            Assert.Equal(ReleaseStatus.Released, (await byRefresh).Status);
            await refresh.CommitAsync(None);
            // The read, which waited for the budget, finds the cell released by the refresh: shown, not paid twice.
            Assert.Equal(ReleaseStatus.Superseded, (await byRead).Status);
            await read.CommitAsync(None);
        }
        finally
        {
            await read.DisposeAsync();
            await refresh.DisposeAsync();
        }

        var budget = await w.Stores.Releases.GetBudgetAsync(w.Partner, w.Me, T0, None);
        Assert.Equal((new Epsilon(40_000), 2), (budget.Spent, budget.Releases));
    }
}
