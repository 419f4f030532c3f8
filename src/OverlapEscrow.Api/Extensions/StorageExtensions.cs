using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Hosting;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application;
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
    /// <summary>The embedded SQLite database under the data directory and the escrow's secrets.</summary>
    public static WebApplicationBuilder AddEscrowStorage(this WebApplicationBuilder builder)
    {
        var escrow = builder.Configuration.GetSection(EscrowOptions.Section).Get<EscrowOptions>() ?? new EscrowOptions();
        Directory.CreateDirectory(escrow.DataDirectory);
        builder.Services.AddSqliteStorage(Path.Combine(escrow.DataDirectory, "escrow.db"));
        builder.Services.AddSingleton(sp => new EscrowSecrets(sp.GetRequiredService<IOptions<EscrowOptions>>().Value.SecretsPath));
        // Data Protection seals the overlap-list cursors; its key ring stays with the escrow's other keys, not in
        // the user profile.
        builder.Services.AddDataProtection();
        builder.Services.AddOptions<KeyManagementOptions>().Configure<EscrowSecrets, ILoggerFactory>((o, keys, logs) =>
            o.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(Path.Combine(keys.Directory, "data-protection")), logs));
        builder.Services.AddHostedService<StartupTasks>();
        return builder;
    }

    /// <summary>The use cases, their settings, and the background services that run them.</summary>
    public static WebApplicationBuilder AddEscrowFeatures(this WebApplicationBuilder builder)
    {
        builder.Services.AddEscrowApplication();
        builder.Services.AddSingleton<Application.Accounts.IPasswordHasher, PlatformPasswordHasher>();
        builder.Bind<CacheOptions>(EscrowOptions.Section);
        builder.Bind<UploadOptions>(EscrowOptions.Section + ":Uploads");
        builder.Bind<HistoryOptions>(EscrowOptions.Section + ":History");
        builder.Bind<OutboundOptions>(EscrowOptions.Section + ":Outbound");
        builder.Bind<WebhookOptions>(EscrowOptions.Section + ":Webhooks");
        builder.Services.AddOptions<ScheduleOptions>()
            .Bind(builder.Configuration.GetSection(EscrowOptions.Section + ":Schedules"))
            .ValidateDataAnnotations()
            .Validate(o => o.PullDirectories.All(d => !string.IsNullOrWhiteSpace(d) && Path.IsPathFullyQualified(d)),
                "Escrow:Schedules:PullDirectories holds absolute paths only.")
            .ValidateOnStart();
        builder.Services.AddHostedService<AbandonedUploadSweeper>();
        builder.Services.AddHostedService<IdleMemoryRelease>();
        builder.Services.AddHostedService<OverlapRefreshWorker>();
        builder.Services.AddHostedService<WebhookDeliveryWorker>();
        builder.Services.AddHostedService<ScheduleWorker>();
        return builder;
    }

    private static void Bind<T>(this WebApplicationBuilder builder, string section) where T : class =>
        builder.Services.AddOptions<T>().Bind(builder.Configuration.GetSection(section)).ValidateDataAnnotations().ValidateOnStart();
}
