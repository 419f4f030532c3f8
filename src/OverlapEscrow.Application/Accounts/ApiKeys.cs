using System.Security.Cryptography;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Accounts;

public sealed record ApiKeyInput(string? Name, IReadOnlyList<string>? Scopes);

/// <summary>A new key and, this once, its secret.</summary>
public sealed record CreatedApiKey(ApiKey Key, string Secret);

/// <summary>
/// API keys for machines. A key is "oek_&lt;key id&gt;.&lt;256-bit secret, base64url&gt;"; only SHA-256 of the whole key is stored,
/// and the key is shown once, at creation. Machines exchange it at the OAuth 2.0 token endpoint for short-lived access tokens.
/// </summary>
public sealed class ApiKeys(IAccountRepository accounts, ITransactions transactions, TimeProvider time)
{
    public const string Prefix = "oek_";

    public async Task<Outcome<CreatedApiKey>> CreateAsync(Caller caller, ApiKeyInput input, CancellationToken ct)
    {
        var scopes = input.Scopes ?? [];
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(input.Name) && input.Name.Length <= 100 && PlainText.IsPlain(input.Name), "name", "name is 1-100 printable characters.")
            .Check(scopes.Count > 0 && scopes.All(s => Scopes.All.Contains(s)), "scopes", $"scopes is a non-empty list of: {string.Join(", ", Scopes.All)}.");
        if (errors.Any) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var id = Ids.New("key");
        var secret = $"{Prefix}{id}.{Base64Url(RandomNumberGenerator.GetBytes(32))}";
        var key = new ApiKey(id, caller.OrganizationId, input.Name!.Trim(), Accounts.HashSecret(secret), scopes.Distinct().ToList(), now, caller.Actor, null, null);
        await using var uow = await transactions.BeginAsync(ct);
        await uow.Accounts.CreateApiKeyAsync(key, ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "api_key.created", null, new { keyId = id, Scopes = string.Join(' ', key.Scopes) }), ct);
        await uow.CommitAsync(ct);
        return new CreatedApiKey(key, secret);
    }

    public Task<IReadOnlyList<ApiKey>> ListAsync(Caller caller, CancellationToken ct) => accounts.ListApiKeysAsync(caller.OrganizationId, ct);

    public async Task<Outcome<bool>> RevokeAsync(Caller caller, string keyId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Accounts.RevokeApiKeyAsync(caller.OrganizationId, keyId, now, ct)) return new Failure.NotFound("API key");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "api_key.revoked", null, new { keyId }), ct);
        await uow.CommitAsync(ct);
        return true;
    }

    /// <summary>The stored, unrevoked key matching a presented secret, compared in constant time; null when none matches.</summary>
    public async Task<ApiKey?> FindBySecretAsync(string secret, CancellationToken ct)
    {
        if (KeyIdOf(secret) is not { } keyId) return null;
        var key = await accounts.FindApiKeyAsync(keyId, ct);
        if (key is null) return null;
        return CryptographicOperations.FixedTimeEquals(key.SecretHash, Accounts.HashSecret(secret)) ? key : null;
    }

    /// <summary>The key id a presented secret names ("oek_&lt;key id&gt;.&lt;secret&gt;"); null when it is not shaped like a key.</summary>
    public static string? KeyIdOf(string secret)
    {
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var rest = secret[Prefix.Length..];
        // '.' occurs neither in a key id nor in base64url, so it separates them unambiguously.
        var split = rest.IndexOf('.');
        return split <= 0 ? null : rest[..split];
    }

    /// <summary>Records that a key was exchanged for a token.</summary>
    public Task MarkUsedAsync(string keyId, CancellationToken ct) => accounts.MarkApiKeyUsedAsync(keyId, time.GetUtcNow(), ct);

    /// <summary>Whether the key behind a token still stands: it exists, is not revoked and belongs to this organization.</summary>
    public async Task<bool> StillValidAsync(string keyId, string organizationId, CancellationToken ct) =>
        await accounts.FindApiKeyAsync(keyId, ct) is { RevokedAt: null } key && key.OrganizationId == organizationId;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
