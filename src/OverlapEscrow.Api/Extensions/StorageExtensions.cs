using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Hosting;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Data;

namespace OverlapEscrow.Api.Extensions;

/// <summary>The wiring of the layers: the only place the host names the data layer.</summary>
public static class StorageExtensions
{
    /// <summary>The database (SQLite under the data directory, or PostgreSQL: Escrow:Database) and the escrow's secrets.</summary>
    public static WebApplicationBuilder AddEscrowStorage(this WebApplicationBuilder builder)
    {
        builder.AddEscrowStorageCore();
        // Data Protection seals the overlap-list cursors and the dashboard's cookies; its key ring stays with the escrow's
        // other keys, not in the user profile. The application name is fixed: by default it is the content root (the
        // folder the service runs from), so two instances installed in different folders could not open each other's
        // cursors or cookies even with one key ring (docs/operations.md, "Several instances").
        builder.Services.AddDataProtection().SetApplicationName("overlap-escrow");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<EscrowSecrets, ILoggerFactory>((o, keys, logs) =>
            o.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(Path.Combine(keys.Directory, "data-protection")), logs));
        builder.Services.AddHostedService<StartupTasks>();
        return builder;
    }

    /// <summary>The use cases, their settings, and the background services that run them.</summary>
    public static WebApplicationBuilder AddEscrowFeatures(this WebApplicationBuilder builder)
    {
        builder.AddEscrowFeaturesCore();
        builder.Services.AddHostedService<AbandonedUploadSweeper>();
        builder.Services.AddHostedService<OwedPurgeWorker>();
        builder.Services.AddHostedService<IdleMemoryRelease>();
        builder.Services.AddHostedService<OverlapRefreshWorker>();
        builder.Services.AddHostedService<CacheWarmUpWorker>();
        builder.Services.AddHostedService<WebhookDeliveryWorker>();
        builder.Services.AddHostedService<ScheduleWorker>();
        builder.Services.AddHostedService<AuditCheckpointWorker>();
        return builder;
    }

    /// <summary>What the operator's command line (`admin …`) needs: the same storage, keys and use cases, without the web host or background services.</summary>
    public static IHostApplicationBuilder AddEscrowAdmin(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EscrowOptions>().Bind(builder.Configuration.GetSection(EscrowOptions.Section)).ValidateDataAnnotations();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddEscrowStorageCore();
        builder.AddEscrowFeaturesCore();
        return builder;
    }

    /// <summary>What is wrong with a PostgreSQL connection string (never quoting it), or null: the data layer judges it.</summary>
    public static string? PostgresConnectionStringProblem(string connectionString) => StorageRegistration.PostgresConnectionStringProblem(connectionString);

    private static void AddEscrowStorageCore(this IHostApplicationBuilder builder)
    {
        var escrow = builder.Configuration.GetSection(EscrowOptions.Section).Get<EscrowOptions>() ?? new EscrowOptions();
        Directory.CreateDirectory(escrow.DataDirectory);
        escrow.Database.ThrowIfInvalid(StorageRegistration.PostgresConnectionStringProblem);
        if (escrow.Database.IsPostgres)
            // The data directory keeps the secrets (unless placed elsewhere) and the local service lock's file.
            builder.Services.AddPostgresStorage(escrow.Database.ConnectionString!, Path.Combine(escrow.DataDirectory, "postgres"));
        else
            builder.Services.AddSqliteStorage(Path.Combine(escrow.DataDirectory, "escrow.db"));
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EscrowOptions>>().Value;
            return new EscrowSecrets(o.SecretsPath, o.KeyringPath);
        });
    }

    private static void AddEscrowFeaturesCore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddEscrowApplication();
        builder.Services.AddSingleton<ILegacyPasswordVerifier, PlatformPasswordHasher>();
        builder.Bind<CacheOptions>(EscrowOptions.Section);
        builder.Bind<UploadOptions>(EscrowOptions.Section + ":Uploads");
        builder.Bind<HistoryOptions>(EscrowOptions.Section + ":History");
        builder.Bind<RefreshOptions>(EscrowOptions.Section + ":Refresh");
        builder.Bind<OutboundOptions>(EscrowOptions.Section + ":Outbound");
        builder.Bind<WebhookOptions>(EscrowOptions.Section + ":Webhooks");
        builder.Bind<PasswordOptions>(EscrowOptions.Section + ":Passwords");
        builder.Bind<SignupOptions>(EscrowOptions.Section + ":Signup");
        builder.Bind<AuditOptions>(EscrowOptions.Section + ":Audit");
        builder.Bind<Application.Privacy.PrivacyOptions>(EscrowOptions.Section + ":Privacy");
        builder.Bind<Application.Health.HealthPrivacyOptions>(EscrowOptions.Section + ":Privacy:Health");
        builder.Services.AddOptions<ScheduleOptions>()
            .Bind(builder.Configuration.GetSection(EscrowOptions.Section + ":Schedules"))
            .ValidateDataAnnotations()
            .Validate(o => o.PullDirectories.All(d => !string.IsNullOrWhiteSpace(d) && Path.IsPathFullyQualified(d)),
                "Escrow:Schedules:PullDirectories holds absolute paths only.")
            .ValidateOnStart();
    }

    private static void Bind<T>(this IHostApplicationBuilder builder, string section) where T : class =>
        builder.Services.AddOptions<T>().Bind(builder.Configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
}
