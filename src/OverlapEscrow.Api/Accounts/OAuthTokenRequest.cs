using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace OverlapEscrow.Api.Accounts;

/// <summary>
/// A client credentials token request (RFC 6749 §4.4.2) with the client's authentication (§2.3.1), read from the
/// request as OAuth 2.0 client libraries send it: HTTP Basic with the form-urlencoded client_id and client_secret
/// (client_secret_basic, which the RFC requires servers to support), or both in the body (client_secret_post).
/// The client_id is the key id and the client_secret is the whole API key; in the body the client_id may be left out.
/// </summary>
public sealed record OAuthTokenRequest(string? ClientId, string ClientSecret, IReadOnlyList<string>? Scopes)
{
    public const string GrantType = "client_credentials";
    private const string FormMediaType = "application/x-www-form-urlencoded";

    /// <summary>The request, or the error to answer with.</summary>
    public static async Task<(OAuthTokenRequest? Request, OAuthErrorResult? Error)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) || !mediaType.MediaType.Equals(FormMediaType, StringComparison.OrdinalIgnoreCase))
            return (null, OAuthErrorResult.InvalidRequest($"The body must be {FormMediaType}."));
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(ct);
        }
        catch (InvalidDataException)
        {
            return (null, OAuthErrorResult.InvalidRequest("The form body could not be read."));
        }
        // §3.2: parameters must not be included more than once; §3.1: a parameter without a value counts as absent.
        foreach (var (name, values) in form)
            if (values.Count > 1) return (null, OAuthErrorResult.InvalidRequest($"{name} is sent more than once."));
        string? Parameter(string name) => form[name].ToString() is { Length: > 0 } value ? value : null;

        switch (Parameter("grant_type"))
        {
            case null: return (null, OAuthErrorResult.InvalidRequest("grant_type is required."));
            case GrantType: break;
            default: return (null, new OAuthErrorResult(400, "unsupported_grant_type", $"grant_type must be {GrantType}."));
        }

        var scopes = Parameter("scope")?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var bodyId = Parameter("client_id");
        var bodySecret = Parameter("client_secret");
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 0)
        {
            if (bodySecret is null) return (null, OAuthErrorResult.InvalidClient("Client authentication is missing: send the API key as client_secret, with HTTP Basic or in the body."));
            return (new OAuthTokenRequest(bodyId, bodySecret, scopes), null);
        }

        // §2.3: a client must not use more than one authentication method in a request.
        if (bodySecret is not null)
            return (null, OAuthErrorResult.InvalidRequest("The client authenticates twice (HTTP Basic and client_secret in the body); use one."));
        if (authorization.Count > 1 || !TryReadBasic(authorization.ToString(), out var basicId, out var basicSecret))
            return (null, OAuthErrorResult.InvalidClient("The Authorization header must be HTTP Basic with the form-urlencoded client_id and client_secret."));
        if (bodyId is not null && bodyId != basicId)
            return (null, OAuthErrorResult.InvalidClient("client_id in the body differs from the one in the Authorization header."));
        return (new OAuthTokenRequest(basicId, basicSecret, scopes), null);
    }

    /// <summary>RFC 7617 credentials whose user-id and password are each form-urlencoded (RFC 6749 §2.3.1, Appendix B).</summary>
    private static bool TryReadBasic(string header, out string clientId, out string clientSecret)
    {
        clientId = clientSecret = "";
        const string scheme = "Basic ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var encoded = header[scheme.Length..].Trim();
        var bytes = new byte[encoded.Length];
        if (!Convert.TryFromBase64String(encoded, bytes, out var length)) return false;
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        // The form-urlencoding turns a ':' inside either value into %3A, so the first ':' separates them.
        var colon = decoded.IndexOf(':');
        if (colon < 0) return false;
        clientId = WebUtility.UrlDecode(decoded[..colon]);
        clientSecret = WebUtility.UrlDecode(decoded[(colon + 1)..]);
        return clientSecret.Length > 0;
    }
}

/// <summary>The form fields of a token request, for the OpenAPI document only: the endpoint reads the form itself so that
/// a body of another type gets an OAuth error rather than the framework's 415 (which declared form metadata would give).</summary>
public sealed record OAuthTokenForm(
    [property: JsonPropertyName("grant_type")] string GrantType,
    [property: JsonPropertyName("client_id")] string? ClientId = null,
    [property: JsonPropertyName("client_secret")] string? ClientSecret = null,
    [property: JsonPropertyName("scope")] string? Scope = null)
{
    public static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var schema = await context.GetOrCreateSchemaAsync(typeof(OAuthTokenForm), null, ct);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType> { ["application/x-www-form-urlencoded"] = new() { Schema = schema } },
        };
    }
}

/// <summary>RFC 6749 §5.2 error body.</summary>
public sealed record OAuthError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string ErrorDescription);

/// <summary>
/// An RFC 6749 §5.2 error answer: <c>application/json</c> with <c>error</c> and <c>error_description</c>. This is the
/// one place the API does not answer errors with problem details: OAuth clients read these members only from an
/// <c>application/json</c> body and refuse <c>application/problem+json</c>. A 401 carries the Basic challenge the RFC
/// asks for, so a client learns which HTTP authentication scheme the endpoint accepts.
/// </summary>
public sealed class OAuthErrorResult(int statusCode, string error, string description)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<OAuthError>, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public const string Challenge = "Basic realm=\"overlap-escrow\", charset=\"UTF-8\"";

    public int StatusCode { get; } = statusCode;
    int? IStatusCodeHttpResult.StatusCode => StatusCode;
    public OAuthError Value { get; } = new(error, description);
    object? IValueHttpResult.Value => Value;
    public string ContentType => "application/json; charset=utf-8";

    public static OAuthErrorResult InvalidRequest(string description) => new(400, "invalid_request", description);

    public static OAuthErrorResult InvalidClient(string description) => new(401, "invalid_client", description);

    public Task ExecuteAsync(HttpContext http)
    {
        http.Response.StatusCode = StatusCode;
        if (StatusCode == 401) http.Response.Headers.WWWAuthenticate = $"{Challenge}, error=\"{Value.Error}\"";
        return http.Response.WriteAsJsonAsync(Value, Value.GetType(), options: null, contentType: ContentType);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        builder.Metadata.Add(new ProducesResponseTypeMetadata(400, typeof(OAuthError), ["application/json"]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(401, typeof(OAuthError), ["application/json"]));
    }
}
