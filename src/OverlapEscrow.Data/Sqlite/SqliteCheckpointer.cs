using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OverlapEscrow.Data.Sqlite;

/// <summary>
/// Copies the write-ahead log into the database file on a timer thread, so that the connection that commits does not.
/// SQLite's default is the opposite: the commit that leaves the log longer than 1,000 pages (4 MiB) copies the whole log
/// into the database file and syncs it before its statement returns, so an upload's store stage — the one thread that
/// writes its segments and column parts — paid for every byte twice in a row (into the log, then into the file, each with
/// its fsync), and a small commit that happened to cross the mark (an audited read's group commit) paid for everyone's
/// pages. Here the committing connections only append to the log (still synced at every commit: durability is the log's,
/// not the checkpoint's, and recovery after a crash replays it as before), and this copies it, as a PASSIVE checkpoint
/// that waits for no reader and blocks no writer, every <see cref="Interval"/>, or at once again while it is catching up.
/// The log's length stays bounded by <see cref="BackstopPages"/>: every connection keeps SQLite's own automatic
/// checkpoint at that length, so a writer that outruns this (a long upload on a slow disk) copies the rest itself, as every
/// commit did before. (docs/architecture.md, "Connection factory"; docs/performance.md, "Uploads".)
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>How often the log is checked for frames to copy when the last check found none.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The log's length (pages, 64 MiB of 4 KiB pages) at which a committing connection checkpoints itself, as SQLite does
    /// at 1,000 by default: reached only when writes outrun the timer.
    /// </summary>
    public const int BackstopPages = 16_384;

    private readonly string _databasePath;
    private readonly string _connectionString;
    private readonly TimeSpan _interval;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Timer _timer;
    private SqliteConnection? _connection;
    private long _lastLog = -1, _lastCopied = -1;
    private bool _disposed;

    /// <param name="interval">Null: <see cref="Interval"/>; <see cref="Timeout.InfiniteTimeSpan"/>: never (tests that need
    /// the log left as the writers left it).</param>
    public SqliteCheckpointer(string databasePath, TimeSpan? interval = null)
    {
        _databasePath = databasePath;
        _interval = interval ?? Interval;
        // Its own connection, outside the pool: ClearAllPools and the pool's closing of idle connections leave it alone,
        // and it never holds a transaction (a checkpoint takes only the checkpoint lock). ReadWrite, not ReadWriteCreate: it
        // must not create the database file before the migrations do.
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString();
        // The timer's state is a weak reference: a factory dropped without Dispose (a tool, a test) lets this be collected,
        // and the timer with it, instead of being kept alive by its own timer.
        _timer = new Timer(static state =>
        {
            if (((WeakReference<SqliteCheckpointer>)state!).TryGetTarget(out var checkpointer)) checkpointer.Tick();
        }, new WeakReference<SqliteCheckpointer>(this), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Arm(_interval);
    }

    /// <summary>Checkpoints completed by this checkpointer that copied frames (for tests).</summary>
    public int Copies { get; private set; }

    private void Arm(TimeSpan due)
    {
        if (due == Timeout.InfiniteTimeSpan) return;
        try { _timer.Change(due, Timeout.InfiniteTimeSpan); }
        catch (ObjectDisposedException) { /* disposed meanwhile */ }
    }

    /// <summary>Runs one PASSIVE checkpoint now; true when it copied frames the last one had not.</summary>
    public bool CheckpointNow()
    {
        _gate.Wait();
        try
        {
            if (_disposed) return false;
            try
            {
                if (_connection is null)
                {
                    if (!File.Exists(_databasePath)) return false;
                    var connection = new SqliteConnection(_connectionString);
                    connection.Open();
                    using (var command = connection.CreateCommand())
                    {
                        // The checkpoint syncs the log before it copies and the database file after, as every connection's
                        // checkpoint did (synchronous FULL, as the factory's connections).
                        command.CommandText = "PRAGMA synchronous = FULL;";
                        command.ExecuteNonQuery();
                    }
                    _connection = connection;
                }
                // PASSIVE: copies what no reader still needs, never waits (another checkpoint in progress: SQLITE_BUSY, next
                // time). Not in WAL mode (before the migrations): both counts -1.
                var rc = raw.sqlite3_wal_checkpoint_v2(_connection.Handle!, null, raw.SQLITE_CHECKPOINT_PASSIVE, out var log, out var copied);
                if (rc == raw.SQLITE_OK && log < 0)
                {
                    // A connection learns that the file is in WAL mode when it first reads it, and this one only checkpoints:
                    // opened before the migrations set WAL (or before its first read), it would answer "not WAL" forever.
                    using (var command = _connection.CreateCommand())
                    {
                        command.CommandText = "PRAGMA schema_version;";
                        command.ExecuteScalar();
                    }
                    rc = raw.sqlite3_wal_checkpoint_v2(_connection.Handle!, null, raw.SQLITE_CHECKPOINT_PASSIVE, out log, out copied);
                }
                if (rc != raw.SQLITE_OK || log <= 0) return false;
                var progressed = (log, copied) != (_lastLog, _lastCopied) && copied > 0;
                _lastLog = log;
                _lastCopied = copied;
                if (progressed) Copies++;
                return progressed;
            }
            catch (SqliteException)
            {
                // The file is gone, replaced (a restore) or not a database yet: opened again at the next tick. A failed
                // checkpoint loses nothing (the log keeps every commit) and the writers' backstop still bounds the log.
                _connection?.Dispose();
                _connection = null;
                return false;
            }
        }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// Keeps this checkpointer from running until the result is disposed (after one in progress): a checkpoint of another
    /// connection that must not find the log busy with this one (the purge's TRUNCATE: SQLite answers "busy" at once to a
    /// second checkpoint instead of waiting for the first).
    /// </summary>
    public async Task<IDisposable> PauseAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        return new Paused(_gate);
    }

    private sealed class Paused(SemaphoreSlim gate) : IDisposable
    {
        private int _released;
        public void Dispose() { if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release(); }
    }

    private void Tick()
    {
        // While it is catching up with a writer (the last run copied something), again at once; otherwise after the interval.
        var progressed = CheckpointNow();
        if (!_disposed) Arm(progressed ? TimeSpan.FromMilliseconds(1) : _interval);
    }

    /// <summary>Stops the timer and closes the connection, after a checkpoint in progress.</summary>
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            if (_disposed) return;
            _disposed = true;
            _timer.Dispose();
            _connection?.Dispose();
            _connection = null;
        }
        finally { _gate.Release(); }
    }
}
