using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Demo;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Hosting;

/// <summary>
/// Runs before the server accepts requests: applies migrations, removes uploads a crash cut off (pending versions
/// nobody has touched for the abandon period), and loads the demo when asked to.
/// </summary>
public sealed class StartupTasks(IStorageMigrations migrations, EscrowSecrets secrets, AbandonedUploads abandoned, DemoSeeder demo,
    IOptions<EscrowOptions> options, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        logger.LogInformation("Data directory: {DataDirectory}", Path.GetFullPath(options.Value.DataDirectory));
        _ = secrets.Directory; // created, with owner-only permissions, before anything needs a key
        var applied = await migrations.MigrateAsync(ct);
        if (applied.Count > 0) logger.LogInformation("Applied migrations: {Migrations}", string.Join(", ", applied));
        await abandoned.SweepAsync(ct);
        if (options.Value.Demo.Enabled) await demo.SeedAsync(options.Value.Demo.Password, ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Sweeps uploads cut off by a crash every third of the abandon period.</summary>
public sealed class AbandonedUploadSweeper(AbandonedUploads abandoned, TimeProvider time, ILogger<AbandonedUploadSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(abandoned.SweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try { await abandoned.SweepAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning("Sweeping abandoned uploads failed: {ExceptionType}", e.GetType().Name); }
        }
    }
}

/// <summary>Runs the overlap refresher's queue.</summary>
public sealed class OverlapRefreshWorker(OverlapRefresher refresher) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => refresher.RunAsync(stoppingToken);
}

/// <summary>Runs the webhook delivery loop.</summary>
public sealed class WebhookDeliveryWorker(WebhookDeliveryLoop loop) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => loop.RunAsync(stoppingToken);
}

/// <summary>Runs the schedule runner's polling loop, and lets its runs record how they ended at shutdown.</summary>
public sealed class ScheduleWorker(ScheduleRunner runner) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => runner.RunAsync(stoppingToken);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await runner.StopAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
    }
}
