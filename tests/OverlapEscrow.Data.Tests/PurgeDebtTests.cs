using Dapper;
using OverlapEscrow.Data.Maintenance;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The purge debt on each database: a purge pays only what was owed before it began, whatever order purges and owes
/// interleave in — in particular a stale purge (the periodic worker's, begun before a later erasure owed again) must
/// not pay the later debt after a faster purge paid the earlier one.
/// </summary>
public sealed class PurgeDebtTests
{
    [Theory]
    [StorageData]
    public async Task APurgePaysOnlyWhatWasOwedBeforeItBeganWhateverTheOrder(string provider)
    {
        await using var stores = await Stores.CreateAsync(provider);
        var connections = stores.Connections;
        await using var db = await connections.OpenAsync();
        Assert.False(await PurgeDebt.IsOwedAsync(connections, default));

        await PurgeDebt.OweAsync(connections, default);
        var stale = await PurgeDebt.OwedAsync(db, default);  // the worker's purge begins, reading the first debt
        var quick = await PurgeDebt.OwedAsync(db, default);  // an erasure's own purge begins too
        Assert.Equal(stale, quick);
        await PurgeDebt.PaidAsync(db, quick, default);         // and finishes first
        Assert.False(await PurgeDebt.IsOwedAsync(connections, default));

        await PurgeDebt.OweAsync(connections, default);        // a later erasure owes again
        await PurgeDebt.PaidAsync(db, stale, default);         // the stale purge finishes: it began before that owe
        Assert.True(await PurgeDebt.IsOwedAsync(connections, default));

        var next = await PurgeDebt.OwedAsync(db, default);
        await PurgeDebt.OweAsync(connections, default);        // owed while that purge runs
        await PurgeDebt.PaidAsync(db, next, default);
        Assert.True(await PurgeDebt.IsOwedAsync(connections, default));
        await PurgeDebt.PaidAsync(db, await PurgeDebt.OwedAsync(db, default), default);
        Assert.False(await PurgeDebt.IsOwedAsync(connections, default));
    }
}
