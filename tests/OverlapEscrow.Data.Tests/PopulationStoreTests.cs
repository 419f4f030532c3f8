using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Populations;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

public class PopulationStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static SealedValue Sealed(byte b) => new([b], [b, b], 1);

    /// <summary>Writes a pending version with one segment of <paramref name="records"/> records and returns its id.</summary>
    private static async Task<string> PendingAsync(Stores s, string populationId, VersionKind kind, int records = 3, int hashingSpec = 1)
    {
        var id = Ids.New("ver");
        await s.Populations.BeginVersionAsync(id, populationId, kind, T0, None, hashingSpec);
        Assert.True(await s.Populations.AppendSegmentAsync(new Segment(id, 0, records, Sealed(7)), T0, None));
        return id;
    }

    [Theory, StorageData]
    public async Task ASnapshotReplacesThePreviousVersionWhollyAndDeletesIt(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var first = await PendingAsync(s, pop, VersionKind.Snapshot);
        await s.Populations.CommitAsync(first, 3, T0, null, null, None);
        var second = await PendingAsync(s, pop, VersionKind.Snapshot, records: 5);

        // Until the commit the previous version stays current.
        Assert.Equal(first, (await s.Populations.GetAsync(org, pop, None))!.CurrentVersionId);
        var committed = await s.Populations.CommitAsync(second, 5, T0.AddMinutes(1), null, null, None);

        Assert.Equal(VersionStatus.Committed, committed!.Status);
        var summary = (await s.Populations.GetAsync(org, pop, None))!;
        Assert.Equal((second, 5L, T0.AddMinutes(1)), (summary.CurrentVersionId, summary.RecordCount, summary.UpdatedAt!.Value));
        Assert.Empty(await s.Populations.ReadChainAsync(first, None));
        var chain = Assert.Single(await s.Populations.ReadChainAsync(second, None));
        Assert.Equal(Sealed(7).Ciphertext, Assert.Single(chain.Segments).Data.Ciphertext);
        Assert.Equal(1, chain.Segments[0].Data.KeyVersion);
    }

    [Theory, StorageData]
    public async Task APopulationCarriesTheHashingSpecOfItsCurrentVersionAndALayeredVersionTheLowestOfItsLayers(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        Assert.Null((await s.Populations.GetAsync(org, pop, None))!.HashingSpec);

        await s.Populations.CommitAsync(await PendingAsync(s, pop, VersionKind.Snapshot, hashingSpec: 2), 3, T0, null, null, None);
        Assert.Equal(2, (await s.Populations.GetAsync(org, pop, None))!.HashingSpec);
        await s.Populations.CommitAsync(await PendingAsync(s, pop, VersionKind.Delta, hashingSpec: 2), 3, T0, null, null, None);
        Assert.Equal(2, (await s.Populations.GetAsync(org, pop, None))!.HashingSpec);
        // A delta from an older client makes the whole population's data as old as its oldest layer…
        await s.Populations.CommitAsync(await PendingAsync(s, pop, VersionKind.Delta, hashingSpec: 1), 3, T0, null, null, None);
        Assert.Equal(1, (await s.Populations.GetAsync(org, pop, None))!.HashingSpec);
        // …and a newer delta on it does not lift it; only a snapshot does.
        await s.Populations.CommitAsync(await PendingAsync(s, pop, VersionKind.Delta, hashingSpec: 2), 3, T0, null, null, None);
        Assert.Equal(1, (await s.Populations.GetAsync(org, pop, None))!.HashingSpec);
        await s.Populations.CommitAsync(await PendingAsync(s, pop, VersionKind.Snapshot, hashingSpec: 2), 3, T0, null, null, None);
        Assert.Equal(2, (await s.Populations.GetAsync(org, pop, None))!.HashingSpec);
    }

    [Theory, StorageData]
    public async Task TwoDeltasCommittingOnTheSameBaseApplyOneAfterTheOther(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var snapshot = await PendingAsync(s, pop, VersionKind.Snapshot);
        await s.Populations.CommitAsync(snapshot, 3, T0, null, null, None);
        var a = await PendingAsync(s, pop, VersionKind.Delta);
        var b = await PendingAsync(s, pop, VersionKind.Delta);

        var commits = await Task.WhenAll(
            Task.Run(() => s.Populations.CommitAsync(a, 0, T0, null, null, None)),
            Task.Run(() => s.Populations.CommitAsync(b, 0, T0, null, null, None)));

        // Both apply, in commit order: one is based on the snapshot, the other on that one; nothing is lost.
        var first = commits.Single(v => v!.BaseVersionId == snapshot)!;
        var second = commits.Single(v => v!.Id != first.Id)!;
        Assert.Equal((1, 2), (first.Depth, second.Depth));
        Assert.Equal(first.Id, second.BaseVersionId);
        Assert.Equal(second.Id, (await s.Populations.GetAsync(org, pop, None))!.CurrentVersionId);
        Assert.Equal(3, (await s.Populations.ReadChainAsync(second.Id, None)).Count);
    }

    [Theory, StorageData]
    public async Task TwoClaimsOfOneIdempotencyKeyAtOnceGiveItToOneUpload(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            s.Populations.ClaimIdempotencyKeyAsync(org, "key-1", pop, VersionKind.Snapshot, T0, T0.AddSeconds(30), None))));

        Assert.Single(claims, c => c.Outcome == ClaimOutcome.Claimed);
        Assert.All(claims.Where(c => c.Outcome != ClaimOutcome.Claimed), c => Assert.Equal(ClaimOutcome.InProgress, c.Outcome));
    }

    [Theory, StorageData]
    public async Task AnExpiredLeaseIsTakenOverAndTheFormerHolderCanNoLongerCommit(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var first = await s.Populations.ClaimIdempotencyKeyAsync(org, "k", pop, VersionKind.Snapshot, T0, T0.AddSeconds(30), None);
        var stalled = await PendingAsync(s, pop, VersionKind.Snapshot);

        var retry = await s.Populations.ClaimIdempotencyKeyAsync(org, "k", pop, VersionKind.Snapshot, T0.AddSeconds(31), T0.AddSeconds(61), None);

        Assert.Equal(ClaimOutcome.Claimed, retry.Outcome);
        Assert.NotEqual(first.ClaimToken, retry.ClaimToken);
        var late = await s.Populations.CommitAsync(stalled, 3, T0, new IdempotencyCompletion(new IdempotencyHold(org, "k", first.ClaimToken!), new IdempotentResponse(200, "{}")), null, None);
        Assert.Null(late);
        Assert.Null((await s.Populations.GetAsync(org, pop, None))!.CurrentVersionId);
        Assert.False(await s.Populations.RenewIdempotencyLeaseAsync(new IdempotencyHold(org, "k", first.ClaimToken!), T0.AddMinutes(5), None));
    }

    [Theory, StorageData]
    public async Task ACompletedKeyReplaysItsResponseAndAKeyIsNeverSharedBetweenOrganizations(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var other = await s.OrganizationAsync("globex");
        var pop = await s.PopulationAsync(org);
        var otherPop = await s.PopulationAsync(other);
        var claim = await s.Populations.ClaimIdempotencyKeyAsync(org, "k", pop, VersionKind.Snapshot, T0, T0.AddSeconds(30), None);
        var version = await PendingAsync(s, pop, VersionKind.Snapshot);
        await s.Populations.CommitAsync(version, 3, T0, new IdempotencyCompletion(new IdempotencyHold(org, "k", claim.ClaimToken!), new IdempotentResponse(200, "{\"a\":1}")), null, None);

        var replay = await s.Populations.ClaimIdempotencyKeyAsync(org, "k", pop, VersionKind.Snapshot, T0.AddHours(1), T0.AddHours(2), None);
        var otherOrganization = await s.Populations.ClaimIdempotencyKeyAsync(other, "k", otherPop, VersionKind.Snapshot, T0, T0.AddSeconds(30), None);
        var otherMode = await s.Populations.ClaimIdempotencyKeyAsync(org, "k", pop, VersionKind.Delta, T0, T0.AddSeconds(30), None);

        Assert.Equal((ClaimOutcome.Completed, 200, "{\"a\":1}"), (replay.Outcome, replay.Response!.StatusCode, replay.Response.Body));
        Assert.Equal(ClaimOutcome.Claimed, otherOrganization.Outcome);
        Assert.Equal(ClaimOutcome.Mismatch, otherMode.Outcome);
    }

    [Theory, StorageData]
    public async Task AbandonedPendingVersionsAreSweptAndCommittedOnesAreNot(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var committed = await PendingAsync(s, pop, VersionKind.Snapshot);
        await s.Populations.CommitAsync(committed, 3, T0, null, null, None);
        var crashed = await PendingAsync(s, pop, VersionKind.Snapshot);

        Assert.Equal(1, await s.Populations.DeleteAbandonedAsync(T0.AddMinutes(1), None));
        Assert.False(await s.Populations.AppendSegmentAsync(new Segment(crashed, 1, 1, Sealed(1)), T0, None));
        Assert.Single(await s.Populations.ReadChainAsync(committed, None));
    }

    [Theory, StorageData]
    public async Task SegmentsAppendedTogetherFromSlicesOfOneBufferAreStoredInOrderWithTheirCounts(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var id = Ids.New("ver");
        await s.Populations.BeginVersionAsync(id, pop, VersionKind.Snapshot, T0, None);
        var buffer = new byte[] { 9, 1, 2, 3, 9, 4, 5, 9 };
        Assert.True(await s.Populations.AppendSegmentsAsync(id,
            [new PendingSegment(0, 3, new SealedMemory([1], buffer.AsMemory(1, 3), 1)), new PendingSegment(1, 5, new SealedMemory([2], buffer.AsMemory(5, 2), 1))], T0, None));
        Assert.True(await s.Populations.AppendSegmentsAsync(id, [new PendingSegment(2, 4, new SealedMemory([3], buffer.AsMemory(0, 1), 1))], T0, None));
        await s.Populations.CommitAsync(id, 12, T0, null, null, None);

        var chain = Assert.Single(await s.Populations.ReadChainAsync(id, None));
        Assert.Equal((3L, 12L), (chain.Version.SegmentCount, chain.Version.ChangeCount));
        Assert.Equal(new long[] { 0, 1, 2 }, chain.Segments.Select(g => g.Seq));
        Assert.Equal(new[] { 3, 5, 4 }, chain.Segments.Select(g => g.RecordCount));
        Assert.Equal(new byte[][] { [1, 2, 3], [4, 5], [9] }, chain.Segments.Select(g => g.Data.Ciphertext));
        Assert.Equal(new byte[][] { [1], [2], [3] }, chain.Segments.Select(g => g.Data.Nonce));
    }

    [Theory, StorageData]
    public async Task SegmentsAppendedTogetherToAVersionNoLongerPendingAreNoneOfThemStored(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var pop = await s.PopulationAsync(org);
        var crashed = await PendingAsync(s, pop, VersionKind.Snapshot);
        Assert.Equal(1, await s.Populations.DeleteAbandonedAsync(T0.AddMinutes(1), None));

        Assert.False(await s.Populations.AppendSegmentsAsync(crashed,
            [new PendingSegment(1, 1, new SealedMemory([1], new byte[] { 1 }, 1)), new PendingSegment(2, 1, new SealedMemory([2], new byte[] { 2 }, 1))], T0, None));
        Assert.Empty(await s.Populations.ReadChainAsync(crashed, None));
    }

    [Theory, StorageData]
    public async Task AnotherOrganizationsPopulationIsNotFoundWhateverItsId(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var other = await s.OrganizationAsync("globex");
        var pop = await s.PopulationAsync(org);

        Assert.Null(await s.Populations.GetAsync(other, pop, None));
        Assert.Empty(await s.Populations.ListAsync(other, None));
        Assert.Single(await s.Populations.ListAsync(org, None));
    }
}
