using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A sharing change that commits while the overlap refresher is between loading the rules and recording under them: the
/// refresh must not record a point of the cell the change hid (its points are deleted by the change, and the refresh the
/// change queued has already run or will run under the new rules, so nothing else would remove it). On PostgreSQL with
/// two instances a trial saw it happen (2026-12-04); here the interleaving is made deterministic by running the change
/// just before the refresher begins its recording transaction.
/// </summary>
public sealed class HistoryRevocationRaceTests : IDisposable
{
    private HookedTransactions? _hooked;
    private readonly EscrowApp _app;

    public HistoryRevocationRaceTests()
    {
        _app = new EscrowApp
        {
            TestServices = services =>
            {
                var original = services.Last(d => d.ServiceType == typeof(ITransactions));
                services.Remove(original);
                services.AddSingleton<ITransactions>(sp => _hooked ??= new HookedTransactions((ITransactions)original.ImplementationFactory!(sp)));
            },
        };
    }

    public void Dispose() => _app.Dispose();

    /// <summary>Runs <see cref="BeforeRefreshRecords"/> once, when the overlap refresher next begins a write transaction.</summary>
    private sealed class HookedTransactions(ITransactions inner) : ITransactions
    {
        public Func<Task>? BeforeRefreshRecords;

        public async Task<IUnitOfWork> BeginAsync(CancellationToken ct)
        {
            if (Volatile.Read(ref BeforeRefreshRecords) is not null && new StackTrace().ToString().Contains(nameof(OverlapRefresher), StringComparison.Ordinal)
                && Interlocked.Exchange(ref BeforeRefreshRecords, null) is { } hook)
                await hook();
            return await inner.BeginAsync(ct);
        }

        public Task<IUnitOfWork> BeginReadAsync(CancellationToken ct) => inner.BeginReadAsync(ct);
    }

    private long PointsOf(string partnerPopulationId)
    {
        using var db = _app.OpenDatabase();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM overlap_history WHERE partner_population_id = $p";
        count.Parameters.AddWithValue("$p", partnerPopulationId);
        return (long)count.ExecuteScalar()!;
    }

    [Fact]
    public async Task AHideThatCommitsWhileARefreshIsUnderWayLeavesNoPointOfTheHiddenCell()
    {
        var owner = await _app.SignupAsync("race-owner");
        var viewer = await _app.SignupAsync("race-viewer");
        var theirs = await owner.CreatePopulationAsync("Customers");
        await owner.UploadOkAsync(theirs, Records.Range("D", 0, 20));
        await owner.ShareAsync(theirs, "overlaps");
        var mine = await viewer.CreatePopulationAsync("Customers");
        await viewer.UploadOkAsync(mine, Records.Range("D", 0, 10));
        var partnershipId = await viewer.PartnerAsync(owner);
        await _app.RefreshedAsync();
        Assert.True(PointsOf(theirs) > 0);

        // The viewer's next upload changes the overlap; its refresh loads the rules (shared), computes, and just before it
        // records, the owner hides the population (committed, its points deleted), and the refresh that change queued is
        // done meanwhile, as another instance would (run here, then taken off the queue).
        var hidden = false;
        _hooked!.BeforeRefreshRecords = async () =>
        {
            await owner.ShareAsync(theirs, "hidden");
            await _app.Services.GetRequiredService<OverlapRefresher>().RefreshNowAsync(owner.Id, partnershipId, CancellationToken.None);
            using (var db = _app.OpenDatabase())
            using (var done = db.CreateCommand())
            {
                done.CommandText = "DELETE FROM refresh_queue WHERE claimed_by IS NULL";
                done.ExecuteNonQuery();
            }
            Assert.Equal(0, PointsOf(theirs));
            hidden = true;
        };
        await viewer.UploadOkAsync(mine, Records.Range("D", 0, 15));
        await _app.RefreshedAsync();

        Assert.True(hidden, "the refresher did not begin a recording transaction");
        Assert.Equal(0, PointsOf(theirs));
    }
}
