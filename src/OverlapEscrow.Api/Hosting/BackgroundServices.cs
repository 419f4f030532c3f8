using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Demo;
using OverlapEscrow.Application.Maintenance;
using OverlapEscrow.Application.Organizations;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Hosting;

/// <summary>
/// Runs before the server accepts requests: takes the service's shared lock on the database (a restore waits for
/// every instance to stop), applies migrations, moves data keys still in the database into the keyring, finishes
/// erasures the keyring records (a crash mid-erasure, or a database restored from before one), removes uploads a
/// crash cut off (pending versions nobody has touched for the abandon period), and loads the demo when asked to.
/// </summary>
public sealed class StartupTasks(IServiceProvider services, IStorageMigrations migrations, IDatabaseMaintenance database, EscrowSecrets secrets,
    AbandonedUploads abandoned, DemoSeeder demo, IOptions<EscrowOptions> options, ILogger<StartupTasks> logger, IStorageHealth storage) : IHostedService, IDisposable
{
    private ServiceLock? _lock;

    /// <summary>
    /// The SQLite database, its log and shared-memory files readable by the service's user only (SQLite makes them with
    /// the process's umask, usually world-readable): they hold in clear what is not sealed per organization — names, the
    /// partnership graph, counts, sharing rules. Backups are written owner-only too (DatabaseMaintenance).
    /// </summary>
    private static void RestrictToOwner(string databasePath)
    {
        if (OperatingSystem.IsWindows()) return;
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(databasePath + suffix))
                File.SetUnixFileMode(databasePath + suffix, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public async Task StartAsync(CancellationToken ct)
    {
        logger.LogInformation("Data directory: {DataDirectory}", Path.GetFullPath(options.Value.DataDirectory));
        // Which database this instance serves (several instances behind a balancer must name the same one); no credentials.
        logger.LogInformation("Database: {Database}", storage.Description);
        _lock = ServiceLock.Shared(database.DatabasePath);
        _ = secrets.Directory; // created, with owner-only permissions, before anything needs a key
        // The Data Protection key ring (cursors, dashboard cookies) is made now, not at the first request that needs it,
        // so an instance started after this one reads this key instead of making its own (several instances).
        services.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>().CreateProtector("overlap-escrow.start").Protect([1]);
        await PrepareAsync(services, migrations, logger, ct);
        RestrictToOwner(database.DatabasePath);
        var dataDirectory = Path.GetFullPath(options.Value.DataDirectory) + Path.DirectorySeparatorChar;
        if (Path.GetFullPath(secrets.KeyringDirectory).StartsWith(dataDirectory, StringComparison.Ordinal))
            logger.LogWarning("The keyring ({Keyring}) is inside the data directory: a copy of the whole data directory holds the keys that " +
                              "decrypt it, and deleting an organization then does not erase it from such copies. Set Escrow__SecretsDirectory " +
                              "(or Escrow__KeyringDirectory) outside it; see docs/operations.md", secrets.KeyringDirectory);
        await abandoned.SweepAsync(ct);
        if (options.Value.Demo.Enabled) await demo.SeedAsync(options.Value.Demo.Password, ct);
    }

    /// <summary>What every start (and the operator's command line) does before anything else: the schema, the keyring, unfinished erasures.</summary>
    public static async Task PrepareAsync(IServiceProvider services, IStorageMigrations migrations, ILogger logger, CancellationToken ct)
    {
        var applied = await migrations.MigrateAsync(ct);
        if (applied.Count > 0) logger.LogInformation("Applied migrations: {Migrations}", string.Join(", ", applied));
        var status = await StartSteps.RunAsync(services, ct);
        if (status.OrganizationsWithoutKey.Count > 0)
            logger.LogError("{Count} organizations have no data key in the keyring ({Keyring}): their data cannot be read. Check Escrow:KeyringDirectory.",
                status.OrganizationsWithoutKey.Count, services.GetRequiredService<EscrowSecrets>().KeyringDirectory);
        if (status.InterruptedRotations.Count > 0)
            logger.LogWarning("Data-key rotations of {Count} organizations were interrupted; finish them with `admin keys rotate-data --resume`",
                status.InterruptedRotations.Count);
    }

    public Task StopAsync(CancellationToken ct)
    {
        _lock?.Dispose();
        _lock = null;
        return Task.CompletedTask;
    }

    public void Dispose() => _lock?.Dispose();
}

/// <summary>Signs audit checkpoints of every chain that grew, every Escrow:Audit:CheckpointMinutes (0: only on demand).</summary>
public sealed class AuditCheckpointWorker(AuditCheckpoints checkpoints, IOptions<AuditOptions> options, TimeProvider time, ILogger<AuditCheckpointWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.CheckpointMinutes == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(options.Value.CheckpointMinutes), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var (signed, broken) = await checkpoints.CreateAllAsync(stoppingToken);
                if (broken.Count > 0) logger.LogError("Audit chains that no longer verify (no checkpoint signed): {Chains}", string.Join(", ", broken));
                else if (signed > 0) logger.LogInformation("Signed {Count} audit checkpoints", signed);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Signing audit checkpoints failed: {ExceptionType}", e.GetType().Name);
            }
        }
    }
}

/// <summary>A task run every <paramref name="interval"/> while the service runs; a failed run is logged by its type and the next one comes as planned.</summary>
public abstract class PeriodicWorker(TimeSpan interval, TimeProvider time, ILogger logger, string what) : BackgroundService
{
    protected abstract Task RunOnceAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try { await RunOnceAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogWarning("{What} failed: {ExceptionType}", what, e.GetType().Name); }
        }
    }
}

/// <summary>Pays a purge of deleted content the database still owes (one that failed or did not finish), every <see cref="OwedPurge.RetryInterval"/>.</summary>
public sealed class OwedPurgeWorker(OwedPurge purge, TimeProvider time, ILogger<OwedPurgeWorker> logger)
    : PeriodicWorker(OwedPurge.RetryInterval, time, logger, "Checking for an owed purge")
{
    protected override Task RunOnceAsync(CancellationToken ct) => purge.PayAsync(ct);
}

/// <summary>Sweeps uploads cut off by a crash every third of the abandon period.</summary>
public sealed class AbandonedUploadSweeper(AbandonedUploads abandoned, TimeProvider time, ILogger<AbandonedUploadSweeper> logger)
    : PeriodicWorker(abandoned.SweepInterval, time, logger, "Sweeping abandoned uploads")
{
    protected override Task RunOnceAsync(CancellationToken ct) => abandoned.SweepAsync(ct);
}

/// <summary>
/// Warms the caches once after the start (<see cref="CacheWarmUp"/>), beside the requests, which never wait for it. It
/// begins once the host has started (the server listens): on a machine of few cores the loads would otherwise compete
/// with the start itself and delay the moment the service answers.
/// </summary>
public sealed class CacheWarmUpWorker(CacheWarmUp warmUp, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try { await started.Task; }
            catch (OperationCanceledException) { return; }
        }
        await warmUp.WarmAsync(stoppingToken);
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
