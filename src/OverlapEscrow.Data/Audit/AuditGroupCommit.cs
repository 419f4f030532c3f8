using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using Dapper;

namespace OverlapEscrow.Data.Audit;

/// <summary>
/// Group commit for the audit appends made outside a unit of work (every read that releases partner data appends one):
/// appenders queue their event and wait; one writer takes whatever is queued (up to <see cref="MaxBatch"/>), chains the
/// events from the head in queue order, moves the head once and commits them in one write transaction — one fsync for
/// the lot — and only then tells each appender its event is on disk. So a read still answers only after its event is
/// durable, but concurrent readers share a commit instead of queuing for the write lock one fsync each.
/// </summary>
/// <remarks>
/// <para>The chain is the same as one append at a time: the events take consecutive seqs in the order they were
/// queued, under the same locked head row (<c>audit_head</c>), so appends inside units of work (which write the head in
/// their own transaction) interleave with batches exactly as they did with single appends. An append that returned
/// comes before every append queued after it.</para>
/// <para>Failure: if a batch's transaction fails, nothing of it was written (the transaction rolled back), and the
/// writer retries its events one transaction each, so an event the database refuses fails its own appender and not
/// the others queued with it. An appender whose event did not commit gets the exception: the read fails and answers
/// nothing. Nothing is acknowledged before its commit has returned.</para>
/// <para>Measured (meter <see cref="MeterName"/>, read with <c>dotnet-counters</c>, docs/operations.md "Audit group commit
/// latency"): each commit's duration (its transaction from BEGIN to the commit's return: the INSERTs, the fsync, and on
/// SQLite any WAL checkpoint that commit ran), its number of events, and each event's wait from queued to acknowledged,
/// which is what a read waits for before it answers.</para>
/// </remarks>
internal sealed class AuditGroupCommit : IAsyncDisposable, IDisposable
{
    /// <summary>At most this many events per transaction, so one commit's rows stay a small write.</summary>
    public const int MaxBatch = 256;

    /// <summary>On SQLite, at most this many events per INSERT statement (see <see cref="CommitAsync"/>).</summary>
    public const int SqliteRowsPerInsert = 16;

    private readonly IDbScope _scope;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    /// <summary>The meter of the group commit's measurements (one per instance: tests listen to their own).</summary>
    public const string MeterName = "OverlapEscrow.Audit";

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _commitEvents;
    private readonly Histogram<double> _appendWait;

