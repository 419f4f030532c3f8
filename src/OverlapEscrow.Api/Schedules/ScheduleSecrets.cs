using System.Text;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data.Accounts;

namespace OverlapEscrow.Api.Schedules;

/// <summary>
/// The pull secret header's value, sealed with the organization's data key (AES-256-GCM, random nonce) as a value
/// of its own kind bound to its schedule: a sealed value copied onto another schedule row does not open.
/// Deleting the organization shreds it with the key.
/// </summary>
public sealed class ScheduleSecrets(OrganizationKeys keys, IAccountRepository accounts)
{
    public async Task<(byte[] Nonce, byte[] Value)> SealAsync(string organizationId, string scheduleId, string value, CancellationToken ct)
    {
        using var cipher = await CipherAsync(organizationId, ct);
        return cipher.SealValue(Label, scheduleId, Encoding.UTF8.GetBytes(value));
    }

    public async Task<string> OpenAsync(string organizationId, string scheduleId, byte[] nonce, byte[] sealedValue, CancellationToken ct)
    {
        using var cipher = await CipherAsync(organizationId, ct);
        return Encoding.UTF8.GetString(cipher.OpenValue(Label, scheduleId, nonce, sealedValue));
    }

    private async Task<OrganizationKeys.SegmentCipher> CipherAsync(string organizationId, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(organizationId, ct)
            ?? throw new InvalidOperationException("The schedule's organization is gone.");
        return keys.CipherFor(organizationId, organization.WrappedKey);
    }

    private const string Label = "oe-schedule-secret-v1";
}
