using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OverlapEscrow.Data.Sqlite;

/// <summary>Connections to the embedded database file, configured for durability and concurrent readers.</summary>
public sealed class SqliteConnectionFactory : IDbConnectionFactory, IDisposable
{
    /// <summary>At most this many connections are kept open for reads (more at once are opened and closed as before).</summary>
    public const int MaxKept = 16;

    private readonly ConcurrentBag<SqliteConnection> _kept = [];
    private int _keptCount;
    private volatile bool _disposed;

    private readonly string _connectionString;

    public SqliteConnectionFactory(string databasePath)
    {
        DatabasePath = databasePath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // The provider's own retry of a busy statement (it sleeps and tries again for up to this long), so a writer waits for
            // another writer instead of failing at once; SQLite's busy_timeout stays 0 (DatabaseMaintenance raises it for a checkpoint).
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DatabasePath { get; }

    /// <summary>An empty file readable and writable by its owner only (Unix), unless it exists already.</summary>
    internal static void CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try { using var _ = new FileStream(path, options); }
        catch (IOException) when (File.Exists(path)) { } // another process made it first
    }

    /// <summary>
    /// The native connections whose pragmas are set. A pooled <see cref="SqliteConnection"/> hands out the same native
    /// connection again, and pragmas are state of the native connection, so they are set once per native connection
    /// rather than on every open (every request opens several). A native connection the pool closed and replaced is a new
    /// handle, absent here, and gets them on its first open.
    /// </summary>
    private static readonly ConditionalWeakTable<sqlite3, object> Configured = new();

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        if (connection.Handle is { } handle && Configured.TryGetValue(handle, out _)) return connection;
        await ConfigureAsync(connection, cancellationToken);
        if (connection.Handle is { } opened) Configured.AddOrUpdate(opened, Configured);
        return connection;
    }

    /// <summary>
    /// A connection for short reads that is kept open between callers, with its compiled statements
    /// (<see cref="StatementCache"/>): Microsoft.Data.Sqlite keeps a command's compiled statement only while the
    /// <see cref="SqliteConnection"/> stays open, and closing it (even into the provider's pool) finalizes them all.
    /// Give it back with <see cref="ReleaseAsync"/>.
    /// </summary>
    public async Task<DbConnection> OpenKeptAsync(CancellationToken cancellationToken = default)
    {
        while (_kept.TryTake(out var kept))
        {
            Interlocked.Decrement(ref _keptCount);
            if (kept.State == System.Data.ConnectionState.Open) return kept;
            await kept.DisposeAsync();
        }
        var connection = (SqliteConnection)await OpenAsync(cancellationToken);
        // SQLitePCL answers sqlite3_next_stmt only for statements compiled after this (none is alive on a connection just
        // opened: closing one finalizes its statements): lets Idle see a statement left mid-results.
        connection.Handle!.enable_sqlite3_next_stmt(true);
        StatementCache.Attach(connection);
        return connection;
    }

    /// <summary>
    /// Takes back a connection of <see cref="OpenKeptAsync"/>. It is kept only when it is idle: open, outside any
    /// transaction (a snapshot left open would make the next caller read the past — a signed-out session as still
    /// open). Anything else, or one too many, is closed.
    /// </summary>
    public ValueTask ReleaseAsync(DbConnection connection)
    {
        if (_disposed || connection is not SqliteConnection sqlite || StatementCache.Of(sqlite) is null || !Idle(sqlite)) return connection.DisposeAsync();
        if (Interlocked.Increment(ref _keptCount) > MaxKept)
        {
            Interlocked.Decrement(ref _keptCount);
            return connection.DisposeAsync();
        }
        _kept.Add(sqlite);
        if (_disposed) CloseKept();
        return ValueTask.CompletedTask;
    }

    /// <summary>Closes the connections kept for reads (the next reads open new ones).</summary>
    public void CloseKept()
    {
        while (_kept.TryTake(out var kept))
        {
            Interlocked.Decrement(ref _keptCount);
            kept.Dispose();
        }
    }

    /// <summary>Closes the kept connections; later ones are not kept.</summary>
    public void Dispose()
    {
        _disposed = true;
        CloseKept();
    }

    private static bool Idle(SqliteConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open || connection.Handle is not { } handle) return false;
        // Outside any transaction (a read unit of work ends with its rollback), and no statement mid-results: SQLite keeps
        // the read snapshot of a statement stepped but not run to its end or reset (a first-row read, a reader left
        // open) even in autocommit mode, and every later statement on the connection would read that past.
        if (raw.sqlite3_get_autocommit(handle) == 0) return false;
        try
        {
            for (var statement = raw.sqlite3_next_stmt(handle, null); statement is not null; statement = raw.sqlite3_next_stmt(handle, statement))
                if (raw.sqlite3_stmt_busy(statement) != 0) return false;
            return true;
        }
        catch (Exception)
        {
            return false; // a statement SQLitePCL does not track: not known to be idle, so closed
        }
    }

    private static async Task ConfigureAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // synchronous=FULL: a commit is on disk before the 2xx that reports it (WAL with NORMAL can lose the
        // last commits on power loss). foreign_keys is per connection in SQLite. secure_delete=FAST: a deleted row's
        // bytes are zeroed in the b-tree pages that held it, at no extra I/O (overflow pages, where segments live, are
        // not: IDatabaseMaintenance.PurgeDeletedContentAsync scrubs the free pages after an erasure).
        command.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA secure_delete = FAST;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
