using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
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
        group.MapPost("", Create).WithName("CreateApiKey").WithSummary("Create a scoped API key; the secret is returned once");
        group.MapGet("", List).WithName("ListApiKeys").WithSummary("API keys of my organization (never their secrets)");
        group.MapDelete("/{keyId}", Revoke).WithName("RevokeApiKey").WithSummary("Revoke a key; tokens issued for it stop working at once");

        routes.MapPost("/v1/auth/token", Token).AllowAnonymous().DisableAntiforgery().WithTags("Accounts")
            .WithName("ClientCredentialsToken")
            .WithSummary("OAuth 2.0 client credentials: exchange an API key (client_secret) for an access token")
            .WithDescription("Form-encoded: grant_type=client_credentials, client_secret=<api key>, optional client_id=<key id>. Errors are problem details that also carry OAuth's error and error_description members.");
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

    private static async Task<Results<Ok<OAuthTokenResponse>, ProblemHttpResult>> Token(
        [FromForm(Name = "grant_type")] string? grantType, [FromForm(Name = "client_secret")] string? clientSecret, [FromForm(Name = "client_id")] string? clientId,
        ApiKeys keys, TokenIssuer tokens, CancellationToken ct)
    {
        if (grantType != "client_credentials")
            return OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.");
        var key = clientSecret is null ? null : await keys.FindBySecretAsync(clientSecret, ct);
        if (key is null || key.RevokedAt is not null || (clientId is not null && clientId != key.Id))
            return OAuthError(401, "invalid_client", "The API key is unknown or revoked.");
        await keys.MarkUsedAsync(key.Id, ct);
        return TypedResults.Ok(new OAuthTokenResponse(tokens.AccessTokenForApiKey(key.Id, key.OrganizationId, key.Scopes), "Bearer",
            (int)tokens.AccessTokenLifetime.TotalSeconds, string.Join(' ', key.Scopes)));
    }

    private static ProblemHttpResult OAuthError(int status, string error, string description) =>
        TypedResults.Problem(statusCode: status, title: description, type: Problems.TypePrefix + "oauth",
            extensions: new Dictionary<string, object?> { ["error"] = error, ["error_description"] = description });
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
