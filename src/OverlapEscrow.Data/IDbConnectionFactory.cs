using System.Data.Common;

namespace OverlapEscrow.Data;

/// <summary>Opens a ready-to-use connection per unit of work (pooling is the provider's job).</summary>
public interface IDbConnectionFactory
{
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default);
}

public static class Time
{
    public static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
    public static DateTimeOffset? FromUnixMs(long? value) => value is { } v ? FromUnixMs(v) : null;
}

public static class Ids
{
    /// <summary>A new opaque id: a prefix naming the kind, then 128 random bits (time-ordered, RFC 9562 v7).</summary>
    public static string New(string prefix) => prefix + "_" + Guid.CreateVersion7().ToString("N");
}

public static class ReadTransaction
{
    /// <summary>
    /// A read-only snapshot transaction. SQLite's default BEGIN IMMEDIATE would take the write lock for the whole
    /// read; a deferred BEGIN in WAL mode reads a consistent snapshot while writers go on.
    /// </summary>
    public static async Task<DbTransaction> BeginAsync(DbConnection connection, CancellationToken ct) =>
        connection is Microsoft.Data.Sqlite.SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: true)
            : await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
}
