using System.Data;
using System.Data.Common;

namespace OverlapEscrow.Data;

/// <summary>
/// What differs between the databases the escrow runs on, and nothing else: how transactions take their locks and
/// how a statement locks the rows it reads. Every write that must not interleave with another writer says so in
/// its SQL (<see cref="ForUpdate"/> on the rows it reads before it writes, or a compare-and-set UPDATE), so the
/// same code holds on a database that runs writers concurrently.
/// </summary>
public sealed class SqlDialect
{
    private SqlDialect(string name, string forUpdate, string skipLocked)
    {
        Name = name;
        ForUpdate = forUpdate;
        ForUpdateSkipLocked = skipLocked;
    }

    /// <summary>
    /// SQLite: a write transaction starts with BEGIN IMMEDIATE, which takes the database's single write lock at once
    /// (so a read-then-write inside it cannot interleave with another writer) and has no row locks.
    /// </summary>
    public static readonly SqlDialect Sqlite = new("Sqlite", "", "");

    /// <summary>The folder of the dialect's migrations (Migrations/&lt;Name&gt;/).</summary>
    public string Name { get; }

    /// <summary>Appended to a SELECT whose rows a write transaction goes on to change: locks them until commit.</summary>
    public string ForUpdate { get; }

    /// <summary>Appended to a SELECT that claims work: locks the rows it returns and skips rows another claimer holds.</summary>
    public string ForUpdateSkipLocked { get; }

    /// <summary>A write transaction (SQLite: BEGIN IMMEDIATE).</summary>
    public ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? ValueTask.FromResult<DbTransaction>(sqlite.BeginTransaction(deferred: false))
            : connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);

    /// <summary>
    /// A read-only snapshot transaction: several queries see one consistent state. SQLite: a deferred BEGIN, which in
    /// WAL mode reads a snapshot and never takes the write lock uploads need.
    /// </summary>
    public ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken ct) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? ValueTask.FromResult<DbTransaction>(sqlite.BeginTransaction(deferred: true))
            : connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
}
