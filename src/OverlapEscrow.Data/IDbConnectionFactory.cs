using System.Data.Common;

namespace OverlapEscrow.Data;

/// <summary>Opens a ready-to-use connection per unit of work (pooling is the provider's job).</summary>
public interface IDbConnectionFactory
{
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// A connection for a short read that the factory may keep open afterwards, with its compiled statements (SQLite:
    /// <see cref="Sqlite.SqliteConnectionFactory.OpenKeptAsync"/>); always given back with <see cref="ReleaseAsync"/>.
    /// </summary>
    Task<DbConnection> OpenKeptAsync(CancellationToken cancellationToken = default) => OpenAsync(cancellationToken);

    /// <summary>Gives back a connection of <see cref="OpenKeptAsync"/> (by default: closes it into the provider's pool).</summary>
    ValueTask ReleaseAsync(DbConnection connection) => connection.DisposeAsync();
}

/// <summary>The schema's conventions: times are Unix milliseconds (UTC). They never leave this project.</summary>
internal static class Time
{
    public static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();
    public static long? ToUnixMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();
    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
    public static DateTimeOffset? FromUnixMs(long? value) => value is { } v ? FromUnixMs(v) : null;
}
