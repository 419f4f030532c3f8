using System.Data.Common;
using Dapper;
using OverlapEscrow.Data.Sqlite;

namespace OverlapEscrow.Data;

/// <summary>
/// Where a repository's statements run: a fresh pooled connection per call (auto-commit, each method its own
/// transaction where it needs one), or the one connection and transaction of a unit of work.
/// </summary>
internal interface IDbScope
{
    SqlDialect Dialect { get; }

    Task<Db> OpenAsync(CancellationToken ct);

    /// <summary>
    /// Like <see cref="OpenAsync"/>, for a short read on every request (the token check): on a connection the factory may
    /// keep open with its compiled statements (<see cref="IDbConnectionFactory.OpenKeptAsync"/>).
    /// </summary>
    Task<Db> OpenKeptAsync(CancellationToken ct);
}

internal sealed class AutoCommitScope(IDbConnectionFactory connections, SqlDialect dialect) : IDbScope
{
    public SqlDialect Dialect => dialect;

    public async Task<Db> OpenAsync(CancellationToken ct) => new(await connections.OpenAsync(ct), null, ownsConnection: true, dialect, ct);

    public async Task<Db> OpenKeptAsync(CancellationToken ct) =>
        new(await connections.OpenKeptAsync(ct), null, ownsConnection: true, dialect, ct, release: connections);
}

internal sealed class UnitOfWorkScope(DbConnection connection, DbTransaction transaction, SqlDialect dialect) : IDbScope
{
    public SqlDialect Dialect => dialect;

    public Task<Db> OpenAsync(CancellationToken ct) => Task.FromResult(new Db(connection, transaction, ownsConnection: false, dialect, ct));

    public Task<Db> OpenKeptAsync(CancellationToken ct) => OpenAsync(ct);
}

