using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Application.Storage;

/// <summary>A data key the database still holds from before the keyring moved out of it.</summary>
public sealed record LegacyOrganizationKey(string OrganizationId, WrappedKey Key, DateTimeOffset CreatedAt);

/// <summary>How using a refresh token went.</summary>
public enum RefreshUseOutcome
{
    /// <summary>The token was unused, unexpired and its session open: it is used up now.</summary>
    Used,

    /// <summary>The token had been used before: a replay, so its whole session (every token of the family) is revoked now.</summary>
    Reused,

    /// <summary>Unknown, expired, or of a session that was ended.</summary>
    Invalid,
}

/// <summary>
/// A member as stored: its email, display name and password hash sealed together under the organization's data key
/// (<see cref="Identity"/>), found by the keyed lookup of its email (<see cref="EmailLookup"/>, Accounts.MemberIdentities).
/// A row stored before identities were sealed (migration 2026-12-04-0022) and not sealed at a start yet has its email as
/// <see cref="EmailLookup"/> and the member in <see cref="Plain"/>.
/// </summary>
public sealed record StoredMember(string Id, string OrganizationId, string EmailLookup, SealedValue? Identity, string Role, DateTimeOffset CreatedAt,
    Member? Plain = null);

/// <summary>
/// The forms a member with one email may be stored under: its keyed lookups (one per token key present), matched only
/// against sealed rows, and the address itself, matched only against a row not sealed yet.
/// </summary>
public sealed record EmailForms(IReadOnlyList<string> Lookups, string Address);

/// <summary>The outcome of using a refresh token, with its member and session when it was used or replayed.</summary>
public sealed record RefreshUse(RefreshUseOutcome Outcome, string? MemberId, string? SessionId);

/// <summary>What changing a member came to.</summary>
public enum MemberChangeOutcome { Changed, NotFound, LastAdmin }

/// <summary>Organizations, their members, refresh tokens and API keys.</summary>
/// <remarks>Every lookup that a request can steer by id takes the caller's organization id and matches it in the query.</remarks>
public interface IAccountRepository
{
    /// <summary>Creates an organization and its first admin, atomically; false when the slug or email is taken. Its keys are in the keyring, not here.</summary>
    Task<bool> CreateOrganizationAsync(Organization organization, StoredMember admin, EmailForms email, CancellationToken ct);
    Task<Organization?> GetOrganizationAsync(string organizationId, CancellationToken ct);
    Task<Organization?> FindOrganizationBySlugAsync(string slug, CancellationToken ct);
    Task<IReadOnlyDictionary<string, Organization>> GetOrganizationsAsync(IEnumerable<string> organizationIds, CancellationToken ct);

    /// <summary>The data key the database still holds for the organization (before the move to the keyring); null when none.</summary>
    Task<WrappedKey?> GetWrappedKeyAsync(string organizationId, CancellationToken ct);

    /// <summary>Data keys still in the database, to move into the keyring at start-up.</summary>
    Task<IReadOnlyList<LegacyOrganizationKey>> ListLegacyKeysAsync(CancellationToken ct);

    /// <summary>Forgets the database's copy of an organization's data key once the keyring holds it.</summary>
    Task ClearLegacyKeyAsync(string organizationId, CancellationToken ct);

    /// <summary>Adds a member; false when a member is stored under any of the email's forms.</summary>
    Task<bool> CreateMemberAsync(StoredMember member, EmailForms email, CancellationToken ct);

    /// <summary>The member stored under one of the email's forms (the oldest, should there be two).</summary>
    Task<StoredMember?> FindMemberByEmailAsync(EmailForms email, CancellationToken ct);

    /// <summary>How many members are stored under a lookup starting with <paramref name="lookupPrefix"/> (made under one token key version).</summary>
    Task<long> CountMembersUnderLookupAsync(string lookupPrefix, CancellationToken ct);
    Task<StoredMember?> GetMemberAsync(string memberId, CancellationToken ct);
    Task<IReadOnlyList<StoredMember>> ListMembersAsync(string organizationId, CancellationToken ct);

    /// <summary>
    /// Members whose identity is stored in plaintext, or whose lookup does not start with <paramref name="lookupPrefix"/>
    /// (made under an older token key), by id after <paramref name="afterId"/>.
    /// </summary>
    Task<IReadOnlyList<StoredMember>> ListMembersToSealAsync(string lookupPrefix, string? afterId, int limit, CancellationToken ct);

