using System.Text;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// The pull secret header's value, sealed with the organization's data key (AES-256-GCM, random nonce) as a value
/// of its own kind bound to its schedule: a sealed value copied onto another schedule row does not open.
/// Deleting the organization shreds it with the key.
/// </summary>
public sealed class ScheduleSecrets(IKeyring keyring)
{
    public const string Label = "oe-schedule-secret-v1";

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
}
