using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Data.Accounts;

internal sealed class AccountRepository(IDbScope scope) : IAccountRepository
{
    public async Task<bool> CreateOrganizationAsync(Organization organization, StoredMember admin, EmailForms email, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // The unique slug and email decide between two sign-ups racing for them: an insert that finds either taken
        // inserts nothing, and the transaction is left uncommitted (rolled back). The data key is in the keyring, outside
        // the database: wrapped_key stays empty.
        var created = await db.ExecuteAsync(
            """
            INSERT INTO organizations (id, slug, name, wrapped_key, created_at)
            VALUES (@Id, @Slug, @Name, @none, @CreatedAt)
            ON CONFLICT DO NOTHING
            """,
            new { organization.Id, organization.Slug, organization.Name, none = NoKey, CreatedAt = Time.ToUnixMs(organization.CreatedAt) });
        if (created != 1 || !await InsertMemberAsync(db, admin, email)) return false;
        await tx.CommitAsync();
        return true;
    }

    private const string OrganizationColumns = "id, slug, name, created_at";

    /// <summary>An empty wrapped_key: the key is in the keyring (a parameter, as the two databases spell an empty blob differently).</summary>
    private static readonly byte[] NoKey = [];

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
        var rows = await db.QueryAsync<OrganizationRow>($"SELECT {OrganizationColumns} FROM organizations WHERE {db.Dialect.In("id", "ids")}", new { ids });
        return rows.ToDictionary(r => r.Id, r => r.ToDomain());
    }

    public async Task<WrappedKey?> GetWrappedKeyAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<WrappedKeyRow>(
            "SELECT wrapped_key, wrapped_key_version, data_key_version FROM organizations WHERE id = @organizationId AND length(wrapped_key) > 0",
            new { organizationId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<LegacyOrganizationKey>> ListLegacyKeysAsync(CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<LegacyKeyRow>(
            "SELECT id, wrapped_key, wrapped_key_version, data_key_version, created_at FROM organizations WHERE length(wrapped_key) > 0 ORDER BY id"))
            .Select(r => r.ToDomain()).ToList();
    }

    public async Task ClearLegacyKeyAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("UPDATE organizations SET wrapped_key = @none WHERE id = @organizationId", new { organizationId, none = NoKey });
    }

    public async Task<MemberChangeOutcome> ChangeMemberRoleAsync(string organizationId, string memberId, string role, CancellationToken ct) =>
        await ChangeMemberAsync(organizationId, memberId, role, ct);

    public async Task<MemberChangeOutcome> RemoveMemberAsync(string organizationId, string memberId, CancellationToken ct) =>
        await ChangeMemberAsync(organizationId, memberId, null, ct);

    /// <summary>Changes a member's role (or removes it, for null) with the organization's row locked, so two admins
    /// demoting each other at once cannot leave the organization without one.</summary>
    private async Task<MemberChangeOutcome> ChangeMemberAsync(string organizationId, string memberId, string? role, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @organizationId{db.Dialect.ForNoKeyUpdate}", new { organizationId });
        var current = await db.ScalarAsync<string?>(
            "SELECT role FROM members WHERE id = @memberId AND organization_id = @organizationId", new { memberId, organizationId });
        if (current is null) return MemberChangeOutcome.NotFound;
        if (current == Roles.Admin && role != Roles.Admin)
        {
            var admins = await db.ScalarAsync<long>(
                "SELECT COUNT(*) FROM members WHERE organization_id = @organizationId AND role = @admin", new { organizationId, admin = Roles.Admin });
            if (admins <= 1) return MemberChangeOutcome.LastAdmin;
        }
        if (role is null) await db.ExecuteAsync("DELETE FROM members WHERE id = @memberId", new { memberId });
        else await db.ExecuteAsync("UPDATE members SET role = @role WHERE id = @memberId", new { memberId, role });
        await tx.CommitAsync();
        return MemberChangeOutcome.Changed;
    }

    public async Task<bool> ReplaceMemberIdentityAsync(StoredMember expected, StoredMember replacement, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var sealedIdentity = MemberRow.Sealed(replacement);
        var args = new
        {
            expected.Id, expectedEmail = expected.EmailLookup, expectedNonce = expected.Identity?.Nonce, email = replacement.EmailLookup,
            expectedName = expected.Plain?.DisplayName, expectedHash = expected.Plain?.PasswordHash,
            nonce = sealedIdentity.Nonce, @sealed = sealedIdentity.Ciphertext, keyVersion = sealedIdentity.KeyVersion,
        };
        // Another member under the new lookup (two addresses the old case-insensitive comparison told apart and the lookup
        // does not): nothing is replaced, rather than the unique index failing the caller.
        if (await db.ScalarAsync<long>("SELECT COUNT(*) FROM members WHERE email = @email AND id <> @Id", args) > 0) return false;
        // The row as read: its lookup and its sealed identity's nonce, or for a row not sealed yet its plaintext.
        var n = await db.ExecuteAsync(
            $"""
            UPDATE members SET email = @email, display_name = '', password_hash = '',
                identity_nonce = @nonce, identity_sealed = @sealed, identity_key_version = @keyVersion
            WHERE id = @Id AND email = @expectedEmail AND {(expected.Identity is null
                ? "identity_nonce IS NULL AND display_name = @expectedName AND password_hash = @expectedHash"
                : "identity_nonce = @expectedNonce")}
            """, args);
        if (n != 1) return false;
        await tx.CommitAsync();
        return true;
    }

    public async Task StartSessionAsync(string sessionId, string memberId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("INSERT INTO member_sessions (id, member_id, created_at) VALUES (@sessionId, @memberId, @at)",
            new { sessionId, memberId, at = Time.ToUnixMs(at) });
    }

    public async Task StoreSessionRefreshTokenAsync(byte[] tokenHash, string memberId, string sessionId, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync(
            "INSERT INTO refresh_tokens (token_hash, member_id, session_id, expires_at) VALUES (@tokenHash, @memberId, @sessionId, @expiresAt)",
            new { tokenHash, memberId, sessionId, expiresAt = Time.ToUnixMs(expiresAt) });
    }

    public async Task<RefreshUse> UseRefreshTokenAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var at = Time.ToUnixMs(now);
        // One conditional UPDATE: two uses of one token cannot both succeed, and a token of an ended session is dead.
        var used = await db.FirstOrDefaultAsync<TokenSessionRow>(
            """
            UPDATE refresh_tokens SET used_at = @at
            WHERE token_hash = @tokenHash AND used_at IS NULL AND expires_at > @at
              AND (session_id IS NULL OR session_id IN (SELECT id FROM member_sessions WHERE ended_at IS NULL))
            RETURNING member_id, session_id
            """, new { tokenHash, at });
        if (used is not null)
        {
            await tx.CommitAsync();
            return new RefreshUse(RefreshUseOutcome.Used, used.MemberId, used.SessionId);
        }
        var replayed = await db.FirstOrDefaultAsync<TokenSessionRow>(
            "SELECT member_id, session_id FROM refresh_tokens WHERE token_hash = @tokenHash AND used_at IS NOT NULL", new { tokenHash });
        if (replayed is not { SessionId: { } sessionId }) return new RefreshUse(RefreshUseOutcome.Invalid, null, null);
        // A used token presented again: either it was stolen or its successor was. Which party holds which cannot be
        // told, so the whole family ends (RFC 9700 §4.14.2).
        await db.ExecuteAsync(
            "UPDATE member_sessions SET ended_at = @at, ended_reason = 'refresh_token_reused' WHERE id = @sessionId AND ended_at IS NULL",
            new { sessionId, at });
        await tx.CommitAsync();
        return new RefreshUse(RefreshUseOutcome.Reused, replayed.MemberId, sessionId);
    }

    private sealed class TokenSessionRow
    {
        public string MemberId { get; init; } = "";
        public string? SessionId { get; init; }
    }

    public async Task<bool> SessionOpenAsync(string memberId, string sessionId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ScalarAsync<long>(
            "SELECT COUNT(*) FROM member_sessions WHERE id = @sessionId AND member_id = @memberId AND ended_at IS NULL", new { sessionId, memberId }) == 1;
    }

    public async Task<bool> MemberCredentialStandsAsync(string memberId, string organizationId, string role, string? sessionId, CancellationToken ct)
    {
        // One statement on one connection instead of the member's row and then its session on a second: both lookups
        // are by primary key, and both are read in the statement's one snapshot. It runs on every request, on a connection
        // kept with its compiled statement (never a remembered answer: the statement runs each time).
        await using var db = await scope.OpenKeptAsync(ct);
        return await db.ScalarAsync<long>(
            """
            SELECT COUNT(*) FROM members m
            WHERE m.id = @memberId AND m.organization_id = @organizationId AND m.role = @role
              AND (@sessionId IS NULL OR EXISTS (
                SELECT 1 FROM member_sessions s WHERE s.id = @sessionId AND s.member_id = m.id AND s.ended_at IS NULL))
            """, new { memberId, organizationId, role, sessionId }) == 1;
    }

    public async Task<int> EndOtherSessionsAsync(string memberId, string? keepSessionId, DateTimeOffset at, string reason, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE member_sessions SET ended_at = @at, ended_reason = @reason
            WHERE member_id = @memberId AND ended_at IS NULL AND (@keepSessionId IS NULL OR id <> @keepSessionId)
            """, new { memberId, keepSessionId, at = Time.ToUnixMs(at), reason });
    }

    public async Task<int> EndSessionsAsync(string memberId, string? sessionId, DateTimeOffset at, string reason, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE member_sessions SET ended_at = @at, ended_reason = @reason
            WHERE member_id = @memberId AND ended_at IS NULL AND (@sessionId IS NULL OR id = @sessionId)
            """, new { memberId, sessionId, at = Time.ToUnixMs(at), reason });
    }

    public async Task<bool> CreateMemberAsync(StoredMember member, EmailForms email, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        if (!await InsertMemberAsync(db, member, email)) return false;
        await tx.CommitAsync();
        return true;
    }

    /// <summary>
    /// Inserts a member unless its email is taken: stored under another form (a lookup under an older token key, a row
    /// not sealed yet) — checked in the write transaction — or under the same lookup (the unique index decides, also
    /// between racing requests).
    /// </summary>
    private static async Task<bool> InsertMemberAsync(Db db, StoredMember member, EmailForms email)
    {
        if (await db.ScalarAsync<long>($"SELECT COUNT(*) FROM members WHERE {Forms(db)}", FormArgs(email)) > 0)
            return false;
        return await db.ExecuteAsync(
            """
            INSERT INTO members (id, organization_id, email, display_name, password_hash, role, created_at, identity_nonce, identity_sealed, identity_key_version)
            VALUES (@Id, @OrganizationId, @Email, '', '', @Role, @CreatedAt, @IdentityNonce, @IdentitySealed, @IdentityKeyVersion)
            ON CONFLICT DO NOTHING
            """, MemberRow.From(member)) == 1;
    }

    /// <summary>A row under one of the email's forms: a lookup only on a sealed row, the address only on a row not sealed yet.</summary>
    private static string Forms(Db db) =>
        $"((identity_sealed IS NOT NULL AND {db.Dialect.In("email", "lookups")}) OR (identity_sealed IS NULL AND email = @address))";

    private static object FormArgs(EmailForms email) => new { lookups = email.Lookups.ToArray(), address = email.Address };

    public async Task<StoredMember?> FindMemberByEmailAsync(EmailForms email, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<MemberRow>($"SELECT * FROM members WHERE {Forms(db)} ORDER BY created_at, id", FormArgs(email)))?.ToDomain();
    }

    public async Task<long> CountMembersUnderLookupAsync(string lookupPrefix, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ScalarAsync<long>(
            "SELECT COUNT(*) FROM members WHERE identity_sealed IS NOT NULL AND substr(email, 1, length(@lookupPrefix)) = @lookupPrefix", new { lookupPrefix });
    }

    public async Task<IReadOnlyList<StoredMember>> ListMembersToSealAsync(string lookupPrefix, string? afterId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<MemberRow>(
            """
            SELECT * FROM members
            WHERE (identity_sealed IS NULL OR substr(email, 1, length(@lookupPrefix)) <> @lookupPrefix) AND id > @afterId
            ORDER BY id LIMIT @limit
            """, new { lookupPrefix, afterId = afterId ?? "", limit })).Select(m => m.ToDomain()).ToList();
    }

    public async Task<StoredMember?> GetMemberAsync(string memberId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<MemberRow>("SELECT * FROM members WHERE id = @memberId", new { memberId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<StoredMember>> ListMembersAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<MemberRow>(
            "SELECT * FROM members WHERE organization_id = @organizationId ORDER BY created_at, id", new { organizationId })).Select(m => m.ToDomain()).ToList();
    }

    public async Task CreateSignupCodeAsync(byte[] codeHash, DateTimeOffset createdAt, DateTimeOffset expiresAt, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("INSERT INTO signup_codes (code_hash, created_at, expires_at) VALUES (@codeHash, @createdAt, @expiresAt)",
            new { codeHash, createdAt = Time.ToUnixMs(createdAt), expiresAt = Time.ToUnixMs(expiresAt) });
    }

    public async Task<bool> UseSignupCodeAsync(byte[] codeHash, DateTimeOffset now, int maxAttempts, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(
            """
            UPDATE signup_codes SET used_at = @now
            WHERE code_hash = @codeHash AND used_at IS NULL AND expires_at > @now AND attempts < @maxAttempts
            """, new { codeHash, now = Time.ToUnixMs(now), maxAttempts }) == 1;
    }

    public async Task CountSignupCodeAttemptAsync(byte[] codeHash, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ExecuteAsync("UPDATE signup_codes SET attempts = attempts + 1 WHERE code_hash = @codeHash", new { codeHash });
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
        // The API key check of every request made with a key's token (like the member's, on a kept connection).
        await using var db = await scope.OpenKeptAsync(ct);
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
