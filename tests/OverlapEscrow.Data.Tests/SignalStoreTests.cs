using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>The data requests and the attribution ledger: one open request per cell, one claim per opportunity and partner, one answer each, two sides only.</summary>
public class SignalStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(Stores S, string Me, string Them, string Stranger, string Partnership, string Mine, string Theirs)> SetUpAsync(string provider)
    {
        var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var them = await s.OrganizationAsync("globex");
        var stranger = await s.OrganizationAsync("initech");
        var partnership = new Partnership(Ids.New("ptn"), me, them, PartnershipStatus.Active, T0, T0, null);
        await s.Partnerships.CreateAsync(partnership, None);
        return (s, me, them, stranger, partnership.Id, await s.PopulationAsync(me, "Pipeline"), await s.PopulationAsync(them, "Customers"));
    }

    [Theory, StorageData]
    public async Task ConcurrentRequestsOnOneCellOpenOneAndConcurrentAnswersCloseItOnce(string provider)
    {
        var (s, me, them, stranger, partnership, mine, theirs) = await SetUpAsync(provider);
        await using var _ = s;
        DataRequest Request() => new(Ids.New("drq"), partnership, me, them, mine, theirs, "please", DataRequestStatus.Open, T0, "member:m", null, null, null, [], null);

        var created = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() => s.DataRequests.CreateAsync(Request(), None))));
        Assert.Single(created, c => c);
        var open = Assert.Single(await s.DataRequests.ListAsync(me, null, 10, None));
        Assert.Equal(1, await s.DataRequests.CountMadeSinceAsync(me, partnership, T0, None));
        Assert.Null(await s.DataRequests.GetAsync(stranger, open.Id, None));
        Assert.NotNull(await s.DataRequests.GetAsync(them, open.Id, None));

        var answered = open with { Status = DataRequestStatus.Answered, ResolvedAt = T0, ResolvedBy = "member:o", AnsweredLevel = SharingLevel.Overlaps, AnsweredFields = ["owner"] };
        var resolved = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => s.DataRequests.ResolveAsync(answered, None))));
        Assert.Single(resolved, r => r);
        var read = (await s.DataRequests.GetAsync(me, open.Id, None))!;
        Assert.Equal((DataRequestStatus.Answered, SharingLevel.Overlaps), (read.Status, read.AnsweredLevel));
        Assert.Equal(["owner"], read.AnsweredFields);
        // Closed, the cell takes a new request.
        Assert.True(await s.DataRequests.CreateAsync(Request(), None));
    }

    [Theory, StorageData]
    public async Task AnOpportunityHasOneClaimPerPartnerAnsweredOnceAndReadByItsTwoSidesOnly(string provider)
    {
        var (s, me, them, stranger, partnership, mine, theirs) = await SetUpAsync(provider);
        await using var _ = s;
        AttributionEvidence[] evidence = [new(theirs, "Customers", [new TimeSpanUtc(T0.AddDays(-10), T0)])];
        AttributionClaim Claim(AttributionRole role) => new(Ids.New("att"), partnership, me, them, mine, "O-1", role, AttributionStatus.Claimed, evidence, null,
            T0, "member:m", null, null, null);

        var created = await Task.WhenAll(new[] { AttributionRole.Sourced, AttributionRole.Influenced }.Select(r => Task.Run(() => s.Attributions.CreateAsync(Claim(r), None))));
        Assert.Single(created, c => c);
        var claim = Assert.Single(await s.Attributions.ListAsync(them, partnership, 10, None));
        Assert.Equal(evidence[0].Spans, claim.Evidence[0].Spans);
        Assert.Null(await s.Attributions.GetAsync(stranger, claim.Id, None));
        Assert.Empty(await s.Attributions.ListAsync(stranger, null, 10, None));

        var confirmed = claim with { Status = AttributionStatus.Confirmed, RespondedAt = T0, RespondedBy = "member:o" };
        var disputed = claim with { Status = AttributionStatus.Disputed, RespondedAt = T0, RespondedBy = "member:o" };
        var answers = await Task.WhenAll(Task.Run(() => s.Attributions.RespondAsync(confirmed, None)), Task.Run(() => s.Attributions.RespondAsync(disputed, None)));
        Assert.Single(answers, a => a);
        Assert.NotEqual(AttributionStatus.Claimed, (await s.Attributions.GetAsync(me, claim.Id, None))!.Status);
    }
}
