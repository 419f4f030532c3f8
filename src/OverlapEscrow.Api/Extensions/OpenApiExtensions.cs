using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;
using OverlapEscrow.Api.Accounts;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Schedules;
using OverlapEscrow.Api.Webhooks;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Extensions;

/// <summary>
/// The OpenAPI document (/openapi/v1.json), made usable by client generators as it is served: the bearer scheme on
/// every operation that needs a token, the error answers each operation can give (derived from its endpoint metadata,
/// so a new endpoint gets them without writing them out), tags with descriptions, and schemas that say what the wire
/// carries — which fields may be left out, and which strings are closed sets.
/// </summary>
public static class OpenApiExtensions
{
    public const string BearerScheme = "Bearer";
    private const string ProblemSchema = "ProblemDetails";
    private const string ProblemJson = "application/problem+json";

    /// <summary>The OAuth 2.0 token endpoint answers errors as RFC 6749 §5.2 defines them, which OAuth clients read, not as problem details.</summary>
    private const string OAuthTokenEndpoint = "ClientCredentialsToken";

    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Health"] = "Liveness (/healthz) and readiness (/readyz) checks for load balancers and orchestrators.",
        ["Accounts"] = "Sign-up, member log-in and token refresh, the OAuth 2.0 token endpoint for API keys, and the members of an organization.",
        ["API keys"] = "Scoped keys for machines, exchanged at POST /v1/auth/token for short-lived access tokens.",
        ["Populations"] = "Lists of hashed account records (customers, prospects, …), uploaded as snapshots or deltas, with their default sharing rule.",
        ["Partnerships"] = "Invitations between organizations and their life cycle: invited, active, declined, terminated.",
        ["Sharing"] = "What each side lets the other see, per population and per partner population: hidden, counts or overlaps.",
        ["Data requests"] = "Ask a partner for more than counts on a counts-only cell; the partner answers with a sharing change or declines.",
        ["Attribution"] = "Time-correct attribution: which partners had an opportunity's account while it was open, the ledger of sourced/influenced claims, confirm/dispute, CSV.",
        ["Co-selling"] = "Co-selling signals: joint opportunities, reference and reciprocal cells within what the partner shares, and opportunities with no partner attached.",
        ["Privacy"] = "Privacy-protected counts: the owner's budget and settings per partner for the noised counts-level values (docs/privacy.md).",
        ["Overlaps"] = "The overlap matrix, its history, and the overlapping records of a cell, as far as the partner's rule permits.",
        ["Partnership health"] = "Figures from my own pipeline and the overlap fact: coverage, potential revenue, lift with intervals, the partner leaderboard and the leadership report (docs/health.md).",
        ["Schedules"] = "Sync schedules that pull snapshots or refresh overlaps on a cron expression, and their run history.",
        ["Audit"] = "The hash-chained audit log of an organization and its partnerships, and its verification.",
        ["Webhooks"] = "Signed event deliveries (Standard Webhooks) to subscribed URLs, and their delivery log.",
    };

    /// <summary>
    /// Strings that take one of a closed set of values, by declaring type and property. The values come from the
    /// constants the code writes, so the document cannot drift from them; the wire stays a plain string.
    /// </summary>
    private static readonly Dictionary<(Type, string), IReadOnlyList<string>> Enumerations = BuildEnumerations();

    /// <summary>Query parameters that take one of a closed set of values, by name (the same name means the same thing on every operation).</summary>
    private static readonly Dictionary<string, IReadOnlyList<string>> QueryEnumerations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["format"] = ["json", "csv"],
        ["onError"] = ["reject", "skip"],
    };

    /// <remarks>
    /// Properties typed as C# enumerations (sharing levels, partnership, run and delivery statuses, schedule actions, run
    /// triggers) are enumerations in the schema already, through the JSON options' string enum converter; this table
    /// holds the string-typed ones.
    /// </remarks>
    private static Dictionary<(Type, string), IReadOnlyList<string>> BuildEnumerations()
    {
        IReadOnlyList<string> levels = Enum.GetValues<SharingLevel>().Select(l => l.ToString().ToLowerInvariant()).ToList();
        IReadOnlyList<string> identifierTypes = IdentifierTypes.All.Select(t => t.WireName()).ToList();
        IReadOnlyList<string> actions = ["pull", "refresh"];
        IReadOnlyList<string> pullFormats = ["ndjson", "csv"];
        IReadOnlyList<string> errorPolicies = ["reject", "skip"];
        return new()
        {
            [(typeof(HealthResponse), nameof(HealthResponse.Status))] = ["ok"],
            [(typeof(AddMemberRequest), nameof(AddMemberRequest.Role))] = Roles.All,
            [(typeof(MemberResponse), nameof(MemberResponse.Role))] = Roles.All,
            [(typeof(MeResponse), nameof(MeResponse.Role))] = Roles.All,
            [(typeof(MeResponse), nameof(MeResponse.Kind))] = ["member", "api_key"],
            [(typeof(MeResponse), nameof(MeResponse.Scopes))] = Scopes.All,
            [(typeof(TokenResponse), nameof(TokenResponse.TokenType))] = ["Bearer"],
            [(typeof(CreateApiKeyRequest), nameof(CreateApiKeyRequest.Scopes))] = Scopes.All,
            [(typeof(ApiKeyResponse), nameof(ApiKeyResponse.Scopes))] = Scopes.All,
            [(typeof(CreatePopulationRequest), nameof(CreatePopulationRequest.Type))] = PopulationTypes.All,
            [(typeof(PopulationResponse), nameof(PopulationResponse.Type))] = PopulationTypes.All,
            [(typeof(MatrixPopulation), nameof(MatrixPopulation.Type))] = PopulationTypes.All,
            [(typeof(MySharingResponse), nameof(MySharingResponse.PopulationType))] = PopulationTypes.All,
            [(typeof(TheirSharingResponse), nameof(TheirSharingResponse.PopulationType))] = PopulationTypes.All,
            [(typeof(UploadResult), nameof(UploadResult.Mode))] = ["snapshot", "delta"],
            [(typeof(SharingSettingRequest), nameof(SharingSettingRequest.Level))] = levels,
            [(typeof(SharingOverrideRequest), nameof(SharingOverrideRequest.Level))] = levels,
            [(typeof(PopulationSharingRequest), nameof(PopulationSharingRequest.Level))] = levels,
            [(typeof(PartnerMatchResponse), nameof(PartnerMatchResponse.MatchedOn))] = identifierTypes,
            [(typeof(PartnershipResponse), nameof(PartnershipResponse.Role))] = ["inviter", "invitee"],
            [(typeof(ScheduleRequest), nameof(ScheduleRequest.Action))] = actions,
            [(typeof(PullRequest), nameof(PullRequest.Format))] = pullFormats,
            [(typeof(PullResponse), nameof(PullResponse.Format))] = pullFormats,
            [(typeof(PullRequest), nameof(PullRequest.OnError))] = errorPolicies,
            [(typeof(PullResponse), nameof(PullResponse.OnError))] = errorPolicies,
            [(typeof(CreateWebhookRequest), nameof(CreateWebhookRequest.Events))] = WebhookEventTypes.All,
            [(typeof(WebhookResponse), nameof(WebhookResponse.Events))] = WebhookEventTypes.All,
            [(typeof(WebhookDeliveryResponse), nameof(WebhookDeliveryResponse.EventType))] = WebhookEventTypes.All,
        };
    }

    public static IServiceCollection AddEscrowOpenApi(this IServiceCollection services) =>
        services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer(DescribeDocument);
            o.AddOperationTransformer(DeclareCredentialsAndErrors);
            o.AddSchemaTransformer(DescribeWireSchema);
        });

    /// <summary>
    /// Declares a CSV rendering of the endpoint's 200 answer beside its JSON one (an endpoint can declare only one
    /// type per status code in its metadata).
    /// </summary>
    public static RouteHandlerBuilder ProducesCsv(this RouteHandlerBuilder builder, string description) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Responses ??= [];
            if (!operation.Responses.TryGetValue("200", out var ok) || ok is not OpenApiResponse response)
                operation.Responses["200"] = response = new OpenApiResponse { Description = "OK" };
            response.Content ??= new Dictionary<string, OpenApiMediaType>();
            response.Content["text/csv"] = new OpenApiMediaType
            {
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = description },
            };
            return Task.CompletedTask;
        });

    private static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Info.Title = "OverlapEscrow API";
        document.Info.Description = "Partner data escrow: hashed uploads, sharing rules, overlap reports. See docs/api.md.";
        // The server entry is the address the document was requested at; a trailing slash would double the one
        // every path starts with.
        foreach (var server in document.Servers ?? [])
            if (server.Url is { Length: > 1 } url) server.Url = url.TrimEnd('/');
        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
            if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description)) tag.Description = description;

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "An access token: a member's from POST /v1/signup, /v1/auth/login or /v1/auth/refresh; an API key's from POST /v1/auth/token (client credentials). "
                + "What it may do depends on the member's role or the key's scopes (see docs/api.md).",
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// Credentials and error answers from the endpoint's metadata. Anonymous endpoints carry no security requirement;
    /// every other one needs a bearer token (the fallback policy covers endpoints that name no policy) and may answer
    /// 401, and 403 when its policy asks for a role or scope. Path parameters name something that may not be visible
    /// (404); a body or query parameters may be invalid (400); a rate-limited endpoint may answer 429. Statuses the
    /// endpoint declares itself are left as they are.
    /// </summary>
    private static async Task DeclareCredentialsAndErrors(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        var parameters = context.Description.ParameterDescriptions;
        operation.Responses ??= [];

        if (metadata.OfType<IEndpointNameMetadata>().Any(n => n.EndpointName == OAuthTokenEndpoint))
        {
            var oauthError = OAuthErrorSchema();
            Declare(operation, "400", "The request is not a valid client credentials request (error is invalid_request or unsupported_grant_type).", oauthError);
            Declare(operation, "401", "The client credentials are unknown or revoked (error is invalid_client).", oauthError);
        }

        var problem = await ProblemReferenceAsync(context, ct);
        if (parameters.Any(p => p.Source == BindingSource.Body || p.Source == BindingSource.Form || p.Source == BindingSource.Query) || operation.RequestBody is not null)
            Declare(operation, "400", "The request is invalid: errors names each field that is wrong.", problem);
        // An empty list says outright that no credentials are needed.
        if (anonymous) operation.Security = [];
        else
        {
            Declare(operation, "401", "No valid access token: missing, malformed or expired, or its API key or member no longer exists.", problem);
            if (metadata.OfType<IAuthorizeData>().Any(a => !string.IsNullOrEmpty(a.Policy) || !string.IsNullOrEmpty(a.Roles)))
                Declare(operation, "403", "The member's role or the API key's scopes do not allow this.", problem);
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
        }
        if (parameters.Any(p => p.Source == BindingSource.Path))
            Declare(operation, "404", "Nothing with that id is visible to you (what is hidden from you answers exactly like what does not exist).", problem);
        if ((metadata.OfType<EnableRateLimitingAttribute>().Any() || metadata.OfType<RateLimits.InHandler>().Any()) && !metadata.OfType<DisableRateLimitingAttribute>().Any())
        {
            Declare(operation, "429", "Too many requests: wait the number of seconds in Retry-After.", problem);
            if (operation.Responses["429"] is OpenApiResponse tooMany && tooMany.Headers is null)
                tooMany.Headers = new Dictionary<string, IOpenApiHeader>
                {
                    ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait before retrying.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
                };
        }

        foreach (var parameter in operation.Parameters ?? [])
            if (parameter.In == ParameterLocation.Query && parameter.Name is { } name && QueryEnumerations.TryGetValue(name, out var values)
                && parameter.Schema is OpenApiSchema schema)
                Enumerate(schema, values);
    }

    private static void Declare(OpenApiOperation operation, string status, string description, IOpenApiSchema schema)
    {
        if (operation.Responses!.ContainsKey(status)) return;
        var mediaType = schema is OpenApiSchemaReference { Reference.Id: ProblemSchema } ? ProblemJson : "application/json";
        operation.Responses[status] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() { Schema = schema } },
        };
    }

    /// <summary>A reference to the problem details schema, adding it to the document's components the first time.</summary>
    private static async Task<IOpenApiSchema> ProblemReferenceAsync(OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var document = context.Document!;
        if (document.Components?.Schemas?.ContainsKey(ProblemSchema) != true)
            document.AddComponent(ProblemSchema, await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, ct));
        return new OpenApiSchemaReference(ProblemSchema, document);
    }

    private static OpenApiSchema OAuthErrorSchema() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An OAuth 2.0 error response (RFC 6749 §5.2).",
        Required = new HashSet<string> { "error" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["error"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Enum = ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"],
            },
            ["error_description"] = new OpenApiSchema { Type = JsonSchemaType.String },
        },
    };

    /// <summary>
    /// Schemas as the wire has them. A property that may be null is not required: answers leave nulls out
    /// (JsonIgnoreCondition.WhenWritingNull) and requests treat a missing field as null. Closed sets of strings are
    /// enumerations. Problem details show their errors member.
    /// </summary>
    private static async Task DescribeWireSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo;
        if (type.Kind == JsonTypeInfoKind.Object && schema.Required is { Count: > 0 } required)
            foreach (var property in type.Properties)
                if (MayBeNull(property)) required.Remove(property.Name);

        if (context.JsonPropertyInfo is { AttributeProvider: MemberInfo member } owner
            && Enumerations.TryGetValue((owner.DeclaringType, member.Name), out var values))
        {
            var target = schema.Type is { } t && t.HasFlag(JsonSchemaType.Array) ? schema.Items as OpenApiSchema : schema;
            if (target is not null) Enumerate(target, values);
        }

        if (type.Type == typeof(ProblemDetails) && schema.Properties is { } properties && context.Document is { } document)
        {
            const string rowError = nameof(RowError);
            if (document.Components?.Schemas?.ContainsKey(rowError) != true)
                document.AddComponent(rowError, await context.GetOrCreateSchemaAsync(typeof(RowError), null, ct));
            properties["errors"] = new OpenApiSchema
            {
                Description = "What was wrong: for a validation problem, the messages for each field, by JSON path of the field; for an upload, the rows in error.",
                AnyOf =
                [
                    new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } } },
                    new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchemaReference(rowError, document) },
                ],
            };
        }
    }

    private static bool MayBeNull(JsonPropertyInfo property) =>
        property.IsGetNullable || property.IsSetNullable || Nullable.GetUnderlyingType(property.PropertyType) is not null;

    private static void Enumerate(OpenApiSchema schema, IEnumerable<string> values)
    {
        var list = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
        // A nullable property keeps null among its values, or null would fail the enumeration its type allows.
        if (schema.Type is { } t && t.HasFlag(JsonSchemaType.Null)) list.Add(null!);
        schema.Enum = list;
    }
}
