using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Demo;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Populations.Uploads;
using OverlapEscrow.Api.Webhooks;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Data.Sqlite;
using OverlapEscrow.Data.Webhooks;

namespace OverlapEscrow.Api.Extensions;

public static class StorageExtensions
{
    /// <summary>The embedded SQLite database under the data directory, its repositories, and the escrow's keys.</summary>
    public static WebApplicationBuilder AddEscrowStorage(this WebApplicationBuilder builder)
    {
        DapperSetup.Configure();
        builder.Services.AddSingleton<EscrowKeys>();
        builder.Services.AddSingleton<OrganizationKeys>();
        builder.Services.AddSingleton<IDbConnectionFactory>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EscrowOptions>>().Value;
            Directory.CreateDirectory(o.DataDirectory);
            return new SqliteConnectionFactory(Path.Combine(o.DataDirectory, "escrow.db"));
        });
        // Data Protection seals the overlap-list cursors; its key ring stays with the escrow's other keys, not in
        // the user profile.
        builder.Services.AddDataProtection();
        builder.Services.AddOptions<KeyManagementOptions>().Configure<EscrowKeys, ILoggerFactory>((o, keys, logs) =>
            o.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(Path.Combine(keys.Directory, "data-protection")), logs));
        builder.Services.AddSingleton<IAccountRepository, AccountRepository>();
        builder.Services.AddSingleton<IPopulationRepository, PopulationRepository>();
        builder.Services.AddSingleton<IPartnershipRepository, PartnershipRepository>();
        builder.Services.AddSingleton<IAuditRepository, AuditRepository>();
        builder.Services.AddSingleton<IOverlapHistoryRepository, OverlapHistoryRepository>();
        builder.Services.AddSingleton<IWebhookRepository, WebhookRepository>();
        builder.Services.AddHostedService<StartupTasks>();
        builder.Services.AddHostedService<AbandonedUploadSweeper>();
        return builder;
    }

    /// <summary>The upload pipeline, the overlap engine's caches and history, the demo loader, outbound HTTP and webhooks.</summary>
    public static WebApplicationBuilder AddEscrowFeatures(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RowRules>();
        builder.Services.AddSingleton<NdjsonUploadParser>();
        builder.Services.AddSingleton<CsvUploadParser>();
        builder.Services.AddSingleton<PopulationDataCache>();
        builder.Services.AddSingleton<OverlapCache>();
        builder.Services.AddSingleton<OverlapRefresher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OverlapRefresher>());
        builder.Services.AddScoped<UploadService>();
        builder.Services.AddScoped<OverlapService>();
        builder.Services.AddScoped<DemoSeeder>();
        builder.Services.AddOptions<OutboundOptions>().Bind(builder.Configuration.GetSection(EscrowOptions.Section + ":Outbound"))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IMachineAddresses, MachineAddresses>();
        builder.Services.AddSingleton<OutboundHttp>();
        builder.Services.AddOptions<HistoryOptions>().Bind(builder.Configuration.GetSection(EscrowOptions.Section + ":History"))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<OverlapHistory>();
        builder.AddEscrowWebhooks();
        return builder;
    }

    /// <summary>Events become signed webhook requests: the dispatcher writes the outbox, the worker delivers it.</summary>
    public static WebApplicationBuilder AddEscrowWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(EscrowOptions.Section + ":Webhooks"))
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<DeliverySignal>();
        builder.Services.AddSingleton<RetrySchedule>();
        builder.Services.AddSingleton<IEscrowEvents, WebhookEvents>();
        builder.Services.AddSingleton<WebhookDeliverer>();
        builder.Services.AddHostedService<WebhookDeliveryWorker>();
        return builder;
    }
}

/// <summary>
/// Removes, every few minutes, uploads that stopped making progress (an instance crashed or was killed mid-upload):
/// a pending version nobody has touched for the abandon period is deleted with its segments. Safe with several
/// instances: live uploads touch their version with every segment.
/// </summary>
public sealed class AbandonedUploadSweeper(IPopulationRepository populations, IOptions<EscrowOptions> options, TimeProvider time, ILogger<AbandonedUploadSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(Math.Max(1, options.Value.Uploads.AbandonAfterMinutes / 3)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try { await SweepAsync(populations, options.Value, time, logger, stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning("Sweeping abandoned uploads failed: {ExceptionType}", e.GetType().Name); }
        }
    }

    public static async Task SweepAsync(IPopulationRepository populations, EscrowOptions options, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var cutoff = time.GetUtcNow().AddMinutes(-options.Uploads.AbandonAfterMinutes);
        var removed = await populations.DeleteAbandonedAsync(Time.ToUnixMs(cutoff), ct);
        if (removed > 0) logger.LogWarning("Removed {Count} uploads left incomplete by a crash", removed);
    }
}

/// <summary>
/// Runs before the server accepts requests: applies migrations, removes uploads a crash cut off (pending
/// versions nobody has touched for the abandon period), and loads the demo when asked to.
/// </summary>
public sealed class StartupTasks(IServiceProvider services, IOptions<EscrowOptions> options, TimeProvider time, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        logger.LogInformation("Data directory: {DataDirectory}", Path.GetFullPath(options.Value.DataDirectory));
        var db = services.GetRequiredService<IDbConnectionFactory>();
        _ = services.GetRequiredService<EscrowKeys>();
        var applied = await new Migrator(db, "Sqlite").MigrateAsync(ct);
        if (applied.Count > 0) logger.LogInformation("Applied migrations: {Migrations}", string.Join(", ", applied));

        await AbandonedUploadSweeper.SweepAsync(services.GetRequiredService<IPopulationRepository>(), options.Value, time, logger, ct);

        if (options.Value.Demo.Enabled)
        {
            await using var scope = services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<DemoSeeder>().SeedAsync(ct);
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
