using System.Data.Common;
using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Populations;
using Xunit.Sdk;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// Runs a storage contract test once per configured database provider (bitwarden/server's DatabaseDataAttribute
/// idea): SQLite always, on a fresh file; PostgreSQL when <see cref="Stores.PostgresVariable"/> names a server, on a fresh
/// database.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StorageDataAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => Stores.Providers.Select(p => new object[] { p });
}

/// <summary>A test about PostgreSQL itself: shown as skipped, with the reason, when no server is configured.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (Stores.PostgresServer is null)
            Skip = $"{Stores.PostgresVariable} is not set: no PostgreSQL server for this run (scripts/test starts one when PostgreSQL is installed).";
    }
}

/// <summary>A theory about PostgreSQL itself: shown as skipped, with the reason, when no server is configured.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (Stores.PostgresServer is null)
            Skip = new PostgresFactAttribute().Skip;
    }
}

/// <summary>A fresh, migrated database of one provider with every store of the application's storage interfaces.</summary>
public sealed class Stores : IAsyncDisposable
{
    /// <summary>
    /// The environment variable holding a connection string to a PostgreSQL server where the tests may create and drop
    /// databases (scripts/postgres-cluster prints one; .ci/run and scripts/test set it).
    /// </summary>
    public const string PostgresVariable = "OE_TEST_POSTGRES";

    public static string? PostgresServer => Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } s ? s : null;

    public static IReadOnlyList<string> Providers => PostgresServer is null ? ["sqlite"] : ["sqlite", "postgres"];

    private readonly ServiceProvider _services;
    private readonly string _directory;
    private readonly List<ServiceProvider> _instances = [];

    private readonly bool _owner;

    private Stores(string provider, ServiceProvider services, string directory, string? database, bool owner = true)
    {
        _owner = owner;
        Provider = provider;
        _services = services;
        _directory = directory;
        Database = database;
    }

    public string Provider { get; }

    /// <summary>The PostgreSQL database's name (null on SQLite).</summary>
    public string? Database { get; }

    public static async Task<Stores> CreateAsync(string provider)
    {
        var directory = Path.Combine(Path.GetTempPath(), "oe-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string? database = null;
        if (provider == "postgres")
            database = await CreateDatabaseAsync();
        else if (provider != "sqlite")
            throw new ArgumentException($"Unknown provider {provider}.", nameof(provider));
        var stores = new Stores(provider, Build(provider, directory, database), directory, database);
        await stores._services.GetRequiredService<IStorageMigrations>().MigrateAsync(CancellationToken.None);
        return stores;
    }

    private static ServiceProvider Build(string provider, string directory, string? database) =>
        (provider == "postgres"
            ? new ServiceCollection().AddPostgresStorage(ConnectionString(database!), Path.Combine(directory, "postgres"))
            : new ServiceCollection().AddSqliteStorage(Path.Combine(directory, "escrow.db"))).BuildServiceProvider();

    /// <summary>The connection string of one of the server's databases.</summary>
    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(PostgresServer ?? throw new InvalidOperationException($"{PostgresVariable} is not set."))
        {
            Database = database,
        }.ConnectionString;

    /// <summary>A new empty database with a random name on the configured server.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "oe_test_" + Guid.NewGuid().ToString("N");
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresServer!) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await admin.ExecuteAsync($"CREATE DATABASE {name}");
        return name;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing whatever connections are left.</summary>
    public static async Task DropDatabaseAsync(string name)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(PostgresServer!) { Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    /// <summary>
    /// Another instance of the service on the same database: its own connection pool, its own group committer, nothing
    /// shared in memory with this one (what two processes behind a load balancer share is the database only).
    /// </summary>
    public Stores SecondInstance()
    {
        var services = Build(Provider, _directory, Database);
        _instances.Add(services);
        return new Stores(Provider, services, _directory, Database, owner: false);
    }

    /// <summary>A connection of the test's own to the database (not from the stores' pool).</summary>
    public DbConnection OpenConnection()
    {
        DbConnection connection = Provider == "postgres"
            ? new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString(Database!)) { Pooling = false }.ConnectionString)
            : new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    public IDbConnectionFactory Connections => _services.GetRequiredService<IDbConnectionFactory>();
    public IAccountRepository Accounts => _services.GetRequiredService<IAccountRepository>();
    public IPopulationRepository Populations => _services.GetRequiredService<IPopulationRepository>();
    public IPartnershipRepository Partnerships => _services.GetRequiredService<IPartnershipRepository>();
    public IAuditRepository Audit => _services.GetRequiredService<IAuditRepository>();
    public IOverlapHistoryRepository History => _services.GetRequiredService<IOverlapHistoryRepository>();
    public ICountReleaseRepository Releases => _services.GetRequiredService<ICountReleaseRepository>();
    public IHealthReleaseRepository HealthReleases => _services.GetRequiredService<IHealthReleaseRepository>();
    public IWebhookRepository Webhooks => _services.GetRequiredService<IWebhookRepository>();
    public IScheduleRepository Schedules => _services.GetRequiredService<IScheduleRepository>();
    public IDataRequestRepository DataRequests => _services.GetRequiredService<IDataRequestRepository>();
    public IAttributionRepository Attributions => _services.GetRequiredService<IAttributionRepository>();
    public ITransactions Transactions => _services.GetRequiredService<ITransactions>();
    public IVersionColumnStore VersionColumns => _services.GetRequiredService<IVersionColumnStore>();
    public IAuditViewStore AuditViews => _services.GetRequiredService<IAuditViewStore>();
    public IRefreshQueueRepository RefreshQueue => _services.GetRequiredService<IRefreshQueueRepository>();
    internal OverlapEscrow.Data.Audit.AuditGroupCommit AuditGroupCommit => _services.GetRequiredService<OverlapEscrow.Data.Audit.AuditGroupCommit>();

    /// <summary>The database file, for a second connection of the test's own (a lock held, a trigger installed).</summary>
    public string DatabasePath => Path.Combine(_directory, "escrow.db");

    public static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A member as the storage contract sees it: stored under a lookup (here the email itself, as the storage compares it
    /// whatever its form) with an identity that is opaque bytes to it (sealing is Accounts.MemberIdentities' work).
    /// </summary>
    public static StoredMember Member(string organizationId, string emailLookup, string role) =>
        new(Ids.New("mem"), organizationId, emailLookup, new OverlapEscrow.Application.Keys.SealedValue(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12), [2], 1),
            role, T0);

    /// <summary>The forms <see cref="Member"/>'s lookup is matched under: itself, as a lookup of a sealed row.</summary>
    public static EmailForms Forms(string emailLookup) => new([emailLookup], emailLookup);

    /// <summary>A new organization with an admin (its data keys live in the keyring, outside the database).</summary>
    public async Task<string> OrganizationAsync(string slug)
    {
        var id = Ids.New("org");
        var created = await Accounts.CreateOrganizationAsync(new Organization(id, slug, slug + " Inc.", T0),
            Member(id, $"admin@{slug}.example", Roles.Admin), Forms($"admin@{slug}.example"), CancellationToken.None);
        Assert.True(created);
        return id;
    }

    public async Task<string> PopulationAsync(string organizationId, string name = "Customers")
    {
        var id = Ids.New("pop");
        Assert.True(await Populations.CreateAsync(new PopulationSummary(id, organizationId, name, "customers", T0, null, 0, null), CancellationToken.None));
        return id;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances) await instance.DisposeAsync();
        await _services.DisposeAsync();
        if (!_owner) return;
        SqliteConnection.ClearAllPools();
        if (Database is not null) await DropDatabaseAsync(Database);
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
