using System.Data.Common;
using Dapper;

namespace OverlapEscrow.Data.Accounts;

public sealed class AccountRepository(IDbConnectionFactory db) : IAccountRepository
{
    public async Task<bool> CreateOrganizationAsync(OrganizationRow organization, MemberRow admin, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var taken = await connection.ExecuteScalarAsync<long>(
            """
            SELECT (SELECT COUNT(*) FROM organizations WHERE slug = @Slug)
                 + (SELECT COUNT(*) FROM members WHERE email = @Email)
            """, new { organization.Slug, admin.Email }, tx);
        if (taken > 0) return false;
        await connection.ExecuteAsync(
            "INSERT INTO organizations (id, slug, name, wrapped_key, created_at) VALUES (@Id, @Slug, @Name, @WrappedKey, @CreatedAt)",
            organization, tx);
        await InsertMember(connection, admin, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    public async Task<OrganizationRow?> GetOrganizationAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<OrganizationRow>(
            "SELECT * FROM organizations WHERE id = @organizationId", new { organizationId });
    }

    public async Task<OrganizationRow?> FindOrganizationBySlugAsync(string slug, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<OrganizationRow>(
            "SELECT * FROM organizations WHERE slug = @slug", new { slug });
    }

    public async Task<IReadOnlyDictionary<string, OrganizationRow>> GetOrganizationsAsync(IEnumerable<string> organizationIds, CancellationToken ct = default)
    {
        var ids = organizationIds.Distinct().ToArray();
        if (ids.Length == 0) return new Dictionary<string, OrganizationRow>();
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<OrganizationRow>("SELECT * FROM organizations WHERE id IN @ids", new { ids });
        return rows.ToDictionary(r => r.Id);
    }

    public async Task<bool> CreateMemberAsync(MemberRow member, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var taken = await connection.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM members WHERE email = @Email", new { member.Email }, tx);
        if (taken > 0) return false;
        await InsertMember(connection, member, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    private static Task InsertMember(DbConnection connection, MemberRow member, DbTransaction tx) =>
        connection.ExecuteAsync(
            """
            INSERT INTO members (id, organization_id, email, display_name, password_hash, role, created_at)
            VALUES (@Id, @OrganizationId, @Email, @DisplayName, @PasswordHash, @Role, @CreatedAt)
            """, member, tx);

    public async Task<MemberRow?> FindMemberByEmailAsync(string email, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<MemberRow>(
            "SELECT * FROM members WHERE email = @email", new { email });
    }

    public async Task<MemberRow?> GetMemberAsync(string memberId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<MemberRow>(
            "SELECT * FROM members WHERE id = @memberId", new { memberId });
    }

    public async Task<IReadOnlyList<MemberRow>> ListMembersAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<MemberRow>(
            "SELECT * FROM members WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).AsList();
    }

    public async Task StoreRefreshTokenAsync(byte[] tokenHash, string memberId, long expiresAt, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            "INSERT INTO refresh_tokens (token_hash, member_id, expires_at) VALUES (@tokenHash, @memberId, @expiresAt)",
            new { tokenHash, memberId, expiresAt });
    }

    public async Task<string?> ConsumeRefreshTokenAsync(byte[] tokenHash, long now, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<string?>(
            """
            UPDATE refresh_tokens SET used_at = @now
            WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @now
            RETURNING member_id
            """, new { tokenHash, now });
    }

    public async Task CreateApiKeyAsync(ApiKeyRow key, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(
            """
            INSERT INTO api_keys (id, organization_id, name, secret_hash, scopes, created_at, created_by)
            VALUES (@Id, @OrganizationId, @Name, @SecretHash, @Scopes, @CreatedAt, @CreatedBy)
            """, key);
    }

    public async Task<IReadOnlyList<ApiKeyRow>> ListApiKeysAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<ApiKeyRow>(
            "SELECT * FROM api_keys WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).AsList();
    }

    public async Task<ApiKeyRow?> GetApiKeyAsync(string organizationId, string keyId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
            "SELECT * FROM api_keys WHERE id = @keyId AND organization_id = @organizationId", new { keyId, organizationId });
    }

    public async Task<ApiKeyRow?> FindApiKeyAsync(string keyId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
            "SELECT * FROM api_keys WHERE id = @keyId", new { keyId });
    }

    public async Task MarkApiKeyUsedAsync(string keyId, long at, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync("UPDATE api_keys SET last_used_at = @at WHERE id = @keyId", new { keyId, at });
    }

    public async Task<bool> RevokeApiKeyAsync(string organizationId, string keyId, long at, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var n = await connection.ExecuteAsync(
            """
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @at)
            WHERE id = @keyId AND organization_id = @organizationId
            """, new { keyId, organizationId, at });
        return n > 0;
    }
}
