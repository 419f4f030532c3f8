using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Application.Storage;

/// <summary>Organizations, their members, refresh tokens and API keys.</summary>
/// <remarks>Every lookup that a request can steer by id takes the caller's organization id and matches it in the query.</remarks>
public interface IAccountRepository
{
    /// <summary>Creates an organization with its wrapped data key and its first admin, atomically; false when the slug or email is taken.</summary>
    Task<bool> CreateOrganizationAsync(Organization organization, WrappedKey key, Member admin, CancellationToken ct);
    Task<Organization?> GetOrganizationAsync(string organizationId, CancellationToken ct);
    Task<Organization?> FindOrganizationBySlugAsync(string slug, CancellationToken ct);
    Task<IReadOnlyDictionary<string, Organization>> GetOrganizationsAsync(IEnumerable<string> organizationIds, CancellationToken ct);

    /// <summary>The organization's wrapped data key (the keyring's only way to it); null when the organization is gone.</summary>
    Task<WrappedKey?> GetWrappedKeyAsync(string organizationId, CancellationToken ct);

    /// <summary>Adds a member; false when the email is already registered.</summary>
    Task<bool> CreateMemberAsync(Member member, CancellationToken ct);
    Task<Member?> FindMemberByEmailAsync(string email, CancellationToken ct);
    Task<Member?> GetMemberAsync(string memberId, CancellationToken ct);
    Task<IReadOnlyList<Member>> ListMembersAsync(string organizationId, CancellationToken ct);

    Task StoreRefreshTokenAsync(byte[] tokenHash, string memberId, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Marks an unexpired, unused refresh token used and returns its member; null otherwise (single use).</summary>
    Task<string?> ConsumeRefreshTokenAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken ct);

    Task CreateApiKeyAsync(ApiKey key, CancellationToken ct);
    Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string organizationId, CancellationToken ct);
    Task<ApiKey?> GetApiKeyAsync(string organizationId, string keyId, CancellationToken ct);

    /// <summary>A key by id whatever its organization: only the token endpoint and the token check call it, with the key's own id.</summary>
    Task<ApiKey?> FindApiKeyAsync(string keyId, CancellationToken ct);
    Task MarkApiKeyUsedAsync(string keyId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Revokes a key of the organization; false when it has no such key.</summary>
    Task<bool> RevokeApiKeyAsync(string organizationId, string keyId, DateTimeOffset at, CancellationToken ct);
}
