using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Keys;
using OverlapEscrow.Data.Maintenance;
using OverlapEscrow.Data.Organizations;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Data.Privacy;
using OverlapEscrow.Data.Schedules;
using OverlapEscrow.Data.Signals;
using OverlapEscrow.Data.Postgres;
using OverlapEscrow.Data.Sqlite;
using OverlapEscrow.Data.Webhooks;

namespace OverlapEscrow.Data;

/// <summary>Wiring of the storage the application's interfaces run on; the host calls it and nothing else of this project.</summary>
public static class StorageRegistration
{
    /// <summary>The embedded SQLite database at <paramref name="databasePath"/>, its migrations and every store.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, string databasePath)
    {
        var factory = new SqliteConnectionFactory(databasePath);
        return services.AddStores(SqlDialect.Sqlite, _ => factory, _ => new DatabaseMaintenance(factory), $"sqlite {Path.GetFullPath(databasePath)}");
    }

    /// <summary>
    /// The PostgreSQL database of <paramref name="connectionString"/>, its migrations and every store: the same stores and
    /// SQL as SQLite, with the PostgreSQL dialect. <paramref name="localMarker"/> is a path in the data directory that stands
    /// for the database in the local service lock (there is no database file).
    /// </summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, string connectionString, string localMarker)
    {
        return services.AddStores(SqlDialect.Postgres, _ => new PostgresConnectionFactory(connectionString),
            sp => new PostgresMaintenance(sp.GetRequiredService<IDbConnectionFactory>(), localMarker), DescribePostgres(connectionString));
    }

    /// <summary>"postgres host:port/database": where the database is, without the user, the password or any other setting.</summary>
    public static string DescribePostgres(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres {builder.Host}:{builder.Port}/{builder.Database}";
    }

