using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>Every lookup a request can steer by id matches the caller's organization in the query.</summary>
public class TenantScopingTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory, StorageData]
    public async Task IdsOfAnotherOrganizationFindNothing(string provider)
    {
        await using var s = await CreateAsync(provider);
        var owner = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var stranger = await s.OrganizationAsync("initech");
        var partnership = new Partnership(Ids.New("ptn"), owner, partner, PartnershipStatus.Invited, T0, null, null);
        await s.Partnerships.CreateAsync(partnership, None);
        var hook = new StoredWebhook(Ids.New("whk"), owner, new SealedValue([3], [4], 1), null, ["sync.failed"], new SealedValue([1], [2], 1), T0, "member:m");
        await s.Webhooks.CreateAsync(hook, 20, None);
        var schedule = new Schedule(Ids.New("sch"), owner, "nightly", "0 2 * * *", "UTC", true, ScheduleKind.Refresh, null, null, null, null, null, null,
            null, null, T0, "2026-12-01T02:00", null, null, null, null, null, "member:m", T0, T0);
        Assert.Equal(ScheduleWriteOutcome.Done, await s.Schedules.CreateAsync(schedule, 50, None));
        var key = new Domain.Accounts.ApiKey(Ids.New("key"), owner, "k", [1], ["overlaps:read"], T0, "member:m", null, null);
        await s.Accounts.CreateApiKeyAsync(key, None);

        Assert.Null(await s.Partnerships.GetAsync(stranger, partnership.Id, None));
        Assert.NotNull(await s.Partnerships.GetAsync(partner, partnership.Id, None));
        Assert.Null(await s.Webhooks.GetAsync(partner, hook.Id, None));
        Assert.False(await s.Webhooks.DeleteAsync(partner, hook.Id, None));
        Assert.Null(await s.Schedules.GetAsync(partner, schedule.Id, None));
        Assert.Null(await s.Schedules.QueueRunAsync(partner, schedule.Id, Ids.New("run"), T0, None));
        Assert.Equal(ScheduleWriteOutcome.NotFound, await s.Schedules.DeleteAsync(partner, schedule.Id, T0, None));
        Assert.Null(await s.Accounts.GetApiKeyAsync(partner, key.Id, None));
        Assert.False(await s.Accounts.RevokeApiKeyAsync(partner, key.Id, T0, None));
        Assert.Null((await s.Accounts.FindApiKeyAsync(key.Id, None))!.RevokedAt);
    }

    [Theory, StorageData]
    public async Task ARefreshTokenIsConsumedOnceEvenByConcurrentRequests(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var member = (await s.Accounts.ListMembersAsync(org, None))[0];
        byte[] hash = [1, 2, 3, 4];
        await s.Accounts.StartSessionAsync("session-1", member.Id, T0, None);
        await s.Accounts.StoreSessionRefreshTokenAsync(hash, member.Id, "session-1", T0.AddDays(30), None);

        var uses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => s.Accounts.UseRefreshTokenAsync(hash, T0, None))));

        var used = Assert.Single(uses, u => u.Outcome == RefreshUseOutcome.Used);
        Assert.Equal((member.Id, "session-1"), (used.MemberId, used.SessionId));
        // Every other use is a replay of a used token, which ends the session (the whole token family).
        Assert.All(uses.Where(u => u != used), u => Assert.Equal(RefreshUseOutcome.Reused, u.Outcome));
        Assert.False(await s.Accounts.SessionOpenAsync(member.Id, "session-1", None));
        Assert.Equal(RefreshUseOutcome.Invalid, (await s.Accounts.UseRefreshTokenAsync([9, 9], T0, None)).Outcome);
    }

    [Theory, StorageData]
    public async Task AnOrganizationsDataKeyIsNeverStoredInTheDatabase(string provider)
    {
        // Crypto-shredding depends on it: a database backup must hold nothing that unwraps the organization's data.
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");

        Assert.Null(await s.Accounts.GetWrappedKeyAsync(org, None));
        Assert.Empty(await s.Accounts.ListLegacyKeysAsync(None));
    }
}
