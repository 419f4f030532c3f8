using System.Net;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A delta's record count is known only once it is applied to its base, after the commit. When that fails (a snapshot
/// that commits right after it replaces its chain, a read that fails), the delta is still applied and answered 200, and
/// its count is unknown: left out, not 0, which a client would print as "0 records" (trial 8).
/// </summary>
public sealed class DeltaCountTests
{
    /// <summary>Passes every call on; once armed, every read of stored columns fails.</summary>
    private sealed class FailingReads(IVersionColumnStore inner) : VersionColumnStoreDecorator(inner)
    {
        public volatile bool Armed;

        private void Check()
        {
            if (Armed) throw new IOException("Simulated failure to read a version's columns.");
        }

        public override Task<IReadOnlyList<VersionPart>> ReadColumnsAsync(string versionId, CancellationToken ct)
        {
            Check();
            return Inner.ReadColumnsAsync(versionId, ct);
        }

        public override Task<int> ReadColumnsAsync(string versionId, SealedPartReader read, CancellationToken ct)
        {
            Check();
            return Inner.ReadColumnsAsync(versionId, read, ct);
        }

        public override Task<int> ReadColumnsUnmappedAsync(string versionId, SealedPartReader read, CancellationToken ct)
        {
            Check();
            return Inner.ReadColumnsUnmappedAsync(versionId, read, ct);
        }
    }

    [Fact]
    public async Task ADeltaWhoseCountFailsAfterItsCommitIsAnsweredWithAnUnknownCountNotZero()
    {
        FailingReads? columns = null;
        using var app = new EscrowApp
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => columns = new FailingReads(store)),
        };
        var org = await app.SignupAsync("counting");
        var population = await org.CreatePopulationAsync("Customers");
        var snapshot = await org.UploadOkAsync(population, Records.Range("S", 0, 20));
        Assert.Equal(20, snapshot["recordCount"]!.GetValue<long>());

        // A delta counted as usual first: its count is the population's size after it.
        var counted = await org.UploadOkAsync(population, Records.Range("S", 20, 5), delta: true);
        Assert.Equal(25, counted["recordCount"]!.GetValue<long>());

        columns!.Armed = true;
        var response = await org.Http.UploadAsync(population, Records.Range("S", 25, 5), delta: true);
        columns.Armed = false;

        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);
        Assert.False(result.AsObject().ContainsKey("recordCount"));
        Assert.Equal(5, result["recordsApplied"]!.GetValue<long>());
        // Applied all the same: the next delta, counted, finds its 5 records there.
        var next = await org.UploadOkAsync(population, Records.Range("S", 30, 1), delta: true);
        Assert.Equal(31, next["recordCount"]!.GetValue<long>());
    }
}
