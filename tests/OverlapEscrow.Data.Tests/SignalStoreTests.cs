using System.Security.Cryptography;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The data requests and the attribution ledger: one open request per cell, one answer each, two sides only; their texts
/// stored only as the sealed values handed in; lists paged newest first with nothing dropped or repeated.
/// </summary>
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

    /// <summary>A stand-in for a sealed value: the store keeps and returns its bytes and key version as given.</summary>
    private static SealedValue Seal(int keyVersion = 1) => new(RandomNumberGenerator.GetBytes(12), RandomNumberGenerator.GetBytes(40), keyVersion);

    [Theory, StorageData]
    public async Task ConcurrentRequestsOnOneCellOpenOneAndConcurrentAnswersCloseItOnce(string provider)
    {
        var (s, me, them, stranger, partnership, mine, theirs) = await SetUpAsync(provider);
        await using var _ = s;
        DataRequest Request() => new(Ids.New("drq"), partnership, me, them, mine, theirs, "please", DataRequestStatus.Open, T0, "member:m", null, null, null, [], null);

        var message = Seal(3);
        var created = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() => s.DataRequests.CreateAsync(Request(), message, None))));
        Assert.Single(created, c => c);
        var open = Assert.Single(await s.DataRequests.ListAsync(me, null, null, 10, None));
        // Only the sealed message is stored: the plaintext column is empty.
        Assert.Equal("", open.Request.Message);
        Assert.Equal(message.Nonce, open.Message!.Nonce);
        Assert.Equal(message.Ciphertext, open.Message.Ciphertext);
        Assert.Equal(3, open.Message.KeyVersion);
        Assert.Equal(1, await s.DataRequests.CountMadeSinceAsync(me, partnership, T0, None));
        Assert.Null(await s.DataRequests.GetAsync(stranger, open.Request.Id, None));
        Assert.NotNull(await s.DataRequests.GetAsync(them, open.Request.Id, None));

        var answered = open.Request with { Status = DataRequestStatus.Answered, ResolvedAt = T0, ResolvedBy = "member:o", AnsweredLevel = SharingLevel.Overlaps, AnsweredFields = ["owner"] };
        var reason = Seal();
        var resolved = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => s.DataRequests.ResolveAsync(answered, reason, None))));
        Assert.Single(resolved, r => r);
        var read = (await s.DataRequests.GetAsync(me, open.Request.Id, None))!;
        Assert.Equal((DataRequestStatus.Answered, SharingLevel.Overlaps), (read.Request.Status, read.Request.AnsweredLevel));
        Assert.Equal(["owner"], read.Request.AnsweredFields);
        Assert.Equal(reason.Ciphertext, read.Reason!.Ciphertext);
        Assert.Null(read.Request.Reason);
        // Closed, the cell takes a new request.
        Assert.True(await s.DataRequests.CreateAsync(Request(), Seal(), None));
    }

    [Theory, StorageData]
    public async Task AClaimIsAnsweredOnceAndReadByItsTwoSidesOnlyWithItsTextsSealed(string provider)
    {
        var (s, me, them, stranger, partnership, mine, _) = await SetUpAsync(provider);
        await using var _ = s;
        var claim = new AttributionClaim(Ids.New("att"), partnership, me, them, mine, "O-1", AttributionRole.Sourced, AttributionStatus.Claimed, [], "a note",
            T0, "member:m", null, null, null);
        var text = Seal(2);
        await s.Attributions.CreateAsync(claim, text, None);

        var stored = Assert.Single((await s.Attributions.ListAsync(them, partnership, null, 10, None)));
        // Neither the record id nor the note is stored in plaintext.
        Assert.Equal(("", null), (stored.Claim.RecordId, stored.Claim.Note));
        Assert.Equal(text.Ciphertext, stored.ClaimText!.Ciphertext);
        Assert.Equal(2, stored.ClaimText.KeyVersion);
        Assert.Null(await s.Attributions.GetAsync(stranger, claim.Id, None));
        Assert.Empty(await s.Attributions.ListAsync(stranger, null, null, 10, None));
        Assert.Single(await s.Attributions.ListMadeAsync(me, mine, partnership, None));
        Assert.Empty(await s.Attributions.ListMadeAsync(them, null, null, None));

        var confirmed = claim with { Status = AttributionStatus.Confirmed, RespondedAt = T0, RespondedBy = "member:o" };
        var disputed = claim with { Status = AttributionStatus.Disputed, RespondedAt = T0, RespondedBy = "member:o" };
        var answers = await Task.WhenAll(Task.Run(() => s.Attributions.RespondAsync(confirmed, Seal(), None)), Task.Run(() => s.Attributions.RespondAsync(disputed, null, None)));
        Assert.Single(answers, a => a);
        var answered = (await s.Attributions.GetAsync(me, claim.Id, None))!;
        Assert.NotEqual(AttributionStatus.Claimed, answered.Claim.Status);
        Assert.Null(answered.Claim.ResponseNote);
    }

    [Theory, StorageData]
    public async Task ListsAboveTheOldCapsArePagedNewestFirstWithNothingDroppedOrRepeated(string provider)
    {
        var (s, me, them, _, partnership, mine, theirs) = await SetUpAsync(provider);
        await using var _ = s;
        // 250 requests (the list stopped at 200) and 1050 claims (the ledger stopped at 1000), many created at the same
        // millisecond: the id breaks the tie, so a page boundary inside a millisecond neither drops nor repeats a row.
        var requestIds = new List<string>();
        for (var i = 0; i < 250; i++)
        {
            var request = new DataRequest(Ids.New("drq"), partnership, me, them, mine, theirs, "", DataRequestStatus.Open, T0.AddMilliseconds(i / 7), "member:m",
                null, null, null, [], null);
            Assert.True(await s.DataRequests.CreateAsync(request, Seal(), None));
            Assert.True(await s.DataRequests.ResolveAsync(request with { Status = DataRequestStatus.Declined, ResolvedAt = T0 }, null, None));
            requestIds.Add(request.Id);
        }
        var claimIds = new List<string>();
        for (var i = 0; i < 1050; i++)
        {
            var claim = new AttributionClaim(Ids.New("att"), partnership, me, them, mine, "", AttributionRole.Influenced, AttributionStatus.Claimed, [], null,
                T0.AddMilliseconds(i / 10), "member:m", null, null, null);
            await s.Attributions.CreateAsync(claim, Seal(), None);
            claimIds.Add(claim.Id);
        }

        var requests = await PagesAsync(async after => (await s.DataRequests.ListAsync(them, null, after, 100, None)).Select(r => (r.Request.CreatedAt, r.Request.Id)).ToList());
        Assert.Equal(requestIds.Order(StringComparer.Ordinal), requests.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(requests.OrderByDescending(r => r.At).ThenByDescending(r => r.Id, StringComparer.Ordinal), requests);
        var claims = await PagesAsync(async after => (await s.Attributions.ListAsync(me, partnership, after, 300, None)).Select(c => (c.Claim.CreatedAt, c.Claim.Id)).ToList());
        Assert.Equal(claimIds.Order(StringComparer.Ordinal), claims.Select(c => c.Id).Order(StringComparer.Ordinal));
        Assert.Equal(1050, (await s.Attributions.ListMadeAsync(me, mine, null, None)).Count);
    }

    private static async Task<List<(DateTimeOffset At, string Id)>> PagesAsync(Func<ListPosition?, Task<List<(DateTimeOffset At, string Id)>>> page)
    {
        var all = new List<(DateTimeOffset, string)>();
        ListPosition? after = null;
        while (true)
        {
            var items = await page(after);
            if (items.Count == 0) return all;
            all.AddRange(items);
            after = new ListPosition(items[^1].At, items[^1].Id);
        }
    }
}