    /// <summary>
    /// Replaces a member's lookup and sealed identity (a password change, a re-keyed lookup, a legacy row sealed) only
    /// while the row is still as <paramref name="expected"/> was read (a compare-and-set: lookup and sealed identity, or
    /// for a row not sealed yet every plaintext column) and no other member is stored under the new lookup; false otherwise.
    /// </summary>
    Task<bool> ReplaceMemberIdentityAsync(StoredMember expected, StoredMember replacement, CancellationToken ct);

    /// <summary>Changes a member's role, locking the organization's row; refuses to leave the organization without an admin.</summary>
    Task<MemberChangeOutcome> ChangeMemberRoleAsync(string organizationId, string memberId, string role, CancellationToken ct);

    /// <summary>Removes a member (its sessions and refresh tokens go with it), locking the organization's row; refuses to remove the last admin.</summary>
    Task<MemberChangeOutcome> RemoveMemberAsync(string organizationId, string memberId, CancellationToken ct);

    /// <summary>Opens a session (a family of refresh tokens, RFC 9700 §4.14.2) for a member.</summary>
    Task StartSessionAsync(string sessionId, string memberId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Stores a refresh token (only its hash) in a session.</summary>
    Task StoreSessionRefreshTokenAsync(byte[] tokenHash, string memberId, string sessionId, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>
    /// Uses a refresh token once: used (its member and session) when unused, unexpired and its session open; when it was
    /// used before, the replay revokes its whole session (<see cref="RefreshUseOutcome.Reused"/>); invalid otherwise.
    /// </summary>
    Task<RefreshUse> UseRefreshTokenAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken ct);

    /// <summary>Whether the member's session is open (access tokens name their session; an ended one stops them at once).</summary>
    Task<bool> SessionOpenAsync(string memberId, string sessionId, CancellationToken ct);

    /// <summary>
    /// Whether a member's access token still stands, in one indexed statement (it runs on every request): the member
    /// exists in <paramref name="organizationId"/> with <paramref name="role"/>, and the session the token names is open
    /// (<paramref name="sessionId"/> null: a token issued before sessions existed, which names none).
    /// </summary>
    Task<bool> MemberCredentialStandsAsync(string memberId, string organizationId, string role, string? sessionId, CancellationToken ct);

    /// <summary>Ends every session of the member but <paramref name="keepSessionId"/> (all of them when null); returns how many were open.</summary>
    Task<int> EndOtherSessionsAsync(string memberId, string? keepSessionId, DateTimeOffset at, string reason, CancellationToken ct);

    /// <summary>Ends one session of the member, or all of them (<paramref name="sessionId"/> null); returns how many were open.</summary>
    Task<int> EndSessionsAsync(string memberId, string? sessionId, DateTimeOffset at, string reason, CancellationToken ct);

    /// <summary>Stores a sign-up code (only its SHA-256) that lets one organization sign up until <paramref name="expiresAt"/>.</summary>
    Task CreateSignupCodeAsync(byte[] codeHash, DateTimeOffset createdAt, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Uses a sign-up code up (in the sign-up's transaction): false when unknown, used, expired or tried too often.</summary>
    Task<bool> UseSignupCodeAsync(byte[] codeHash, DateTimeOffset now, int maxAttempts, CancellationToken ct);

    /// <summary>Counts a sign-up with the code that failed (a slug or email taken), so a code cannot probe without end.</summary>
    Task CountSignupCodeAttemptAsync(byte[] codeHash, CancellationToken ct);

    Task CreateApiKeyAsync(ApiKey key, CancellationToken ct);
    Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string organizationId, CancellationToken ct);
    Task<ApiKey?> GetApiKeyAsync(string organizationId, string keyId, CancellationToken ct);

    /// <summary>A key by id whatever its organization: only the token endpoint and the token check call it, with the key's own id.</summary>
    Task<ApiKey?> FindApiKeyAsync(string keyId, CancellationToken ct);
    Task MarkApiKeyUsedAsync(string keyId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Revokes a key of the organization; false when it has no such key.</summary>
    Task<bool> RevokeApiKeyAsync(string organizationId, string keyId, DateTimeOffset at, CancellationToken ct);
}
