using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Application.Accounts;

/// <summary>
/// A member's email, display name and password hash, sealed together under the organization's data key (AES-256-GCM
/// through the keyring, label <see cref="Label"/>, bound to the member id), so that deleting the organization leaves none
/// of them readable in the database or in any backup taken before. Sign-in finds a member by a keyed lookup of its email
/// instead (a blind index): HMAC-SHA256 (RFC 2104) of the email in lower case under a key derived by HKDF-SHA256 (RFC 5869,
/// info <see cref="LookupInfo"/>) from the escrow's token key, which every instance already shares and which is kept
/// outside the database. The lookup names the token-key version it was made under ("e2:…"); sign-in tries every version
/// present, and a start re-makes lookups under the newest one. Rows stored before identities were sealed are sealed at a
/// start (<see cref="SealLegacyAsync"/>).
/// </summary>
public sealed class MemberIdentities(IKeyring keyring, EscrowSecrets secrets, IAccountRepository accounts, IDatabaseMaintenance database,
    ILogger<MemberIdentities> logger)
{
    public const string Label = "oe-member-identity-v1";
    public const string LookupInfo = "oe-member-email-lookup-v1";

    private sealed record Identity(string Email, string DisplayName, string PasswordHash);

    /// <summary>The email's lookup under the newest token key: what a new or re-sealed member is stored under.</summary>
    public string Lookup(string email) => Lookup(secrets.Current(SecretKind.Token), email);

    /// <summary>Every form a member with this email may be stored under: its lookup under each token key present, and the email itself (a row not sealed yet).</summary>
    public IReadOnlyList<string> Lookups(string email) =>
        [.. secrets.Versions(SecretKind.Token).Select(key => Lookup(key, email)), email.Trim()];

    private static string Prefix(int version) => "e" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";

    private static string Lookup(VersionedKey tokenKey, string email)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, tokenKey.Key, 32, salt: [], info: Encoding.UTF8.GetBytes(LookupInfo));
        try
        {
            // Lower-case hex: the column compares without regard to case.
            return Prefix(tokenKey.Version) + Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant())));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public SealedValue Seal(IOrganizationCipher cipher, Member member) =>
        cipher.Seal(Label, member.Id, JsonSerializer.SerializeToUtf8Bytes(new Identity(member.Email, member.DisplayName, member.PasswordHash)));

    /// <summary>The member as stored, sealed, under its email's newest lookup.</summary>
    public StoredMember Stored(IOrganizationCipher cipher, Member member) =>
        new(member.Id, member.OrganizationId, Lookup(member.Email), Seal(cipher, member), member.Role, member.CreatedAt);

    public async Task<StoredMember> StoredAsync(Member member, CancellationToken ct)
    {
        using var cipher = await keyring.ForOrganizationAsync(member.OrganizationId, ct);
        return Stored(cipher, member);
    }

    public static Member Open(IOrganizationCipher cipher, StoredMember stored)
    {
        if (stored.Identity is not { } sealedIdentity)
            return stored.Plain ?? throw new InvalidDataException("A member has neither a sealed nor a stored identity.");
        var identity = JsonSerializer.Deserialize<Identity>(cipher.Open(Label, stored.Id, sealedIdentity))
                       ?? throw new InvalidDataException("A member's sealed identity is empty.");
        return new Member(stored.Id, stored.OrganizationId, identity.Email, identity.DisplayName, identity.PasswordHash, stored.Role, stored.CreatedAt);
    }

    public async Task<Member?> OpenAsync(StoredMember? stored, CancellationToken ct)
    {
        if (stored is null) return null;
        if (stored.Identity is null) return Open(null!, stored);
        using var cipher = await keyring.ForOrganizationAsync(stored.OrganizationId, ct);
        return Open(cipher, stored);
    }

    /// <summary>Members of one organization, opened with one cipher.</summary>
    public async Task<IReadOnlyList<Member>> OpenAllAsync(string organizationId, IReadOnlyList<StoredMember> stored, CancellationToken ct)
    {
        if (stored.Count == 0) return [];
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        return stored.Select(m => Open(cipher, m)).ToList();
    }

    /// <summary>
    /// At every start, before the service answers: seals the identities still stored in plaintext (written before
    /// migration 2026-12-04-0022) and makes again, under the newest token key, the lookups made under an older one. Each
    /// row is replaced only while it is as read (a compare-and-set). Then the database's free pages and log are purged.
    /// </summary>
    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        var current = secrets.Current(SecretKind.Token);
        var sealedRows = await LegacySealing.SealAsync(keyring, after => accounts.ListMembersToSealAsync(Prefix(current.Version), after, LegacySealing.Batch, ct),
            m => m.Id, m => m.OrganizationId,
            (cipher, m) =>
            {
                var member = Open(cipher, m);
                return accounts.ReplaceMemberIdentityAsync(m, new StoredMember(m.Id, m.OrganizationId, Lookup(current, member.Email), Seal(cipher, member), m.Role, m.CreatedAt), ct);
            }, logger, "member identities", ct);
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed or re-keyed the identities of {Count} members", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing member identities", ct);
        }
        return sealedRows;
    }
}
