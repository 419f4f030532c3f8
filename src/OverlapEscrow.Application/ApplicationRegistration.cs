using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Demo;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Application;

/// <summary>The use cases and the services they share. Options are bound by the host; storage is wired by the host from the data layer.</summary>
public static class ApplicationRegistration
{
    public static IServiceCollection AddEscrowApplication(this IServiceCollection services)
    {
        services.AddSingleton(sp => new KeyringStore(sp.GetRequiredService<EscrowSecrets>().KeyringDirectory));
        services.AddSingleton<Keyring>();
        services.AddSingleton<IKeyring>(sp => sp.GetRequiredService<Keyring>());
        services.AddSingleton<EscrowSigner>();
        services.AddSingleton<LegacyKeyMove>();
        services.AddSingleton<DataKeyRotation>();
        services.AddSingleton<KeyAdministration>();
        services.AddSingleton<Organizations.OrganizationErasure>();
        services.AddSingleton<Maintenance.Backups>();
        services.AddSingleton<Maintenance.PostgresMove>();
        services.AddSingleton<Maintenance.MatrixFingerprints>();
        services.AddSingleton<AuditViews>();
        services.AddSingleton<AuditCheckpoints>();

        services.AddSingleton<PartnerViews>();
        services.AddSingleton<CacheMemory>();
        services.AddSingleton<VersionStore>();
        services.AddSingleton<PopulationDataCache>();
        services.AddSingleton<OverlapCache>();
        services.AddSingleton<OverlapComputation>();
        services.AddSingleton<HistoryRecorder>();
        services.AddSingleton<Domain.Privacy.IRandomBits>(Domain.Privacy.SecureRandomBits.Instance);
        services.AddSingleton<CountReleases>();
        services.AddSingleton<PrivacyBudgets>();
        services.AddSingleton<OverlapRefresher>();
        services.AddSingleton<CacheWarmUp>();
        services.AddSingleton<OverlapReports>();
        services.AddSingleton<PermissionWithdrawal>();
        services.AddSingleton<SharingChanges>();
        services.AddSingleton<SharingPreviews>();
        services.AddSingleton<PartnershipLifecycle>();
        services.AddSingleton<Signals.DataRequests>();
        services.AddSingleton<Signals.Attributions>();
        services.AddSingleton<Signals.CoSelling>();
        services.AddSingleton<Signals.JointOpportunities>();
        services.AddSingleton<Signals.SignalSealing>();
        services.AddSingleton<Storage.OwedPurge>();
        services.AddSingleton<Webhooks.WebhookSealing>();
        services.AddSingleton<Accounts.MemberIdentities>();

        services.AddSingleton<Accounts.Accounts>();
        services.AddSingleton<Accounts.ApiKeys>();
        services.AddSingleton<Accounts.Argon2idPasswordHasher>();
        services.AddSingleton<Accounts.IPasswordHasher>(sp => sp.GetRequiredService<Accounts.Argon2idPasswordHasher>());
        services.AddSingleton<AuditTrail>();

        services.AddSingleton<PopulationCatalog>();
        services.AddSingleton<RowRules>();
        services.AddSingleton<NdjsonUploadParser>();
        services.AddSingleton<CsvUploadParser>();
        services.AddSingleton<UploadPopulation>();
        services.AddSingleton<AbandonedUploads>();

        services.AddSingleton<IMachineAddresses, MachineAddresses>();
        services.AddSingleton<OutboundHttp>();
        services.AddSingleton<DeliverySignal>();
        services.AddSingleton<IEventPublisher, EventPublisher>();
        services.AddSingleton<RetrySchedule>();
        services.AddSingleton<WebhookDeliverer>();
        services.AddSingleton<WebhookDeliveryLoop>();
        services.AddSingleton<WebhookSubscriptions>();

        services.AddSingleton<ScheduleSecrets>();
        services.AddSingleton<PullSources>();
        services.AddSingleton<SyncActions>();
        services.AddSingleton<ScheduleRunner>();
        services.AddSingleton<ScheduleValidation>();
        services.AddSingleton<SyncSchedules>();
        services.AddSingleton<PushRuns>();

        services.AddSingleton<DemoSeeder>();
        services.AddSingleton<Health.HealthReleases>();
        services.AddSingleton<Health.PipelineHealth>();
        return services;
    }
}

/// <summary>
/// Removes uploads that stopped making progress (an instance crashed or was killed mid-upload): a pending version
/// nobody has touched for the abandon period is deleted with all it stored (its segments and column parts go with its row).
/// Safe with several instances: live uploads touch their version as they go.
/// </summary>
public sealed class AbandonedUploads(IPopulationRepository populations, IOptions<UploadOptions> options, TimeProvider time, ILogger<AbandonedUploads> logger)
{
    public TimeSpan SweepInterval => TimeSpan.FromMinutes(Math.Max(1, options.Value.AbandonAfterMinutes / 3));

    public async Task SweepAsync(CancellationToken ct)
    {
        var removed = await populations.DeleteAbandonedAsync(time.GetUtcNow().AddMinutes(-options.Value.AbandonAfterMinutes), ct);
        if (removed > 0) logger.LogWarning("Removed {Count} uploads left incomplete by a crash", removed);
    }
}
