namespace OverlapEscrow.Application.Storage;

/// <summary>One table copied: its name and how many rows went in.</summary>
public sealed record TableCopied(string Table, long Rows);

/// <summary>
/// One table's content as of one moment: its row count and a SHA-256 over every row, in primary-key order, each value
/// in a form both databases give alike (an integer and a boolean as a 64-bit integer, text as UTF-8, a blob as bytes).
/// </summary>
public sealed record TableDigest(string Table, long Rows, string Sha256);

/// <summary>
/// What moving an escrow from its SQLite file into PostgreSQL needs of storage (the operator's `admin copy-to-postgres`
/// and `admin verify-copy`; docs/operations.md, "Moving to PostgreSQL"). The target is an Npgsql connection string,
/// which no message repeats (it may hold a password).
/// </summary>
public interface IDatabaseCopy
{
    /// <summary>The target named without its password: database, host, port and user.</summary>
    string DescribeTarget(string target);

    /// <summary>What the target database already holds in its schema (tables, views, sequences, functions), by name: empty when it is empty.</summary>
    Task<IReadOnlyList<string>> TargetContentsAsync(string target, CancellationToken ct);

    /// <summary>
    /// Copies every table of the SQLite database at <paramref name="sqlitePath"/> (a snapshot nothing else writes to;
    /// its own migrations are brought up to date first) into the empty <paramref name="target"/>: in one transaction, the
    /// PostgreSQL migrations, then each table in foreign-key order, streamed row by row (memory does not grow with the
    /// table), each value converted to the target column's type, and every identity restarted after the largest value
    /// copied. A table or column of the source without a counterpart in the target fails the copy, and the target stays
    /// empty. <paramref name="progress"/> hears of each table as it is done.
    /// </summary>
    Task<IReadOnlyList<TableCopied>> CopyAsync(string sqlitePath, string target, Action<TableCopied>? progress, CancellationToken ct);

    /// <summary>Every table of the SQLite database at <paramref name="sqlitePath"/>, digested (by table name).</summary>
    Task<IReadOnlyList<TableDigest>> DigestSqliteAsync(string sqlitePath, CancellationToken ct);

    /// <summary>Every table of the PostgreSQL database <paramref name="target"/>, digested (by table name).</summary>
    Task<IReadOnlyList<TableDigest>> DigestTargetAsync(string target, CancellationToken ct);
}
