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

    public Member ToDomain() => new(Id, OrganizationId, Email, DisplayName, PasswordHash, Role, Time.FromUnixMs(CreatedAt));

    public static object From(Member m) => new
    {
        m.Id, m.OrganizationId, m.Email, m.DisplayName, m.PasswordHash, m.Role, CreatedAt = Time.ToUnixMs(m.CreatedAt),
    };
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