/// <summary>
/// One repository call's connection, transaction and cancellation token, with Dapper calls that always pass both:
/// no statement runs outside the transaction it belongs to or without the caller's cancellation. On a connection kept
/// with its compiled statements (<see cref="StatementCache"/>), reads whose arguments it binds run on the kept statement
/// instead of a new command; everything else goes through Dapper.
/// </summary>
internal sealed class Db(DbConnection connection, DbTransaction? transaction, bool ownsConnection, SqlDialect dialect, CancellationToken ct,
    IDbConnectionFactory? release = null) : IAsyncDisposable
{
    private readonly StatementCache? _statements = StatementCache.Of(connection);

    private DbTransaction? _transaction = transaction;

    public SqlDialect Dialect => dialect;

    /// <summary>
    /// A write transaction for this call, taking the write lock per the dialect. Inside a unit of work it is a savepoint
    /// of the unit's transaction: committing releases it (the unit commits everything at once), leaving without
    /// committing rolls back what this call wrote and nothing else.
    /// </summary>
    public async Task<Transaction> BeginWriteAsync()
    {
        if (_transaction is not null) return await Transaction.SavepointAsync(_transaction, ct);
        _transaction = await dialect.BeginWriteAsync(connection, ct);
        return new Transaction(this, null, null);
    }

    /// <summary>A snapshot read over several statements (inside a unit of work: the unit's transaction).</summary>
    public async Task<Transaction> BeginReadAsync()
    {
        if (_transaction is not null) return new Transaction(null, null, null);
        _transaction = await dialect.BeginReadAsync(connection, ct);
        return new Transaction(this, null, null);
    }

    private CommandDefinition Command(string sql, object? args) => new(sql, args, _transaction, cancellationToken: ct);

    public Task<int> ExecuteAsync(string sql, object? args = null) =>
        _statements?.TryBind(sql, args, _transaction) is { } kept ? kept.ExecuteNonQueryAsync(ct) : connection.ExecuteAsync(Command(sql, args));

    public Task<T?> ScalarAsync<T>(string sql, object? args = null) =>
        _statements?.TryBind(sql, args, _transaction) is { } kept ? StatementCache.ScalarAsync<T>(kept, ct) : connection.ExecuteScalarAsync<T>(Command(sql, args));

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null) =>
        _statements?.TryBind(sql, args, _transaction) is { } kept ? await StatementCache.QueryAsync<T>(kept, ct) : (await connection.QueryAsync<T>(Command(sql, args))).AsList();

    public Task<T?> FirstOrDefaultAsync<T>(string sql, object? args = null) =>
        _statements?.TryBind(sql, args, _transaction) is { } kept ? StatementCache.FirstOrDefaultAsync<T>(kept, ct) : connection.QueryFirstOrDefaultAsync<T>(Command(sql, args));

    public Task<T> SingleAsync<T>(string sql, object? args = null) =>
        _statements?.TryBind(sql, args, _transaction) is { } kept ? StatementCache.SingleAsync<T>(kept, ct) : connection.QuerySingleAsync<T>(Command(sql, args));

    public Task<DbDataReader> ReaderAsync(string sql, object? args = null) => connection.ExecuteReaderAsync(Command(sql, args));

    /// <summary>
    /// Runs a statement with one blob parameter taken from a slice of a buffer (<paramref name="blob"/>), the others
    /// (strings, integers, byte arrays) from <paramref name="args"/>: neither provider is given a copy of the slice as an
    /// array of its own. An upload's segments and column parts are sealed into buffers it reuses; binding them through
    /// Dapper would need an exact-length array of each, a fresh large-object array per part. SQLite binds the span on the
    /// connection's own handle (Microsoft.Data.Sqlite takes only arrays), PostgreSQL takes the memory as a parameter value.
    /// </summary>
    public Task<int> ExecuteWithBlobAsync(string sql, IReadOnlyList<(string Name, object Value)> args, string blobName, ReadOnlyMemory<byte> blob)
    {
        ct.ThrowIfCancellationRequested();
        if (connection is Microsoft.Data.Sqlite.SqliteConnection sqlite) return Task.FromResult(SqliteBlobStatement.Execute(sqlite, sql, args, blobName, blob.Span));
        return ExecuteWithBlobCommandAsync(sql, args, blobName, blob);
    }

    private async Task<int> ExecuteWithBlobCommandAsync(string sql, IReadOnlyList<(string Name, object Value)> args, string blobName, ReadOnlyMemory<byte> blob)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _transaction;
        foreach (var (name, value) in args)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        command.Parameters.Add(new Npgsql.NpgsqlParameter<ReadOnlyMemory<byte>>(blobName, NpgsqlTypes.NpgsqlDbType.Bytea) { TypedValue = blob });
        return await command.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (ownsConnection) await EndAsync(connection, _transaction, release);
    }

    /// <summary>
    /// Ends a connection's unit: its transaction (if any) disposed, then the connection given back to
    /// <paramref name="release"/> (a kept one) or closed; closed too when ending the transaction fails.
    /// </summary>
    internal static async ValueTask EndAsync(DbConnection connection, DbTransaction? transaction, IDbConnectionFactory? release)
    {
        try
        {
            if (transaction is not null) await transaction.DisposeAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        if (release is not null) await release.ReleaseAsync(connection);
        else await connection.DisposeAsync();
    }

    /// <summary>A transaction this call began, or a savepoint in the unit of work's; leaving it uncommitted rolls it back.</summary>
    public sealed class Transaction : IAsyncDisposable
    {
        private readonly Db? _owner;
        private readonly DbTransaction? _outer;
        private string? _savepoint;

        internal Transaction(Db? owner, DbTransaction? outer, string? savepoint) => (_owner, _outer, _savepoint) = (owner, outer, savepoint);

        internal static async Task<Transaction> SavepointAsync(DbTransaction outer, CancellationToken ct)
        {
            var name = "sp_" + Guid.NewGuid().ToString("N");
            await outer.SaveAsync(name, ct);
            return new Transaction(null, outer, name);
        }

        public async Task CommitAsync()
        {
            if (_savepoint is not null)
            {
                await _outer!.ReleaseAsync(_savepoint);
                _savepoint = null;
            }
            else if (_owner?._transaction is { } tx)
            {
                await tx.CommitAsync(_owner.CancellationToken);
                await tx.DisposeAsync();
                _owner._transaction = null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_savepoint is not null)
            {
                await _outer!.RollbackAsync(_savepoint);
                await _outer.ReleaseAsync(_savepoint);
                _savepoint = null;
            }
            else if (_owner?._transaction is { } tx)
            {
                await tx.DisposeAsync(); // not committed: rolled back
                _owner._transaction = null;
            }
        }
    }

    private CancellationToken CancellationToken => ct;
}
