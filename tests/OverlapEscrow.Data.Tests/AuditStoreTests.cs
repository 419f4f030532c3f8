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

    [Theory, StorageData]
    public async Task RecentReadsWalkBackwardsAcrossChunksWithinTheWindowPastASkewedClockAndStopAtTheCap(string provider)
    {
        await using var s = await CreateAsync(provider);
        Task Append(DateTimeOffset at, string org, string action, string? partnership) =>
            s.Audit.AppendAsync(new AuditEntry(at, org, "member:m", action, partnership, new { }), None);
        var minutes = (double m) => T0.AddMinutes(m);

        await Append(minutes(-30), "org-z", "overlaps.matrix_read", "ptn-old");   // long before the window: the walk ends here
        await Append(minutes(-6), "org-c", "overlaps.released", "ptn-4");
        // More events than two of the walk's chunks (2,000), between the newest reads and the older one.
        await Task.WhenAll(Enumerable.Range(0, 4_500).Select(i => Task.Run(() => Append(minutes(-5), "org-f", "test.filler", null))));
        await Append(minutes(-4), "org-d", "overlaps.matrix_read", "ptn-5");
        await Append(minutes(-10.5), "org-e", "overlaps.matrix_read", "ptn-6");  // an instance whose clock is behind: skipped, not the end
        await Append(minutes(-1), "org-b", "overlaps.released", "ptn-2");
        await Append(minutes(0), "org-a", "overlaps.history_read", "ptn-1");     // not one of the actions asked for
        await Append(minutes(0), "org-a", "overlaps.matrix_read", "ptn-1");
        await Append(minutes(0), "org-a", "overlaps.matrix_read", "ptn-1");      // once per (organization, partnership)

        string[] actions = ["overlaps.matrix_read", "overlaps.released"];
        var all = await s.Audit.RecentReadsAsync(actions, minutes(-10), 200_000, None);
        Assert.Equal([("org-a", "ptn-1"), ("org-b", "ptn-2"), ("org-d", "ptn-5"), ("org-c", "ptn-4")], all);

        // At most 1,000 events looked at: the newest reads, not the one behind the fillers.
        var capped = await s.Audit.RecentReadsAsync(actions, minutes(-10), 1_000, None);
        Assert.Equal([("org-a", "ptn-1"), ("org-b", "ptn-2"), ("org-d", "ptn-5")], capped);

        // A window that starts after every read: nothing.
        Assert.Empty(await s.Audit.RecentReadsAsync(actions, minutes(1), 200_000, None));
    }
}
