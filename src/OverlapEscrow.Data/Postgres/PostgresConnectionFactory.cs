using System.Data.Common;
using Npgsql;

namespace OverlapEscrow.Data.Postgres;

/// <summary>Connections to a PostgreSQL database from one pooled data source (several instances may share the database).</summary>
public sealed class PostgresConnectionFactory : IDbConnectionFactory, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresConnectionFactory(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Named in pg_stat_activity, so an operator can tell the escrow's sessions from others.
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "overlap-escrow";
        _dataSource = NpgsqlDataSource.Create(builder);
        Database = builder.Database ?? "";
    }

    /// <summary>The database's name (never the connection string: it may hold a password).</summary>
    public string Database { get; }

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();
}
