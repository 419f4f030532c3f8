using System.Text;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// What a pull schedule keeps sealed with the organization's data key (AES-256-GCM, random nonce), each as a value of
/// its own kind bound to its schedule, so a sealed value copied onto another schedule row does not open: the secret
/// header's value (never shown again) and the source URL (shown to the organization, opened to fetch). Deleting the
/// organization shreds both with the key, in the database and in every backup.
/// </summary>
public sealed class ScheduleSecrets(IKeyring keyring, IScheduleRepository schedules, IDatabaseMaintenance database, ILogger<ScheduleSecrets> logger)
{
    public const string Label = "oe-schedule-secret-v1";
    public const string SourceLabel = "oe-schedule-source-v1";

    public async Task<SealedValue> SealAsync(string organizationId, string scheduleId, string value, CancellationToken ct)
    {
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        return cipher.Seal(Label, scheduleId, Encoding.UTF8.GetBytes(value));
    }

    public async Task<string> OpenAsync(string organizationId, string scheduleId, SealedValue sealedValue, CancellationToken ct)
    {
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        return Encoding.UTF8.GetString(cipher.Open(Label, scheduleId, sealedValue));
    }

    public async Task<SealedValue> SealSourceAsync(string organizationId, string scheduleId, string url, CancellationToken ct)
    {
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        return cipher.Seal(SourceLabel, scheduleId, Encoding.UTF8.GetBytes(url));
    }

    /// <summary>The schedule with its source URL opened (as it is when the URL is not sealed).</summary>
    public async Task<Schedule> OpenSourceAsync(Schedule schedule, CancellationToken ct)
    {
        if (schedule.SealedSourceUrl is not { } source) return schedule;
        using var cipher = await keyring.ForOrganizationAsync(schedule.OrganizationId, ct);
        return schedule with { SourceUrl = Encoding.UTF8.GetString(cipher.Open(SourceLabel, schedule.Id, source)) };
    }

    /// <summary>
    /// The schedule with its source URL opened, or null when no key present opens it (a restore of a backup older than a
    /// finished data-key rotation): such a schedule is left out of the list and not found to a read or an edit, with a
    /// warning, so the rest of the organization's schedules stay usable; it can still be deleted.
    /// </summary>
    public async Task<Schedule?> TryOpenSourceAsync(Schedule schedule, CancellationToken ct)
    {
        try { return await OpenSourceAsync(schedule, ct); }
        catch (System.Security.Cryptography.CryptographicException)
        {
            logger.LogWarning("The source URL of schedule {ScheduleId} cannot be opened with any data key the keyring holds", schedule.Id);
            return null;
        }
    }

    /// <summary>
    /// Seals the source URLs stored in plaintext before they were sealed (migration 2026-12-03-0021), at every start
    /// before the service answers, then purges the database's free pages and log.
    /// </summary>
    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        var sealedRows = await LegacySealing.SealAsync(keyring, database, after => schedules.ListUnsealedSourcesAsync(after, LegacySealing.Batch, ct),
            s => s.Id, s => s.OrganizationId,
            (cipher, s) => schedules.SealLegacySourceAsync(s.Id, s.SourceUrl!, cipher.Seal(SourceLabel, s.Id, Encoding.UTF8.GetBytes(s.SourceUrl!)), ct),
            logger, "pull source URLs", ct);
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed the source URLs of {Count} pull schedules stored before they were sealed", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing pull source URLs", ct);
        }
        return sealedRows;
    }
}
