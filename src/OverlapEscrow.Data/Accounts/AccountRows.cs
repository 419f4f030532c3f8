using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Data.Accounts;

internal sealed class OrganizationRow
{
    public string Id { get; init; } = "";
    public string Slug { get; init; } = "";
    public string Name { get; init; } = "";
    public long CreatedAt { get; init; }

    public Organization ToDomain() => new(Id, Slug, Name, Time.FromUnixMs(CreatedAt));
}

internal sealed class WrappedKeyRow
{
    public byte[] WrappedKey { get; init; } = [];
    public long WrappedKeyVersion { get; init; }
    public long DataKeyVersion { get; init; }

    public WrappedKey ToDomain() => new(WrappedKey, (int)WrappedKeyVersion, (int)DataKeyVersion);
}

internal sealed class LegacyKeyRow
{
    public string Id { get; init; } = "";
    public byte[] WrappedKey { get; init; } = [];
    public long WrappedKeyVersion { get; init; }
    public long DataKeyVersion { get; init; }
    public long CreatedAt { get; init; }

    public LegacyOrganizationKey ToDomain() => new(Id, new WrappedKey(WrappedKey, (int)WrappedKeyVersion, (int)DataKeyVersion), Time.FromUnixMs(CreatedAt));
}

internal sealed class MemberRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Email { get; init; } = "";
    public string DisplayName { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public string Role { get; init; } = "";
    public long CreatedAt { get; init; }
    public byte[]? IdentityNonce { get; init; }
    public byte[]? IdentitySealed { get; init; }
    public long? IdentityKeyVersion { get; init; }

    /// <summary>A sealed row holds its email's lookup in email; a row not sealed yet, the email itself and the rest in plaintext.</summary>
    public StoredMember ToDomain() => IdentityNonce is not null && IdentitySealed is not null
        ? new(Id, OrganizationId, Email, new SealedValue(IdentityNonce, IdentitySealed, (int)(IdentityKeyVersion ?? 1)), Role, Time.FromUnixMs(CreatedAt))
        : new(Id, OrganizationId, Email, null, Role, Time.FromUnixMs(CreatedAt),
            new Member(Id, OrganizationId, Email, DisplayName, PasswordHash, Role, Time.FromUnixMs(CreatedAt)));

    /// <summary>The parameters of an insert: only a sealed member is written (display_name and password_hash stay empty).</summary>
    public static object From(StoredMember m) => new
    {
        m.Id, m.OrganizationId, Email = m.EmailLookup, m.Role, CreatedAt = Time.ToUnixMs(m.CreatedAt),
        IdentityNonce = Sealed(m).Nonce, IdentitySealed = Sealed(m).Ciphertext, IdentityKeyVersion = Sealed(m).KeyVersion,
    };

    public static SealedValue Sealed(StoredMember m) => m.Identity ?? throw new ArgumentException("A member is written sealed.", nameof(m));
}

internal sealed class ApiKeyRow
{
    public string Id { get; init; } = "";
    public string OrganizationId { get; init; } = "";
    public string Name { get; init; } = "";
    public byte[] SecretHash { get; init; } = [];
    public string Scopes { get; init; } = "";
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? LastUsedAt { get; init; }
    public long? RevokedAt { get; init; }

    public ApiKey ToDomain() => new(Id, OrganizationId, Name, SecretHash, Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        Time.FromUnixMs(CreatedAt), CreatedBy, Time.FromUnixMs(LastUsedAt), Time.FromUnixMs(RevokedAt));
}
