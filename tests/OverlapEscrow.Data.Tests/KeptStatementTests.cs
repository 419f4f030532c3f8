using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Data.Sqlite;
using OverlapEscrow.Domain.Sharing;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// The connections kept open for the reads every request makes (the token check, the partner view's snapshot), with
/// their compiled statements: a kept statement is run again, never its answer remembered, so a sign-out or a changed rule
/// still applies to the very next read; a connection is kept only when nothing of its caller is still open on it.
/// </summary>
public class KeptStatementTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task TheTokenCheckRunsItsKeptStatementAgainAndRefusesTheVeryNextCheckAfterSignOut()
    {
        await using var s = await CreateAsync("sqlite");
        var org = await s.OrganizationAsync("acme");
        var admin = (await s.Accounts.ListMembersAsync(org, None))[0];
        await s.Accounts.StartSessionAsync("session-admin", admin.Id, T0, None);

        for (var i = 0; i < 3; i++) Assert.True(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "admin", "session-admin", None));
        var kept = await s.Connections.OpenKeptAsync(None);
        var cache = StatementCache.Of(kept);
        Assert.NotNull(cache);
        Assert.Equal(1, cache.Count); // three checks, one statement compiled and kept
        await s.Connections.ReleaseAsync(kept);

        // Signed out (on another connection), the check on the kept connection and statement refuses the next request.
        Assert.Equal(1, await s.Accounts.EndSessionsAsync(admin.Id, "session-admin", T0, "signed_out", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "admin", "session-admin", None));
        Assert.True(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "admin", null, None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "viewer", null, None));
    }

    [Theory, StorageData]
    public async Task AReadSnapshotEndsWithItsUnitSoTheNextSnapshotSeesARuleChangedMeanwhile(string provider)
    {
        await using var s = await CreateAsync(provider);
        var me = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        var theirs = await s.PopulationAsync(partner, "Customers");
        await s.Partnerships.ReplaceDefaultRulesAsync(partner, [new SharingRule(theirs, null, null, SharingLevel.Overlaps, ["accountName"], null)], T0, None);

        for (var i = 0; i < 2; i++)
            await using (var read = await s.Transactions.BeginReadAsync(None))
                Assert.Equal(SharingLevel.Overlaps, Assert.Single((await read.Partnerships.ListRulesBothAsync(me, partner, None)).Second).Level);

        await s.Partnerships.ReplaceDefaultRulesAsync(partner, [new SharingRule(theirs, null, null, SharingLevel.Counts, [], 5)], T0, None);
        await using (var read = await s.Transactions.BeginReadAsync(None))
            Assert.Equal(SharingLevel.Counts, Assert.Single((await read.Partnerships.ListRulesBothAsync(me, partner, None)).Second).Level);
        var prospects = await s.PopulationAsync(partner, "Prospects");
        await s.Partnerships.ReplaceDefaultRulesAsync(partner, [new SharingRule(prospects, null, null, SharingLevel.Hidden, [], null)], T0, None);
        await using (var read = await s.Transactions.BeginReadAsync(None))
        {
            Assert.Equal(2, (await read.Partnerships.ListRulesBothAsync(me, partner, None)).Second.Count);
            Assert.Equal(2, (await read.Populations.ListBothAsync(me, partner, None)).Second.Count);
        }
    }

    [Fact]
    public async Task AStatementReadOnlyToItsFirstRowHoldsNoSnapshotForTheNextCallerOfItsConnection()
    {
        // A first-row read (the API key check, QueryFirstOrDefault) leaves SQLite's statement mid-results unless it is
        // reset; a statement mid-results holds its read snapshot, so every later statement on that kept connection would
        // read the past (a session started a moment ago as not there). A single string is read as Dapper reads it.
        await using var s = await CreateAsync("sqlite");
        await s.OrganizationAsync("acme");
        await s.OrganizationAsync("globex");
        var connection = await s.Connections.OpenKeptAsync(None);
        var cache = StatementCache.Of(connection)!;
        Assert.NotNull(await StatementCache.FirstOrDefaultAsync<string>(cache.TryBind("SELECT id FROM organizations ORDER BY id", null, null)!, None));
        await s.Connections.ReleaseAsync(connection);

        await s.OrganizationAsync("initech"); // committed on another connection

        var again = await s.Connections.OpenKeptAsync(None);
        Assert.Same(connection, again);
        var count = await StatementCache.ScalarAsync<long>(StatementCache.Of(again)!.TryBind("SELECT COUNT(*) FROM organizations", null, null)!, None);
        Assert.Equal(3, count);
        await s.Connections.ReleaseAsync(again);
    }

    [Fact]
    public async Task AConnectionWithAStatementLeftMidResultsIsClosedNotKept()
    {
        await using var s = await CreateAsync("sqlite");
        await s.OrganizationAsync("acme");
        await s.OrganizationAsync("globex");
        var connection = (SqliteConnection)await s.Connections.OpenKeptAsync(None);
        var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM organizations";
        var reader = await command.ExecuteReaderAsync(None);
        Assert.True(await reader.ReadAsync(None)); // a caller that forgot its reader: the statement still holds a snapshot

        await ReleasedIsClosedNotKeptAsync(s, connection);
    }

    [Fact]
    public async Task ASessionStartedIsSeenByTheVeryNextCheckWhileSnapshotsKeyChecksAndAuditWritesShareTheKeptConnections()
    {
        // The dashboard's sign-in starts a session and redirects; the next request's check runs on a kept connection that
        // other callers (read snapshots, API key checks, the audit writer) used a moment before. It must see the session
        // at once, and its end at once, however those callers left the connection.
        await using var s = await CreateAsync("sqlite");
        var org = await s.OrganizationAsync("acme");
        var partner = await s.OrganizationAsync("globex");
        await s.PopulationAsync(partner, "Customers");
        var admin = (await s.Accounts.ListMembersAsync(org, None))[0];
        using var stop = new CancellationTokenSource();
        async Task Loop(Func<Task> work)
        {
            while (!stop.IsCancellationRequested) await work();
        }
        var others = new[]
        {
            Task.Run(() => Loop(async () =>
            {
                await using var read = await s.Transactions.BeginReadAsync(None);
                await read.Partnerships.ListRulesBothAsync(org, partner, None);
                await read.Populations.ListBothAsync(org, partner, None);
            })),
            Task.Run(() => Loop(async () => await s.Accounts.FindApiKeyAsync("key-none", None))),
            Task.Run(() => Loop(async () => await s.Audit.AppendAsync(
                new OverlapEscrow.Application.Storage.AuditEntry(T0, org, "member:x", "test.event", null, new { n = 1 }), None))),
        };
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var session = $"session-{i}";
                await s.Accounts.StartSessionAsync(session, admin.Id, T0, None);
                Assert.True(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "admin", session, None), $"session {i} not seen");
                Assert.Equal(1, await s.Accounts.EndSessionsAsync(admin.Id, session, T0, "signed_out", None));
                Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, "admin", session, None), $"session {i} still seen");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(others);
        }
    }

    [Fact]
    public async Task AConnectionGivenBackInsideATransactionIsClosedNotKept()
    {
        await using var s = await CreateAsync("sqlite");
        var connection = (SqliteConnection)await s.Connections.OpenKeptAsync(None);
        var transaction = connection.BeginTransaction(deferred: true);
        await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM organizations", transaction: transaction);

        await ReleasedIsClosedNotKeptAsync(s, connection);
    }

    /// <summary>Gives the connection back and checks it was closed and the next caller gets another one.</summary>
    private static async Task ReleasedIsClosedNotKeptAsync(Stores s, SqliteConnection connection)
    {
        await s.Connections.ReleaseAsync(connection);

        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        var next = await s.Connections.OpenKeptAsync(None);
        Assert.NotSame(connection, next);
        await s.Connections.ReleaseAsync(next);
    }

    [Fact]
    public async Task AnIdleConnectionIsKeptAndHandedOutAgainWithItsStatements()
    {
        await using var s = await CreateAsync("sqlite");
        var first = await s.Connections.OpenKeptAsync(None);
        await s.Connections.ReleaseAsync(first);
        var again = await s.Connections.OpenKeptAsync(None);
        Assert.Same(first, again);
        Assert.Equal(System.Data.ConnectionState.Open, again.State);
        await s.Connections.ReleaseAsync(again);
    }

    [Fact]
    public async Task KeptConnectionsAreClosedWhenTheFactoryIsDisposedAndNoneIsKeptAfterwards()
    {
        var directory = Directory.CreateTempSubdirectory("oe-kept-").FullName;
        try
        {
            var factory = new SqliteConnectionFactory(Path.Combine(directory, "escrow.db"));
            var kept = await factory.OpenKeptAsync();
            var rented = await factory.OpenKeptAsync();
            await factory.ReleaseAsync(kept);

            factory.Dispose();
            Assert.Equal(System.Data.ConnectionState.Closed, kept.State);
            await factory.ReleaseAsync(rented);
            Assert.Equal(System.Data.ConnectionState.Closed, rented.State);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task OnlyArgumentsBoundExactlyAsDapperWouldAreBoundOnAKeptStatement()
    {
        var directory = Directory.CreateTempSubdirectory("oe-kept-").FullName;
        try
        {
            using var factory = new SqliteConnectionFactory(Path.Combine(directory, "escrow.db"));
            var connection = await factory.OpenKeptAsync();
            var cache = StatementCache.Of(connection)!;
            const string sql = "SELECT @a || ':' || coalesce(@b, 'null') || ':' || @c";

            var bound = cache.TryBind(sql, new { a = "x", b = (string?)null, c = 7L }, null);
            Assert.NotNull(bound);
            Assert.Equal("x:null:7", await StatementCache.ScalarAsync<string>(bound, None));
            // The same statement with other values: rebound, not compiled again.
            Assert.Equal("y:z:1", await StatementCache.ScalarAsync<string>(cache.TryBind(sql, new { a = "y", b = "z", c = true }, null)!, None));
            Assert.Equal(1, cache.Count);

            // A list (Dapper expands it into one parameter per value), a named type, a Guid or a date: Dapper's job.
            Assert.Null(cache.TryBind("SELECT 1 WHERE 'x' IN @ids", new { ids = new[] { "x" } }, null));
            Assert.Null(cache.TryBind("SELECT @g", new { g = Guid.NewGuid() }, null));
            Assert.Null(cache.TryBind("SELECT @d", new { d = DateTimeOffset.UnixEpoch }, null));
            Assert.Null(cache.TryBind("SELECT @Seq", new Named(1), null));
            await factory.ReleaseAsync(connection);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record Named(long Seq);
}
