namespace OverlapEscrow.Data.Accounts;

/// <summary>Organizations, their members, refresh tokens and API keys.</summary>
/// <remarks>Every lookup that a request can steer by id takes the caller's organization id and matches it in SQL.</remarks>
public interface IAccountRepository
{
    /// <summary>Creates an organization and its first admin atomically; false when the slug or email is taken.</summary>
    Task<bool> CreateOrganizationAsync(OrganizationRow organization, MemberRow admin, CancellationToken ct = default);
    Task<OrganizationRow?> GetOrganizationAsync(string organizationId, CancellationToken ct = default);
    Task<OrganizationRow?> FindOrganizationBySlugAsync(string slug, CancellationToken ct = default);
    Task<IReadOnlyDictionary<string, OrganizationRow>> GetOrganizationsAsync(IEnumerable<string> organizationIds, CancellationToken ct = default);

    /// <summary>Adds a member; false when the email is already registered.</summary>
    Task<bool> CreateMemberAsync(MemberRow member, CancellationToken ct = default);
    Task<MemberRow?> FindMemberByEmailAsync(string email, CancellationToken ct = default);
    Task<MemberRow?> GetMemberAsync(string memberId, CancellationToken ct = default);
    Task<IReadOnlyList<MemberRow>> ListMembersAsync(string organizationId, CancellationToken ct = default);

    Task StoreRefreshTokenAsync(byte[] tokenHash, string memberId, long expiresAt, CancellationToken ct = default);

    /// <summary>Marks an unexpired, unused refresh token used and returns its member; null otherwise (single use).</summary>
    Task<string?> ConsumeRefreshTokenAsync(byte[] tokenHash, long now, CancellationToken ct = default);

    Task CreateApiKeyAsync(ApiKeyRow key, CancellationToken ct = default);
    Task<IReadOnlyList<ApiKeyRow>> ListApiKeysAsync(string organizationId, CancellationToken ct = default);
    Task<ApiKeyRow?> GetApiKeyAsync(string organizationId, string keyId, CancellationToken ct = default);
    Task<ApiKeyRow?> FindApiKeyAsync(string keyId, CancellationToken ct = default);
    Task MarkApiKeyUsedAsync(string keyId, long at, CancellationToken ct = default);

    /// <summary>Revokes a key of the organization; false when it has no such key.</summary>
    Task<bool> RevokeApiKeyAsync(string organizationId, string keyId, long at, CancellationToken ct = default);
}
