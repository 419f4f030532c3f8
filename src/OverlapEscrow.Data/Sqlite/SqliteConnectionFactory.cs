using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OverlapEscrow.Data.Sqlite;

/// <summary>Connections to the embedded database file, configured for durability and concurrent readers.</summary>
public sealed class SqliteConnectionFactory : IDbConnectionFactory
{
    private readonly string _connectionString;

    public SqliteConnectionFactory(string databasePath)
    {
        DatabasePath = databasePath;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Also the busy timeout: a writer waits this long for another writer instead of failing at once.
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DatabasePath { get; }

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