    public AuditGroupCommit(IDbScope scope)
    {
        _scope = scope;
        _commitDuration = _meter.CreateHistogram<double>("overlapescrow.audit.commit.duration", "s",
            "One group commit's transaction, BEGIN to the commit's return (the fsync and, on SQLite, any WAL checkpoint it ran).");
        _commitEvents = _meter.CreateHistogram<int>("overlapescrow.audit.commit.events", "{event}", "Events in one group commit.");
        _appendWait = _meter.CreateHistogram<double>("overlapescrow.audit.append.wait", "s",
            "From an event's queueing to its acknowledgement: what a read waits for before it answers.");
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>The meter of this instance's measurements (tests).</summary>
    internal Meter Meter => _meter;

    /// <summary>Number of transactions committed so far (tests and diagnostics: fewer than the events means grouped).</summary>
    public long Commits => Interlocked.Read(ref _commits);
    private long _commits;

    /// <summary>Queues the event and completes once its transaction has committed; faults when it did not.</summary>
    public Task AppendAsync(AuditRepository.NewEvent e, CancellationToken ct)
    {
        var pending = new Pending(e);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(AuditGroupCommit), "The audit log is shutting down.");
        // A caller that gives up stops waiting; its event may still be committed (audited and not answered, never the reverse).
        return pending.Done.Task.WaitAsync(ct);
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var p)) batch.Add(p);
            try
            {
                await CommitAsync(batch);
                Acknowledge(batch);
            }
            catch (Exception) when (batch.Count > 1)
            {
                // Nothing of the batch was written. One event at a time, so only what the database refuses fails.
                foreach (var p in batch)
                {
                    try
                    {
                        await CommitAsync([p]);
                        Acknowledge([p]);
                    }
                    catch (Exception e)
                    {
                        p.Done.TrySetException(e);
                    }
                }
            }
            catch (Exception e)
            {
                batch[0].Done.TrySetException(e);
            }
        }
    }

    private void Acknowledge(IReadOnlyList<Pending> committed)
    {
        var now = Stopwatch.GetTimestamp();
        var measured = _appendWait.Enabled;
        foreach (var p in committed)
        {
            p.Done.TrySetResult();
            if (measured) _appendWait.Record(Stopwatch.GetElapsedTime(p.Queued, now).TotalSeconds);
        }
    }

    private async Task CommitAsync(IReadOnlyList<Pending> batch)
    {
        var started = Stopwatch.GetTimestamp();
        // Not the appenders' cancellation: a batch is several appenders' events, and one leaving must not undo the others.
        // A kept connection (SQLite): its head, INSERT and UPDATE statements stay compiled from one batch to the next.
        await using var db = await _scope.OpenKeptAsync(CancellationToken.None);
        await using var tx = await db.BeginWriteAsync();
        var (seq, prev) = await db.SingleAsync<(long Seq, byte[] Hash)>($"SELECT seq, hash FROM audit_head WHERE id = 1{db.Dialect.ForUpdate}");
        // PostgreSQL: one INSERT of every row of the batch: a list of rows would be one statement (one round trip) per
        // event, all while this transaction holds the head row that every instance's appends wait for. SQLite (in process,
        // no round trips): at most SqliteRowsPerInsert rows per INSERT, because SQLite finds each named parameter by a
        // linear search of the statement's names, so binding one INSERT of n parameters costs n² name compares (a batch of
        // 256 events: 2,304 parameters, some 2.6 million compares); and a full chunk's SQL text is the same every time.
        var perInsert = db.Dialect == SqlDialect.Sqlite ? SqliteRowsPerInsert : batch.Count;
        for (var start = 0; start < batch.Count; start += perInsert)
        {
            var count = Math.Min(perInsert, batch.Count - start);
            var sql = new StringBuilder(AuditRepository.InsertColumnsSql).Append(" VALUES ");
            var rows = new DynamicParameters();
            for (var i = 0; i < count; i++)
            {
                seq++;
                var e = batch[start + i].Event;
                var hash = AuditRepository.Chain(prev, seq, e);
                sql.Append(i == 0 ? "" : ", ").Append($"(@seq{i}, @at{i}, @org{i}, @actor{i}, @action{i}, @partnership{i}, @detail{i}, @prev{i}, @hash{i})");
                rows.Add($"seq{i}", seq);
                rows.Add($"at{i}", e.At);
                rows.Add($"org{i}", e.OrganizationId);
                rows.Add($"actor{i}", e.Actor);
                rows.Add($"action{i}", e.Action);
                rows.Add($"partnership{i}", e.PartnershipId, System.Data.DbType.String);
                rows.Add($"detail{i}", e.DetailJson);
                rows.Add($"prev{i}", prev);
                rows.Add($"hash{i}", hash);
                prev = hash;
            }
            await db.ExecuteAsync(sql.ToString(), rows);
        }
        await db.ExecuteAsync("UPDATE audit_head SET seq = @seq, hash = @prev WHERE id = 1", new { seq, prev });
        await tx.CommitAsync();
        Interlocked.Increment(ref _commits);
        _commitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _commitEvents.Record(batch.Count);
    }

    /// <summary>Stops taking events and waits for the queued ones to be committed (or to fail).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        _meter.Dispose();
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _writer.GetAwaiter().GetResult();
        _meter.Dispose();
    }

    private sealed class Pending(AuditRepository.NewEvent e)
    {
        public AuditRepository.NewEvent Event { get; } = e;
        public long Queued { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
