using System.Data;
using System.Data.Common;

namespace OverlapEscrow.Data;

/// <summary>
/// What differs between the databases the escrow runs on, and nothing else: how transactions take their locks, how a
/// statement locks the rows it reads, and the few expressions the two write differently. Every write that must not
/// interleave with another writer says so in its SQL (<see cref="ForUpdate"/> on the rows it reads before it writes, or a
/// compare-and-set UPDATE), so the same code holds on a database that runs writers concurrently (docs/architecture.md,
/// "Databases and dialects", lists every such place).
/// </summary>
public sealed class SqlDialect
{
    private readonly Func<string, string, string> _jsonText;
    private readonly Func<string, string, string> _in;
    private readonly Func<long, string>? _transactionLock;

    private SqlDialect(string name, string forUpdate, string skipLocked, Func<string, string, string> @in, Func<string, string, string> jsonText,
        Func<long, string>? transactionLock)
    {
        _in = @in;
        Name = name;
        ForUpdate = forUpdate;
        ForUpdateSkipLocked = skipLocked;
        _jsonText = jsonText;
        _transactionLock = transactionLock;
    }

    /// <summary>
    /// SQLite: a write transaction starts with BEGIN IMMEDIATE, which takes the database's single write lock at once
    /// (so a read-then-write inside it cannot interleave with another writer) and has no row locks.
    /// </summary>
    public static readonly SqlDialect Sqlite = new("Sqlite", "", "",
        (expression, list) => $"{expression} IN @{list}",
        (column, property) => $"json_extract({column}, '$.{property}')",
        transactionLock: null);

    /// <summary>
    /// PostgreSQL: write transactions are READ COMMITTED, and writers that must take turns lock rows (FOR UPDATE) or
    /// compare-and-set; where there is no row to lock, a transaction-scoped advisory lock (<see cref="TransactionLock"/>).
    /// </summary>
    public static readonly SqlDialect Postgres = new("Postgres", " FOR UPDATE", " FOR UPDATE SKIP LOCKED",
        (expression, list) => $"{expression} = ANY(@{list})",
        (column, property) => $"({column}::jsonb ->> '{property}')",
        key => $"SELECT pg_advisory_xact_lock({key})");

    /// <summary>The folder of the dialect's migrations (Migrations/&lt;Name&gt;/).</summary>
    public string Name { get; }

    /// <summary>Appended to a SELECT whose rows a write transaction goes on to change: locks them until commit.</summary>
    public string ForUpdate { get; }

    /// <summary>
    /// Appended to a SELECT of a row held only to take turns with other holders, not to change its key: on PostgreSQL
    /// FOR NO KEY UPDATE, which excludes other holders but not the KEY SHARE lock a foreign-key check takes on the row (a
    /// transaction inserting a row that references it — a release, a history point — would otherwise wait for the holder
    /// while holding what the holder waits for: a deadlock). Nothing on SQLite, whose write transaction excludes the rest.
    /// </summary>
    public string ForNoKeyUpdate => ReferenceEquals(this, Postgres) ? " FOR NO KEY UPDATE" : "";

    /// <summary>Appended to a SELECT that claims work: locks the rows it returns and skips rows another claimer holds.</summary>
    public string ForUpdateSkipLocked { get; }

    /// <summary>
    /// <paramref name="expression"/> is one of the values of the list parameter named <paramref name="list"/>. Dapper
    /// expands a list into one parameter per value for SQLite (IN @list); Npgsql takes the list as one array parameter,
    /// which PostgreSQL compares with = ANY(@list) (also true for no value at all: an empty list matches nothing on both).
    /// </summary>
    public string In(string expression, string list) => _in(expression, list);

    /// <summary>A top-level property of a JSON text column, as text (SQLite's json_extract, PostgreSQL's ->>).</summary>
    /// <param name="column">A column name written in the repository's SQL, never input.</param>
    /// <param name="property">A property name written in the repository's SQL, never input.</param>
    public string JsonText(string column, string property) => _jsonText(column, property);

    /// <summary>
    /// A statement that makes the transactions naming <paramref name="key"/> take turns where there is no row to lock
    /// (PostgreSQL: pg_advisory_xact_lock, released at commit); null where the write transaction already excludes every
    /// other writer (SQLite).
    /// </summary>
    public string? TransactionLock(long key) => _transactionLock?.Invoke(key);

    /// <summary>A write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED, locks taken by the statements).</summary>
    public ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? ValueTask.FromResult<DbTransaction>(sqlite.BeginTransaction(deferred: false))
            : connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);

    /// <summary>
    /// A read-only snapshot transaction: several queries see one consistent state. SQLite: a deferred BEGIN, which in
    /// WAL mode reads a snapshot and never takes the write lock uploads need. PostgreSQL: REPEATABLE READ, one snapshot
    /// for the whole transaction (a read-only one never fails to serialize).
    /// </summary>
    public ValueTask<DbTransaction> BeginReadAsync(DbConnection connection, CancellationToken ct) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? ValueTask.FromResult<DbTransaction>(sqlite.BeginTransaction(deferred: true))
            : connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
}