    /// <summary>
    /// What is wrong with a PostgreSQL connection string, as the end of a sentence that names it ("is not …"), or null when
    /// it is usable. Never quotes the string or any part of it: it may hold a password.
    /// </summary>
    public static string? PostgresConnectionStringProblem(string connectionString)
    {
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            if (string.IsNullOrWhiteSpace(builder.Host)) return "names no Host.";
            if (string.IsNullOrWhiteSpace(builder.Database)) return "names no Database (the escrow's own database, created empty beforehand).";
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or InvalidOperationException)
        {
            // Npgsql's message may quote the offending part, which could be the password: not repeated.
            return "is not a valid PostgreSQL connection string (docs/operations.md shows its form).";
        }
    }

    /// <summary>Every store, on the connections of <paramref name="connections"/> (a singleton the container disposes).</summary>
    private static IServiceCollection AddStores(this IServiceCollection services, SqlDialect dialect, Func<IServiceProvider, IDbConnectionFactory> connections,
        Func<IServiceProvider, IDatabaseMaintenance> maintenance, string description)
    {
        DapperSetup.Configure();
        services.AddSingleton(connections);
        services.AddSingleton(dialect);
        services.AddSingleton<IDbScope>(sp => new AutoCommitScope(sp.GetRequiredService<IDbConnectionFactory>(), dialect));
        services.AddSingleton<IAccountRepository>(sp => new AccountRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IPopulationRepository>(sp => new PopulationRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IPartnershipRepository>(sp => new PartnershipRepository(sp.GetRequiredService<IDbScope>()));
        // Appends outside a unit of work are group-committed (one writer, many events per transaction and fsync).
        services.AddSingleton(sp => new AuditGroupCommit(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IAuditRepository>(sp => new AuditRepository(sp.GetRequiredService<IDbScope>(), sp.GetRequiredService<AuditGroupCommit>()));
        services.AddSingleton<IVersionColumnStore>(sp => new VersionColumnRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IOverlapHistoryRepository>(sp => new OverlapHistoryRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<ICountReleaseRepository>(sp => new CountReleaseRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IHealthReleaseRepository>(sp => new HealthReleaseRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IWebhookRepository>(sp => new WebhookRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IScheduleRepository>(sp => new ScheduleRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IDataRequestRepository>(sp => new DataRequestRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IAttributionRepository>(sp => new AttributionRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IOrganizationErasureStore>(sp => new OrganizationErasureRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<ISealedValueStore>(sp => new SealedValueRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IAuditViewStore>(sp => new AuditViewRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton<IRefreshQueueRepository>(sp => new RefreshQueueRepository(sp.GetRequiredService<IDbScope>()));
        services.AddSingleton(maintenance);
        // Moving an SQLite escrow into PostgreSQL names both databases itself, whichever this one is.
        services.AddSingleton<IDatabaseCopy, DatabaseCopy>();
        services.AddSingleton<ITransactions>(sp => new Transactions(sp.GetRequiredService<IDbConnectionFactory>(), dialect));
        services.AddSingleton<ITransientFailures, TransientFailures>();
        services.AddSingleton<IStorageHealth>(sp => new StorageHealth(sp.GetRequiredService<IDbConnectionFactory>(), description));
        services.AddSingleton<IStorageMigrations>(sp => new StorageMigrations(new Migrator(sp.GetRequiredService<IDbConnectionFactory>(), dialect)));
        return services;
    }
}

internal sealed class StorageMigrations(Migrator migrator) : IStorageMigrations
{
    public Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct) => migrator.MigrateAsync(ct);

    public Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct) => migrator.PendingAsync(ct);
}

internal sealed class StorageHealth(IDbConnectionFactory connections, string description) : IStorageHealth
{
    public string Description => description;

    public async Task<bool> IsAvailableAsync(CancellationToken ct)
    {
        try
        {
            await using var connection = await connections.OpenAsync(ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(ct);
            return true;
        }
        catch (DbException)
        {
            return false;
        }
    }
}

internal sealed class Transactions(IDbConnectionFactory connections, SqlDialect dialect) : ITransactions
{
    public async Task<IUnitOfWork> BeginAsync(CancellationToken ct)
    {
        var connection = await connections.OpenAsync(ct);
        try
        {
            var transaction = await dialect.BeginWriteAsync(connection, ct);
            return new UnitOfWork(connection, transaction, dialect);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A read snapshot on a connection the factory may keep open with its compiled statements (every matrix and
    /// list read loads its partner view in one); the connection goes back to the factory once the snapshot has ended.</summary>
    public async Task<IUnitOfWork> BeginReadAsync(CancellationToken ct)
    {
        var connection = await connections.OpenKeptAsync(ct);
        try
        {
            var transaction = await dialect.BeginReadAsync(connection, ct);
            return new UnitOfWork(connection, transaction, dialect, connections);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

/// <summary>One connection and one write transaction, with every store bound to it.</summary>
internal sealed class UnitOfWork : IUnitOfWork
{
    private readonly DbConnection _connection;
    private readonly DbTransaction _transaction;
    private readonly List<Action> _afterCommit = [];
    private readonly IDbConnectionFactory? _release;
    private bool _done;

    /// <param name="release">Where the connection goes back when the unit ends (a read unit's); null: it is closed.</param>
    public UnitOfWork(DbConnection connection, DbTransaction transaction, SqlDialect dialect, IDbConnectionFactory? release = null)
    {
        _release = release;
        _connection = connection;
        _transaction = transaction;
        var scope = new UnitOfWorkScope(connection, transaction, dialect);
        Accounts = new AccountRepository(scope);
        Populations = new PopulationRepository(scope);
        Partnerships = new PartnershipRepository(scope);
        Audit = new AuditRepository(scope);
        History = new OverlapHistoryRepository(scope);
        Releases = new CountReleaseRepository(scope);
        HealthReleases = new HealthReleaseRepository(scope);
        Webhooks = new WebhookRepository(scope);
        Schedules = new ScheduleRepository(scope);
        DataRequests = new DataRequestRepository(scope);
        Attributions = new AttributionRepository(scope);
        VersionColumns = new VersionColumnRepository(scope);
        Erasure = new OrganizationErasureRepository(scope);
        Outbox = new EventOutbox(scope);
        RefreshQueue = new RefreshQueueRepository(scope);
    }

    public IAccountRepository Accounts { get; }
    public IPopulationRepository Populations { get; }
    public IPartnershipRepository Partnerships { get; }
    public IAuditRepository Audit { get; }
    public IOverlapHistoryRepository History { get; }
    public ICountReleaseRepository Releases { get; }
    public IHealthReleaseRepository HealthReleases { get; }
    public IWebhookRepository Webhooks { get; }
    public IScheduleRepository Schedules { get; }
    public IDataRequestRepository DataRequests { get; }
    public IAttributionRepository Attributions { get; }
    public IVersionColumnStore VersionColumns { get; }
    public IOrganizationErasureStore Erasure { get; }
    public IEventOutbox Outbox { get; }
    public IRefreshQueueRepository RefreshQueue { get; }

    public void AfterCommit(Action action) => _afterCommit.Add(action);

    public async Task CommitAsync(CancellationToken ct)
    {
        if (_done) throw new InvalidOperationException("The unit of work has ended.");
        await _transaction.CommitAsync(ct);
        _done = true;
        foreach (var action in _afterCommit) action();
    }

    public ValueTask DisposeAsync() => Db.EndAsync(_connection, _transaction, _release);
}
