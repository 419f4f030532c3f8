using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Data.Accounts;

internal sealed class AccountRepository(IDbScope scope) : IAccountRepository
{
    public async Task<bool> CreateOrganizationAsync(Organization organization, WrappedKey key, Member admin, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // The unique slug and email decide between two sign-ups racing for them: an insert that finds either taken
        // inserts nothing, and the transaction is left uncommitted (rolled back).
        var created = await db.ExecuteAsync(
            """
            INSERT INTO organizations (id, slug, name, wrapped_key, wrapped_key_version, data_key_version, created_at)
            VALUES (@Id, @Slug, @Name, @WrappedKey, @WrappedKeyVersion, @DataKeyVersion, @CreatedAt)
            ON CONFLICT DO NOTHING
            """,
            new
            {
                organization.Id, organization.Slug, organization.Name, WrappedKey = key.Data, WrappedKeyVersion = key.MasterKeyVersion,
                DataKeyVersion = key.DataKeyVersion, CreatedAt = Time.ToUnixMs(organization.CreatedAt),
            });
        if (created != 1 || !await InsertMemberAsync(db, admin)) return false;
        await tx.CommitAsync();
        return true;
    }

    private const string OrganizationColumns = "id, slug, name, created_at";

    public async Task<Organization?> GetOrganizationAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<OrganizationRow>(
            $"SELECT {OrganizationColumns} FROM organizations WHERE id = @organizationId", new { organizationId }))?.ToDomain();
    }

    public async Task<Organization?> FindOrganizationBySlugAsync(string slug, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<OrganizationRow>(
            $"SELECT {OrganizationColumns} FROM organizations WHERE slug = @slug", new { slug }))?.ToDomain();
    }

    public async Task<IReadOnlyDictionary<string, Organization>> GetOrganizationsAsync(IEnumerable<string> organizationIds, CancellationToken ct)
    {
        var ids = organizationIds.Distinct().ToArray();
        if (ids.Length == 0) return new Dictionary<string, Organization>();
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<OrganizationRow>($"SELECT {OrganizationColumns} FROM organizations WHERE id IN @ids", new { ids });
        return rows.ToDictionary(r => r.Id, r => r.ToDomain());
    }

    public async Task<WrappedKey?> GetWrappedKeyAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<WrappedKeyRow>(
            "SELECT wrapped_key, wrapped_key_version, data_key_version FROM organizations WHERE id = @organizationId", new { organizationId }))?.ToDomain();
    }

    public async Task<bool> CreateMemberAsync(Member member, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await InsertMemberAsync(db, member);
    }

    /// <summary>Inserts a member unless its email is taken (the unique index decides, also between racing requests).</summary>
    private static async Task<bool> InsertMemberAsync(Db db, Member member) =>
        await db.ExecuteAsync(
            """
            INSERT INTO members (id, organization_id, email, display_name, password_hash, role, created_at)
            VALUES (@Id, @OrganizationId, @Email, @DisplayName, @PasswordHash, @Role, @CreatedAt)
            ON CONFLICT DO NOTHING
            """, MemberRow.From(member)) == 1;

    public async Task<Member?> FindMemberByEmailAsync(string email, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<MemberRow>("SELECT * FROM members WHERE email = @email", new { email }))?.ToDomain();
    }

    public async Task<Member?> GetMemberAsync(string memberId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<MemberRow>("SELECT * FROM members WHERE id = @memberId", new { memberId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<Member>> ListMembersAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<MemberRow>(
            "SELECT * FROM members WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).Select(m => m.ToDomain()).ToList();
    }

    public async Task StoreRefreshTokenAsync(byte[] tokenHash, string memberId, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            "INSERT INTO refresh_tokens (token_hash, member_id, expires_at) VALUES (@tokenHash, @memberId, @expiresAt)",
            new { tokenHash, memberId, expiresAt = Time.ToUnixMs(expiresAt) });
    }

    public async Task<string?> ConsumeRefreshTokenAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // One conditional UPDATE: two uses of one token cannot both succeed.
        return await db.ScalarAsync<string?>(
            """
            UPDATE refresh_tokens SET used_at = @now
            WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @now
            RETURNING member_id
            """, new { tokenHash, now = Time.ToUnixMs(now) });
    }

    public async Task CreateApiKeyAsync(ApiKey key, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            """
            INSERT INTO api_keys (id, organization_id, name, secret_hash, scopes, created_at, created_by)
            VALUES (@Id, @OrganizationId, @Name, @SecretHash, @Scopes, @CreatedAt, @CreatedBy)
            """,
            new { key.Id, key.OrganizationId, key.Name, key.SecretHash, Scopes = string.Join(' ', key.Scopes), CreatedAt = Time.ToUnixMs(key.CreatedAt), key.CreatedBy });
    }

    public async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<ApiKeyRow>(
            "SELECT * FROM api_keys WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).Select(k => k.ToDomain()).ToList();
    }

    public async Task<ApiKey?> GetApiKeyAsync(string organizationId, string keyId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<ApiKeyRow>(
            "SELECT * FROM api_keys WHERE id = @keyId AND organization_id = @organizationId", new { keyId, organizationId }))?.ToDomain();
    }

    public async Task<ApiKey?> FindApiKeyAsync(string keyId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<ApiKeyRow>("SELECT * FROM api_keys WHERE id = @keyId", new { keyId }))?.ToDomain();
    }

    public async Task MarkApiKeyUsedAsync(string keyId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("UPDATE api_keys SET last_used_at = @at WHERE id = @keyId", new { keyId, at = Time.ToUnixMs(at) });
    }

    public async Task<bool> RevokeApiKeyAsync(string organizationId, string keyId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @at)
            WHERE id = @keyId AND organization_id = @organizationId
            """, new { keyId, organizationId, at = Time.ToUnixMs(at) });
        return n > 0;
    }
}
