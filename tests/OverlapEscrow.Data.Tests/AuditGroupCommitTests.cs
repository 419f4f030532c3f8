using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// Appends outside a unit of work (each read that releases partner data makes one) are group-committed: many events per
/// transaction, and none acknowledged before its transaction committed. Failures are real SQLite conditions: another
/// connection holding the write lock, a trigger that refuses an insert.
/// </summary>
public class AuditGroupCommitTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static AuditEntry Read(string organizationId, object detail, string action = "overlaps.released") =>
        new(T0, organizationId, "member:m", action, null, detail);

    /// <summary>A connection of the test's own that takes the database's write lock until it is disposed.</summary>
    private static SqliteConnection HoldWriteLock(Stores s)
    {
        var connection = new SqliteConnection($"Data Source={s.DatabasePath};Pooling=False");
        connection.Open();
        connection.Execute("BEGIN IMMEDIATE");
        return connection;
    }

    private static long EventCount(Stores s)
    {
        using var connection = new SqliteConnection($"Data Source={s.DatabasePath};Pooling=False");
        connection.Open();
        return connection.ExecuteScalar<long>("SELECT count(*) FROM audit_events");
    }

    private static void Execute(Stores s, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={s.DatabasePath};Pooling=False");
        connection.Open();
        connection.Execute(sql);
    }

    [Theory, StorageData]
    public async Task NoAppendReturnsBeforeItsEventIsCommittedAndConcurrentAppendsShareCommits(string provider)
    {
        await using var s = await CreateAsync(provider);
        var commitsBefore = s.AuditGroupCommit.Commits;
        List<Task> appends;
        using (var holder = HoldWriteLock(s))
        {
            // Each append is queued by the time AppendAsync returns its task.
            appends = Enumerable.Range(0, 200).Select(i => s.Audit.AppendAsync(Read("org-" + (i % 4), new { i }), None)).ToList();
            await Task.Delay(300);
            Assert.All(appends, a => Assert.False(a.IsCompleted, "an append returned while its event could not be committed"));
            Assert.Equal(0, EventCount(s));
            holder.Execute("ROLLBACK");
        }
        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(200, EventCount(s));
        var verification = await s.Audit.VerifyAsync(None);
        Assert.True(verification.Valid);
        Assert.Equal(200, verification.EventCount);
        // The writer took the first event before the lock let it in; everything queued meanwhile went in the next commit.
        Assert.InRange(s.AuditGroupCommit.Commits - commitsBefore, 1, 2);
    }

    [Theory, StorageData]
    public async Task AnEventTheDatabaseRefusesFailsOnlyItsOwnAppend(string provider)
    {
        await using var s = await CreateAsync(provider);
        Execute(s, "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_events WHEN NEW.action = 'test.refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        List<Task> appends;
        using (var holder = HoldWriteLock(s))
        {
            appends = Enumerable.Range(0, 21).Select(i => s.Audit.AppendAsync(Read("org-a", new { i }, i == 10 ? "test.refused" : "overlaps.released"), None)).ToList();
            holder.Execute("ROLLBACK");
        }
        var refused = appends[10];
        await Assert.ThrowsAsync<SqliteException>(() => refused.WaitAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(appends.Where(a => a != refused)).WaitAsync(TimeSpan.FromSeconds(60));

        var events = await s.Audit.ListAsync("org-a", [], 0, 100, None);
        Assert.Equal(Enumerable.Range(0, 21).Where(i => i != 10), events.Select(e => e.Detail.GetProperty("i").GetInt32()));
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
    }

    [Theory, StorageData]
    public async Task WhenNoEventCanBeCommittedNoAppendIsAcknowledgedAndTheWriterCarriesOnAfterwards(string provider)
    {
        await using var s = await CreateAsync(provider);
        await s.Audit.AppendAsync(Read("org-a", new { before = true }), None);
        Execute(s, "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");

        var appends = Enumerable.Range(0, 32).Select(i => Task.Run(() => s.Audit.AppendAsync(Read("org-" + (i % 2), new { i }), None))).ToList();
        foreach (var append in appends) await Assert.ThrowsAsync<SqliteException>(() => append.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, EventCount(s));

        Execute(s, "DROP TRIGGER test_refuse");
        await s.Audit.AppendAsync(Read("org-a", new { after = true }), None);
        var verification = await s.Audit.VerifyAsync(None);
        Assert.True(verification.Valid);
        Assert.Equal(2, verification.EventCount);
    }

    [Theory, StorageData]
    public async Task EachAppendersEventsKeepTheirOrderInTheLogAndInItsOrganizationsChain(string provider)
    {
        await using var s = await CreateAsync(provider);
        var organizations = new[] { await s.OrganizationAsync("acme"), await s.OrganizationAsync("globex"), await s.OrganizationAsync("initech") };

        // 12 readers, each reading 25 times one after the other (each append awaited, as a request awaits its answer).
        await Task.WhenAll(Enumerable.Range(0, 12).Select(reader => Task.Run(async () =>
        {
            for (var n = 0; n < 25; n++) await s.Audit.AppendAsync(Read(organizations[reader % 3], new { reader, n }), None);
        })));

        var views = new AuditViews(s.AuditViews);
        await views.CatchUpAsync(None);
        foreach (var organization in organizations)
        {
            var check = await views.CheckAsync(organization, 0, AuditChain.Genesis, None);
            Assert.True(check.Valid);
            Assert.Equal(100, check.Size);
            var chain = await s.AuditViews.ListViewAsync(organization, 0, 500, None);
            Assert.Equal(chain.Select(e => e.Seq).Order(), chain.Select(e => e.Seq));
            var events = (await s.Audit.ListAsync(organization, [], 0, 500, None)).ToDictionary(e => e.Seq);
            foreach (var reader in chain.Select(e => events[e.Seq]).GroupBy(e => e.Detail.GetProperty("reader").GetInt32()))
                Assert.Equal(Enumerable.Range(0, 25), reader.Select(e => e.Detail.GetProperty("n").GetInt32()));
        }
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
    }

    [Theory, StorageData]
    public async Task GroupCommittedAppendsAndAppendsInUnitsOfWorkShareOneChain(string provider)
    {
        await using var s = await CreateAsync(provider);
        var reads = Enumerable.Range(0, 40).Select(i => Task.Run(() => s.Audit.AppendAsync(Read("org-a", new { i }), None)));
        var changes = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            await using var uow = await s.Transactions.BeginAsync(None);
            await uow.Audit.AppendAsync(Read("org-b", new { i }, i % 2 == 0 ? "kept" : "rolled_back"), None);
            if (i % 2 == 0) await uow.CommitAsync(None);
        }));
        await Task.WhenAll(reads.Concat(changes)).WaitAsync(TimeSpan.FromSeconds(120));

        var verification = await s.Audit.VerifyAsync(None);
        Assert.True(verification.Valid);
        Assert.Equal(45, verification.EventCount);
        Assert.All(await s.Audit.ListAsync("org-b", [], 0, 100, None), e => Assert.Equal("kept", e.Action));
    }
}
