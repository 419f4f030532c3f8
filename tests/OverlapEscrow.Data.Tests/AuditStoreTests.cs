using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

public class AuditStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory, StorageData]
    public async Task ConcurrentAppendsNeverChainFromTheSamePredecessor(string provider)
    {
        await using var s = await CreateAsync(provider);

        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            s.Audit.AppendAsync(new AuditEntry(T0, "org-" + (i % 3), "member:m", "test.appended", null, new { i }), None))));

        var verification = await s.Audit.VerifyAsync(None);
        Assert.True(verification.Valid);
        Assert.Equal(24, verification.EventCount);
        var events = new List<AuditEvent>();
        foreach (var org in new[] { "org-0", "org-1", "org-2" }) events.AddRange(await s.Audit.ListAsync(org, [], 0, 100, None));
        Assert.Equal(Enumerable.Range(1, 24).Select(i => (long)i), events.Select(e => e.Seq).Order());
        Assert.Equal(verification.HeadHash, events.MaxBy(e => e.Seq)!.Hash);
    }

    [Theory, StorageData]
    public async Task APartnersEventsAreListedOnlyForTheNamedActionsOfASharedPartnership(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var stranger = await s.OrganizationAsync("initech");
        var partnership = Ids.New("ptn");
        await s.Partnerships.CreateAsync(new Partnership(partnership, partner, me, PartnershipStatus.Invited, T0, null, null), None);
        await s.Audit.AppendAsync(new AuditEntry(T0, partner, "member:p", "overlaps.released", partnership, new { rows = 3 }), None);
        await s.Audit.AppendAsync(new AuditEntry(T0, partner, "member:p", "population.uploaded", null, new { rows = 3 }), None);
        await s.Audit.AppendAsync(new AuditEntry(T0, partner, "member:p", "overlaps.released", Ids.New("ptn"), new { rows = 3 }), None);
        await s.Audit.AppendAsync(new AuditEntry(T0, stranger, "member:s", "overlaps.released", null, new { rows = 9 }), None);

        var listed = await s.Audit.ListAsync(me, ["overlaps.released"], 0, 100, None);
        var strangers = await s.Audit.ListAsync(stranger, ["overlaps.released"], 0, 100, None);

        var e = Assert.Single(listed);
        Assert.Equal((partner, "overlaps.released", partnership), (e.OrganizationId, e.Action, e.PartnershipId));
        Assert.Equal(3, e.Detail.GetProperty("rows").GetInt32());
        Assert.All(strangers, x => Assert.Equal(stranger, x.OrganizationId));
    }
}
