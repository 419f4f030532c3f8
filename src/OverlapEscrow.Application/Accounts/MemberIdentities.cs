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

    /// <summary>
    /// Every form a member with this email may be stored under: its lookup under each token key present (matched against
    /// sealed rows only), and the address itself (matched against rows not sealed yet only). <paramref name="fresh"/>:
    /// read the key files again first (instances see a new token key within 30 seconds otherwise).
    /// </summary>
    public EmailForms Forms(string email, bool fresh = false)
    {
        if (fresh) secrets.Rescan();
        return new EmailForms([.. secrets.Versions(SecretKind.Token).Select(key => Lookup(key, email))], email.Trim());
    }

    /// <summary>Whether the token keys present are others than when <paramref name="forms"/> was made.</summary>
    public bool Outdated(EmailForms forms) => secrets.Versions(SecretKind.Token).Count != forms.Lookups.Count
        || !secrets.Versions(SecretKind.Token).Select(k => Prefix(k.Version)).SequenceEqual(forms.Lookups.Select(l => l[..(l.IndexOf(':') + 1)]));

    private static string Prefix(int version) => "e" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";

    private static string Lookup(VersionedKey tokenKey, string email)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, tokenKey.Key, 32, salt: [], info: Encoding.UTF8.GetBytes(LookupInfo));
        try
        {
            // The address in Unicode normal form C, in lower case; the lookup in lower-case hex (the column compares without
            // regard to case).
            var normalized = email.Trim().Normalize(NormalizationForm.FormC).ToLowerInvariant();
            return Prefix(tokenKey.Version) + Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(normalized)));
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

    /// <summary>
    /// The member, or null when there is none or its identity cannot be opened (a restore of a backup older than a finished
    /// data-key rotation, a keyring not found, an erasure under way): such a member is answered as one that does not exist,
    /// as the member list leaves it out, with a warning.
    /// </summary>
    public async Task<Member?> TryOpenAsync(StoredMember? stored, CancellationToken ct)
    {
        try { return await OpenAsync(stored, ct); }
        catch (Exception e) when (e is CryptographicException or MissingKeyException or OrganizationGoneException)
        {
            logger.LogWarning("The identity of member {MemberId} cannot be opened ({Reason})", stored!.Id, e.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// Members of one organization, opened with one cipher. A member whose identity no key present opens (a restore of a
    /// backup older than a finished data-key rotation) is left out, with a warning.
    /// </summary>
    public async Task<IReadOnlyList<Member>> OpenAllAsync(string organizationId, IReadOnlyList<StoredMember> stored, CancellationToken ct)
    {
        if (stored.Count == 0) return [];
        using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
        var opened = new List<Member>(stored.Count);
        foreach (var member in stored)
        {
            try { opened.Add(Open(cipher, member)); }
            catch (CryptographicException)
            {
                logger.LogWarning("The identity of member {MemberId} cannot be opened with any data key the keyring holds", member.Id);
            }
        }
        return opened;
    }

    /// <summary>
    /// At every start, before the service answers: seals the identities still stored in plaintext (written before
    /// migration 2026-12-04-0022) and makes again, under the newest token key, the lookups made under an older one. Each
    /// row is replaced only while it is as read (a compare-and-set). Then the database's free pages and log are purged.
    /// </summary>
    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        var current = secrets.Current(SecretKind.Token);
        var prefix = Prefix(current.Version);
        var sealedRows = await LegacySealing.SealAsync(keyring, database, after => accounts.ListMembersToSealAsync(prefix, after, LegacySealing.Batch, ct),
            m => m.Id, m => m.OrganizationId,
            async (cipher, m) =>
            {
                Member member;
                try { member = Open(cipher, m); }
                catch (CryptographicException) { return false; } // under a data key no longer held: left as it is, counted below
                return await accounts.ReplaceMemberIdentityAsync(m,
                    new StoredMember(m.Id, m.OrganizationId, Lookup(current, member.Email), Seal(cipher, member), m.Role, m.CreatedAt), ct);
            }, logger, "member identities", ct);
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed or re-keyed the identities of {Count} members", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing member identities", ct);
        }
        var left = await accounts.ListMembersToSealAsync(prefix, null, LegacySealing.Batch, ct);
        if (left.Count > 0)
            logger.LogWarning(
                "{Count} members stay unsealed or under an older token key's lookup (for example {MemberId}): their organization has no key in the keyring, "
                + "their identity is under a data key no longer held, or their email is stored twice (two addresses that differ only in the case of a "
                + "letter outside ASCII); they sign in as before while the token key they were stored under is present", left.Count, left[0].Id);
        return sealedRows;
    }
}
