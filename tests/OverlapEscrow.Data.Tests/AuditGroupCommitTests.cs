using Dapper;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics.Metrics;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// Appends outside a unit of work (each read that releases partner data makes one) are group-committed: many events per
/// transaction, and none acknowledged before its transaction committed. Failures are real database conditions: another
/// connection holding the lock an append needs, a trigger that refuses an insert.
/// </summary>
public class AuditGroupCommitTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static AuditEntry Read(string organizationId, object detail, string action = "overlaps.released") =>
        new(T0, organizationId, "member:m", action, null, detail);

    /// <summary>
    /// A connection of the test's own that holds what every append must take until it is disposed or rolled back: SQLite's
    /// write lock (BEGIN IMMEDIATE), PostgreSQL's lock on the chain's head row (FOR UPDATE).
    /// </summary>
    private static DbConnection HoldWriteLock(Stores s)
    {
        var connection = s.OpenConnection();
        if (s.Provider == "postgres")
        {
            connection.Execute("BEGIN TRANSACTION");
            connection.Execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE");
        }
        else connection.Execute("BEGIN IMMEDIATE");
        return connection;
    }

    private static long EventCount(Stores s)
    {
        using var connection = s.OpenConnection();
        return connection.ExecuteScalar<long>("SELECT count(*) FROM audit_events");
    }

    private static void Execute(Stores s, string sql)
    {
        using var connection = s.OpenConnection();
        connection.Execute(sql);
    }

    /// <summary>A trigger that refuses inserts into audit_events (those whose action is <paramref name="action"/>, or all).</summary>
    private static void InstallRefusal(Stores s, string? action = null)
    {
        if (s.Provider == "postgres")
            Execute(s, $"""
                CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END; $$;
                CREATE TRIGGER test_refuse BEFORE INSERT ON audit_events FOR EACH ROW
                {(action is null ? "" : $"WHEN (NEW.action = '{action}')")} EXECUTE FUNCTION test_refuse();
                """);
        else
            Execute(s, $"CREATE TRIGGER test_refuse BEFORE INSERT ON audit_events {(action is null ? "" : $"WHEN NEW.action = '{action}'")} " +
                       "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    }

    private static void RemoveRefusal(Stores s) =>
        Execute(s, s.Provider == "postgres" ? "DROP TRIGGER test_refuse ON audit_events" : "DROP TRIGGER test_refuse");

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
            holder.Execute("ROLLBACK TRANSACTION");
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
        InstallRefusal(s, "test.refused");
        List<Task> appends;
        using (var holder = HoldWriteLock(s))
        {
            appends = Enumerable.Range(0, 21).Select(i => s.Audit.AppendAsync(Read("org-a", new { i }, i == 10 ? "test.refused" : "overlaps.released"), None)).ToList();
            holder.Execute("ROLLBACK TRANSACTION");
        }
        var refused = appends[10];
        await Assert.ThrowsAnyAsync<DbException>(() => refused.WaitAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(appends.Where(a => a != refused)).WaitAsync(TimeSpan.FromSeconds(60));

        var events = await s.Audit.ListAsync("org-a", [], 0, 100, None);
        Assert.Equal(Enumerable.Range(0, 21).Where(i => i != 10), events.Select(e => e.Detail.GetProperty("i").GetInt32()));
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
    }

    [Theory, StorageData]
    public async Task ARefusalInALaterInsertOfABatchLeavesNothingOfItsEarlierInsertsCommitted(string provider)
    {
        // On SQLite a batch is written in INSERTs of SqliteRowsPerInsert rows: a refused row in the second one must undo
        // the first (one transaction), or the events retried one by one afterwards would be in the log twice.
        await using var s = await CreateAsync(provider);
        InstallRefusal(s, "test.refused");
        var refusedAt = OverlapEscrow.Data.Audit.AuditGroupCommit.SqliteRowsPerInsert + 3;
        var total = 2 * OverlapEscrow.Data.Audit.AuditGroupCommit.SqliteRowsPerInsert + 1;
        List<Task> appends;
        var commitsBefore = s.AuditGroupCommit.Commits;
        Task first;
        using (var holder = HoldWriteLock(s))
        {
            // The writer takes a first event alone and waits for the lock with it, so every event queued meanwhile makes
            // one batch (otherwise, on a busy machine, it may take the first few events before the rest are queued).
            first = s.Audit.AppendAsync(Read("org-a", new { first = true }), None);
            await Task.Delay(200);
            appends = Enumerable.Range(0, total).Select(i => s.Audit.AppendAsync(Read("org-a", new { i }, i == refusedAt ? "test.refused" : "overlaps.released"), None)).ToList();
            await Task.Delay(200);
            holder.Execute("ROLLBACK TRANSACTION");
        }
        await first.WaitAsync(TimeSpan.FromSeconds(60));
        await Assert.ThrowsAnyAsync<DbException>(() => appends[refusedAt].WaitAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(appends.Where((_, i) => i != refusedAt)).WaitAsync(TimeSpan.FromSeconds(60));

        var events = (await s.Audit.ListAsync("org-a", [], 0, 100, None)).Where(e => !e.Detail.TryGetProperty("first", out _)).ToList();
        Assert.Equal(Enumerable.Range(0, total).Where(i => i != refusedAt), events.Select(e => e.Detail.GetProperty("i").GetInt32()));
        Assert.True((await s.Audit.VerifyAsync(None)).Valid);
        Assert.True(s.AuditGroupCommit.Commits - commitsBefore >= total - 2, "the events after the refused batch were retried one transaction each");
    }

    [Theory, StorageData]
    public async Task WhenNoEventCanBeCommittedNoAppendIsAcknowledgedAndTheWriterCarriesOnAfterwards(string provider)
    {
        await using var s = await CreateAsync(provider);
        await s.Audit.AppendAsync(Read("org-a", new { before = true }), None);
        InstallRefusal(s);

        var appends = Enumerable.Range(0, 32).Select(i => Task.Run(() => s.Audit.AppendAsync(Read("org-" + (i % 2), new { i }), None))).ToList();
        foreach (var append in appends) await Assert.ThrowsAnyAsync<DbException>(() => append.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, EventCount(s));

        RemoveRefusal(s);
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

    [Theory, StorageData]
    public async Task EveryCommitRecordsItsDurationAndEventsAndEveryAcknowledgedEventItsWaitButARefusedOneDoesNot(string provider)
    {
        await using var s = await CreateAsync(provider);
        InstallRefusal(s, "test.refused");
        var measured = new ConcurrentQueue<(string Instrument, double Value)>();
        // Resolved before listening: the callback runs under the listener's lock, also when another test's group commit
        // creates its instruments.
        var meter = s.AuditGroupCommit.Meter;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => measured.Enqueue((instrument.Name, value)));
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => measured.Enqueue((instrument.Name, value)));
        listener.Start();
        var commitsBefore = s.AuditGroupCommit.Commits;
        List<Task> appends;
        Task first;
        using (var holder = HoldWriteLock(s))
        {
            // The writer takes a first event alone and waits for the lock with it (so its commit's duration holds the wait);
            // the 40 queued meanwhile wait at least the 200 ms the lock is still held after them.
            first = s.Audit.AppendAsync(Read("org-a", new { first = true }), None);
            await Task.Delay(200);
            appends = Enumerable.Range(0, 40).Select(i => s.Audit.AppendAsync(Read("org-a", new { i }, i == 7 ? "test.refused" : "overlaps.released"), None)).ToList();
            await Task.Delay(200);
            holder.Execute("ROLLBACK TRANSACTION");
        }
        await first.WaitAsync(TimeSpan.FromSeconds(60));
        await Assert.ThrowsAnyAsync<DbException>(() => appends[7].WaitAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(appends.Where((_, i) => i != 7)).WaitAsync(TimeSpan.FromSeconds(60));

        var waits = measured.Where(m => m.Instrument == "overlapescrow.audit.append.wait").Select(m => m.Value).ToList();
        var durations = measured.Where(m => m.Instrument == "overlapescrow.audit.commit.duration").Select(m => m.Value).ToList();
        var events = measured.Where(m => m.Instrument == "overlapescrow.audit.commit.events").Select(m => m.Value).ToList();
        Assert.Equal(40, waits.Count);
        Assert.All(waits, w => Assert.InRange(w, 0.15, 60));
        Assert.Equal(s.AuditGroupCommit.Commits - commitsBefore, durations.Count);
        Assert.All(durations, d => Assert.InRange(d, 0, 60));
        Assert.Equal(durations.Count, events.Count);
        Assert.Equal(40, events.Sum());
        // The first event's commit waited for the lock: the 400 ms are in its duration.
        Assert.Contains(durations, d => d >= 0.25);
    }
}
