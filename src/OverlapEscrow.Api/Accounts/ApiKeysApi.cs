using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Api.Accounts;

/// <summary>
/// API keys for machines. A key is "oek_&lt;key id&gt;.&lt;256-bit secret, base64url&gt;"; only SHA-256 of the whole key is stored,
/// and the key is shown once, at creation. Machines exchange it at the OAuth 2.0 token endpoint
/// (client credentials grant, RFC 6749 §4.4) for a short-lived access token carrying the key's scopes.
/// </summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/api-keys").WithTags("API keys").RequireAuthorization(Policies.Admin);
        group.MapPost("", Create).WithName("CreateApiKey").WithSummary("Create a scoped API key; the secret is returned once")
            .WithDescription("Admins only. Only the SHA-256 of the key is stored. Exchange the key for access tokens at POST /v1/auth/token.");
        group.MapGet("", List).WithName("ListApiKeys").WithSummary("API keys of my organization (never their secrets)")
            .WithDescription("Admins only. lastUsedAt and revokedAt are present once they happened.");
        group.MapDelete("/{keyId}", Revoke).WithName("RevokeApiKey").WithSummary("Revoke a key; tokens issued for it stop working at once")
            .WithDescription("Admins only. Revoking a revoked key answers 204 again and keeps the first revocation time.");

        routes.MapPost("/v1/auth/token", Token).AllowAnonymous().DisableAntiforgery().WithTags("Accounts").RequireRateLimiting(RateLimits.Token)
            .AddOpenApiOperationTransformer(OAuthTokenForm.DescribeAsync)
            .WithName("ClientCredentialsToken")
            .WithSummary("OAuth 2.0 client credentials: exchange an API key (client_secret) for an access token")
            .WithDescription("Form-encoded: grant_type=client_credentials and optional scope (a subset of the key's scopes). The client authenticates with HTTP Basic (client_id = key id, client_secret = the API key, each form-urlencoded) or with client_secret (and optional client_id) in the body. Errors are RFC 6749 §5.2 JSON (error, error_description), not problem details.");
        return routes;
    }

    private static async Task<Results<Created<CreatedApiKeyResponse>, ProblemHttpResult>> Create(
        CreateApiKeyRequest request, CurrentUser user, ApiKeys keys, CancellationToken ct)
    {
        var outcome = await keys.CreateAsync(user.Caller, new ApiKeyInput(request.Name, request.Scopes), ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var created = outcome.Value!;
        return TypedResults.Created($"/v1/api-keys/{created.Key.Id}", new CreatedApiKeyResponse(ApiKeyResponse.From(created.Key), created.Secret));
    }

    private static async Task<Ok<List<ApiKeyResponse>>> List(CurrentUser user, ApiKeys keys, CancellationToken ct) =>
        TypedResults.Ok((await keys.ListAsync(user.Caller, ct)).Select(ApiKeyResponse.From).ToList());

    private static async Task<Results<NoContent, ProblemHttpResult>> Revoke(string keyId, CurrentUser user, ApiKeys keys, CancellationToken ct) =>
        (await keys.RevokeAsync(user.Caller, keyId, ct)).Failure is { } failure ? Problems.From(failure) : TypedResults.NoContent();

    private static async Task<Results<Ok<OAuthTokenResponse>, OAuthErrorResult, ProblemHttpResult>> Token(
        HttpContext http, ApiKeys keys, TokenIssuer tokens, AccountRateLimiter limits, CancellationToken ct)
    {
        // RFC 6749 §5.1: token responses, and so their errors, must not be cached.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.Pragma = "no-cache";
        var (request, error) = await OAuthTokenRequest.ReadAsync(http.Request, ct);
        if (error is not null) return error;
        // Counted against the key the secret names (whatever client_id says), so guesses at one key add up.
        if ((ApiKeys.KeyIdOf(request!.ClientSecret) ?? request.ClientId) is { } keyId && limits.TokenRequest(http, keyId) is { } tooMany) return tooMany;
        var key = await keys.FindBySecretAsync(request.ClientSecret, ct);
        if (key is null || key.RevokedAt is not null || (request.ClientId is not null && request.ClientId != key.Id))
            return OAuthErrorResult.InvalidClient("Client authentication failed: the API key is unknown, revoked, or not the key of client_id.");
        var granted = key.Scopes;
        // §3.3: the client may ask for fewer scopes than the key has, never for more.
        var scopes = request.Scopes is { Count: > 0 } asked ? asked.Distinct().ToArray() : [.. granted];
        if (scopes.Except(granted).Any())
            return new OAuthErrorResult(400, "invalid_scope", $"scope may only name scopes of this key: {string.Join(' ', granted)}.");
        await keys.MarkUsedAsync(key.Id, ct);
        return TypedResults.Ok(new OAuthTokenResponse(tokens.AccessTokenForApiKey(key.Id, key.OrganizationId, scopes), "Bearer",
            (int)tokens.AccessTokenLifetime.TotalSeconds, string.Join(' ', scopes)));
    }
}

public sealed record CreateApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes);

public sealed record ApiKeyResponse(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static ApiKeyResponse From(ApiKey k) => new(k.Id, k.Name, k.Scopes, k.CreatedAt, k.LastUsedAt, k.RevokedAt);
}

/// <summary>The key's metadata and, this once, its secret.</summary>
public sealed record CreatedApiKeyResponse(ApiKeyResponse Key, string Secret);

/// <summary>RFC 6749 §5.1 token response (snake_case, as OAuth 2.0 clients expect).</summary>
public sealed record OAuthTokenResponse(
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("token_type")] string TokenType,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("scope")] string Scope);
