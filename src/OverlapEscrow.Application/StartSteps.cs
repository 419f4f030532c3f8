using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Organizations;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Application;

/// <summary>
/// What every start runs after the migrations and before anything else (the service before it accepts a request, the
/// operator's command line, the benchmarks' escrow): data keys still in the database moved into the keyring, unfinished
/// erasures finished, legacy plaintext sealed, a purge still owed paid, and the keyring's status read — which reads every organization's keyring
/// file, so a started process's first request finds the keyring loaded.
/// </summary>
public static class StartSteps
{
    public static async Task<KeyStatus> RunAsync(IServiceProvider services, CancellationToken ct)
    {
        await services.GetRequiredService<LegacyKeyMove>().RunAsync(ct);
        await services.GetRequiredService<OrganizationErasure>().ResumeAsync(ct);
        await services.GetRequiredService<SignalSealing>().SealLegacyAsync(ct);
        await services.GetRequiredService<WebhookSealing>().SealLegacyAsync(ct);
        await services.GetRequiredService<Schedules.ScheduleSecrets>().SealLegacyAsync(ct);
        await services.GetRequiredService<Accounts.MemberIdentities>().SealLegacyAsync(ct);
        // A purge one of those, or an earlier run, owed and did not finish.
        await services.GetRequiredService<Storage.OwedPurge>().PayAsync(ct);
        return await services.GetRequiredService<KeyAdministration>().StatusAsync(ct);
    }
}
