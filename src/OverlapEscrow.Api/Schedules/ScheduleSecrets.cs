using System.Text;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data.Accounts;

namespace OverlapEscrow.Api.Schedules;

/// <summary>
/// The pull secret header's value, sealed with the organization's data key (AES-256-GCM, random nonce). It is
/// sealed as segment 0 of a pseudo-version named "schedule-secret|&lt;schedule id&gt;": the associated data binds the
/// value to its schedule, so a sealed value copied onto another schedule row does not open, and it can never pass
/// for a record segment (version ids start with "ver_"). Deleting the organization shreds it with the key.
/// </summary>
public sealed class ScheduleSecrets(OrganizationKeys keys, IAccountRepository accounts)
{
    public async Task<(byte[] Nonce, byte[] Value)> SealAsync(string organizationId, string scheduleId, string value, CancellationToken ct)
    {
        using var cipher = await CipherAsync(organizationId, ct);
        return cipher.Seal(Context(scheduleId), 0, Encoding.UTF8.GetBytes(value));
    }

    public async Task<string> OpenAsync(string organizationId, string scheduleId, byte[] nonce, byte[] sealedValue, CancellationToken ct)
    {
        using var cipher = await CipherAsync(organizationId, ct);
        return Encoding.UTF8.GetString(cipher.Open(Context(scheduleId), 0, nonce, sealedValue));
    }

    private async Task<OrganizationKeys.SegmentCipher> CipherAsync(string organizationId, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(organizationId, ct)
            ?? throw new InvalidOperationException("The schedule's organization is gone.");
        return keys.CipherFor(organizationId, organization.WrappedKey);
    }

    private static string Context(string scheduleId) => "schedule-secret|" + scheduleId;
}
