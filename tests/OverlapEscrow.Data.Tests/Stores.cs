using System.Reflection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
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
/// idea): SQLite always, on a fresh file; other providers when their connection is configured for the test run.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StorageDataAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => Stores.Providers.Select(p => new object[] { p });
}

/// <summary>A fresh, migrated database of one provider with every store of the application's storage interfaces.</summary>
public sealed class Stores : IAsyncDisposable
{
    public static IReadOnlyList<string> Providers => ["sqlite"];

    private readonly ServiceProvider _services;
    private readonly string _directory;

    private Stores(ServiceProvider services, string directory)
    {
        _services = services;
        _directory = directory;
    }

    public static async Task<Stores> CreateAsync(string provider)
    {
        if (provider != "sqlite") throw new ArgumentException($"Unknown provider {provider}.", nameof(provider));
        var directory = Path.Combine(Path.GetTempPath(), "oe-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var services = new ServiceCollection().AddSqliteStorage(Path.Combine(directory, "escrow.db")).BuildServiceProvider();
        await services.GetRequiredService<IStorageMigrations>().MigrateAsync(CancellationToken.None);
        return new Stores(services, directory);
    }

    public IAccountRepository Accounts => _services.GetRequiredService<IAccountRepository>();
    public IPopulationRepository Populations => _services.GetRequiredService<IPopulationRepository>();
    public IPartnershipRepository Partnerships => _services.GetRequiredService<IPartnershipRepository>();
    public IAuditRepository Audit => _services.GetRequiredService<IAuditRepository>();
    public IOverlapHistoryRepository History => _services.GetRequiredService<IOverlapHistoryRepository>();
    public ICountReleaseRepository Releases => _services.GetRequiredService<ICountReleaseRepository>();
    public IWebhookRepository Webhooks => _services.GetRequiredService<IWebhookRepository>();
    public IScheduleRepository Schedules => _services.GetRequiredService<IScheduleRepository>();
    public IDataRequestRepository DataRequests => _services.GetRequiredService<IDataRequestRepository>();
    public IAttributionRepository Attributions => _services.GetRequiredService<IAttributionRepository>();
    public ITransactions Transactions => _services.GetRequiredService<ITransactions>();
    public IVersionColumnStore VersionColumns => _services.GetRequiredService<IVersionColumnStore>();
    public IAuditViewStore AuditViews => _services.GetRequiredService<IAuditViewStore>();
    internal OverlapEscrow.Data.Audit.AuditGroupCommit AuditGroupCommit => _services.GetRequiredService<OverlapEscrow.Data.Audit.AuditGroupCommit>();

    /// <summary>The database file, for a second connection of the test's own (a lock held, a trigger installed).</summary>
    public string DatabasePath => Path.Combine(_directory, "escrow.db");

    public static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A new organization with an admin (its data keys live in the keyring, outside the database).</summary>
    public async Task<string> OrganizationAsync(string slug)
    {
        var id = Ids.New("org");
        var created = await Accounts.CreateOrganizationAsync(new Organization(id, slug, slug + " Inc.", T0),
            new Member(Ids.New("mem"), id, $"admin@{slug}.example", "Admin", "hash", Roles.Admin, T0), CancellationToken.None);
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
        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
