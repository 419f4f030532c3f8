using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The served OpenAPI document, read as a client generator reads it: every operation described, its credentials and
/// error answers declared, and its schemas saying what the wire carries (integers, enumerations, optional fields).
/// </summary>
public sealed class OpenApiDocumentTests(OpenApiDocumentTests.Served served) : IClassFixture<OpenApiDocumentTests.Served>
{
    /// <summary>The service, its document, and the endpoints behind the document's operations, by operation id.</summary>
    public sealed class Served : IAsyncLifetime
    {
        public EscrowApp App { get; } = new();
        public JsonObject Document { get; private set; } = null!;
        public Dictionary<string, Endpoint> Endpoints { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var response = await App.CreateClient().GetAsync("/openapi/v1.json");
            await Expect(response, HttpStatusCode.OK);
            Document = await Json(response);
            Endpoints = App.Services.GetRequiredService<EndpointDataSource>().Endpoints
                .Where(e => e.Metadata.GetMetadata<IEndpointNameMetadata>() is not null)
                .ToDictionary(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName);
        }

        public Task DisposeAsync()
        {
            App.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>The token endpoint answers errors the way OAuth 2.0 clients read them (RFC 6749 §5.2), not as problem details.</summary>
    private const string OAuthTokenOperation = "ClientCredentialsToken";

    /// <summary>The one operation that takes no input and needs no credentials: it has no client error to declare.</summary>
    private const string HealthOperation = "Health";
    private const string ReadinessOperation = "Readiness";

    /// <summary>The escrow's public key set: a fixed document, no input, no credentials, so no client error either.</summary>
    private const string KeySetOperation = "EscrowSigningKeys";

    private const string ProblemRef = "#/components/schemas/ProblemDetails";

    private JsonObject Doc => served.Document;

    private IEnumerable<(string Method, string Path, JsonObject Operation)> Operations() =>
        from path in Doc["paths"]!.AsObject()
        from op in path.Value!.AsObject()
        where op.Key != "parameters"
        select (op.Key.ToUpperInvariant(), path.Key, op.Value!.AsObject());

    private static string Id(JsonObject operation) => operation["operationId"]!.GetValue<string>();

    private JsonObject Schema(string name) =>
        Doc["components"]?["schemas"]?[name]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"No schema {name} in the document");

    private static IEnumerable<string> Required(JsonObject schema) =>
        schema["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [];

    private static IEnumerable<string> Values(JsonNode? enumeration) =>
        enumeration?.AsArray().Where(v => v is not null).Select(v => v!.GetValue<string>()) ?? [];

    [Fact]
    public void EveryOperationHasAnOperationIdASummaryAndADescription()
    {
        var missing = Operations()
            .Where(o => new[] { "operationId", "summary", "description" }.Any(k => string.IsNullOrWhiteSpace(o.Operation[k]?.GetValue<string>())))
            .Select(o => $"{o.Method} {o.Path}")
            .ToList();
        Assert.Empty(missing);
        Assert.Equal(Operations().Count(), Operations().Select(o => Id(o.Operation)).Distinct().Count());
    }

    [Fact]
    public void EveryTagIsDeclaredWithADescription()
    {
        var declared = Doc["tags"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["description"]?.GetValue<string>());
        foreach (var tag in Operations().SelectMany(o => o.Operation["tags"]!.AsArray()).Select(t => t!.GetValue<string>()).Distinct())
        {
            Assert.True(declared.TryGetValue(tag, out var description), $"Tag {tag} is not declared at the document level");
            Assert.False(string.IsNullOrWhiteSpace(description), $"Tag {tag} has no description");
        }
    }

    [Fact]
    public void TheBearerSchemeIsDeclared()
    {
        var schemes = Doc["components"]?["securitySchemes"]?.AsObject();
        Assert.NotNull(schemes);
        var bearer = schemes!["Bearer"];
        Assert.NotNull(bearer);
        Assert.Equal("http", bearer!["type"]!.GetValue<string>());
        Assert.Equal("bearer", bearer["scheme"]!.GetValue<string>());
        Assert.Equal("JWT", bearer["bearerFormat"]!.GetValue<string>());
    }

    [Fact]
    public void AnOperationRequiresTheBearerSchemeExactlyWhenItsEndpointIsNotAnonymous()
    {
        foreach (var (method, path, operation) in Operations())
        {
            var endpoint = served.Endpoints[Id(operation)];
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var schemes = operation["security"]?.AsArray().SelectMany(r => r!.AsObject().Select(s => s.Key)).ToList() ?? [];
            if (anonymous) Assert.True(schemes.Count == 0, $"{method} {path} is anonymous but declares {string.Join(", ", schemes)}");
            else Assert.True(schemes.SequenceEqual(["Bearer"]), $"{method} {path} needs a token but declares [{string.Join(", ", schemes)}]");
        }
    }

    [Fact]
    public void EveryOperationDeclaresItsClientErrorsAsProblemDetails()
    {
        var failures = new List<string>();
        foreach (var (method, path, operation) in Operations())
        {
            var id = Id(operation);
            var responses = operation["responses"]!.AsObject();
            bool IsProblem(string status) => responses[status]?["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>() == ProblemRef;
            var clientErrors = responses.Select(r => r.Key).Where(s => s.StartsWith('4')).ToList();
            var where = $"{method} {path} ({id})";

            foreach (var (status, response) in responses)
                if (string.IsNullOrWhiteSpace(response!["description"]?.GetValue<string>())) failures.Add($"{where}: response {status} has no description");
            if (id is HealthOperation or ReadinessOperation or KeySetOperation) continue;
            if (clientErrors.Count == 0) { failures.Add($"{where}: no 4xx response"); continue; }
            if (id == OAuthTokenOperation) continue;

            failures.AddRange(clientErrors.Where(s => !IsProblem(s)).Select(s => $"{where}: {s} is not application/problem+json with ProblemDetails"));
            var endpoint = served.Endpoints[id];
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null && !responses.ContainsKey("401")) failures.Add($"{where}: no 401");
            if (path.Contains('{') && !responses.ContainsKey("404")) failures.Add($"{where}: has path parameters but no 404");
            if (operation["requestBody"] is not null && !responses.ContainsKey("400")) failures.Add($"{where}: has a body but no 400");
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void TheTokenEndpointDeclaresItsOAuthErrors()
    {
        var responses = Doc["paths"]!["/v1/auth/token"]!["post"]!["responses"]!.AsObject();
        Assert.NotNull(responses["400"]?["content"]);
        Assert.NotNull(responses["401"]?["content"]);
        Assert.Empty(Doc["paths"]!["/v1/auth/token"]!["post"]!["security"]?.AsArray() ?? []);
    }

    [Fact]
    public void OperationsThatAnswerConflictDeclareIt()
    {
        string[] conflicting =
        [
            "Signup", "AddMember", "CreatePopulation", "InvitePartner", "AcceptPartnership", "DeclinePartnership", "TerminatePartnership",
            "SetPartnershipSharing", "SetPartnershipPrivacy", "GetOverlapMatrix", "ListOverlappingAccounts", "GetOverlapHistory", "ListNewOverlappingAccounts",
            "CreateSchedule", "ReplaceSchedule", "DeleteSchedule", "CreateWebhook", "UploadSnapshot", "UploadDelta",
        ];
        var byId = Operations().ToDictionary(o => Id(o.Operation), o => o.Operation);
        Assert.All(conflicting, id => Assert.True(byId[id]["responses"]?["409"] is not null, $"{id} answers 409 but does not declare it"));
    }

    [Fact]
    public void NoSchemaAcceptsANumberAsAString()
    {
        var offenders = new List<string>();
        void Walk(JsonNode? node, string at)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["type"] is JsonArray types)
                    {
                        var names = types.Select(t => t!.GetValue<string>()).ToList();
                        if (names.Contains("string") && (names.Contains("integer") || names.Contains("number"))) offenders.Add(at);
                    }
                    // The pattern the schema exporter gives numbers readable from strings.
                    if (o["pattern"] is JsonValue pattern && pattern.GetValue<string>().StartsWith(@"^-?(?:0|[1-9]\d*)", StringComparison.Ordinal)) offenders.Add(at + " (pattern)");
                    foreach (var (key, value) in o) Walk(value, $"{at}/{key}");
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++) Walk(a[i], $"{at}/{i}");
                    break;
            }
        }
        Walk(Doc, "#");
        Assert.Empty(offenders);
    }

    [Fact]
    public void TheCellListDescribesItsJsonPageAndItsCsvExport()
    {
        var operation = Doc["paths"]!["/v1/partnerships/{partnershipId}/overlaps/{myPopulationId}/{partnerPopulationId}"]!["get"]!;
        var content = operation["responses"]!["200"]!["content"]!.AsObject();
        Assert.Equal("#/components/schemas/OverlapListResponse", content["application/json"]?["schema"]?["$ref"]?.GetValue<string>());
        Assert.Equal("string", content["text/csv"]?["schema"]?["type"]?.GetValue<string>());
        var format = operation["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "format")!;
        Assert.Equal(["json", "csv"], Values(format["schema"]!["enum"]));
    }

    [Fact]
    public void OptionalRequestFieldsAreNotRequired()
    {
        Assert.DoesNotContain("displayName", Required(Schema("SignupRequest")));
        Assert.DoesNotContain("displayName", Required(Schema("AddMemberRequest")));
        Assert.DoesNotContain("minimumCount", Required(Schema("SharingSettingRequest")));
        Assert.DoesNotContain("minimumCount", Required(Schema("PopulationSharingRequest")));
        Assert.DoesNotContain("minimumCount", Required(Schema("SharingOverrideRequest")));
    }

    [Fact]
    public void FieldsLeftOutWhenNullAreNotRequiredInResponses()
    {
        Assert.DoesNotContain("terminatedAt", Required(Schema("PartnershipResponse")));
        Assert.DoesNotContain("respondedAt", Required(Schema("PartnershipResponse")));
        Assert.DoesNotContain("scopes", Required(Schema("MeResponse")));
        Assert.DoesNotContain("role", Required(Schema("MeResponse")));
        Assert.Contains("status", Required(Schema("PartnershipResponse")));
        Assert.Contains("createdAt", Required(Schema("PartnershipResponse")));
    }

    [Fact]
    public void NoPropertyThatMayBeNullIsRequired()
    {
        var offenders =
            from schema in Doc["components"]!["schemas"]!.AsObject()
            let properties = schema.Value!["properties"]?.AsObject()
            where properties is not null
            from name in Required(schema.Value!.AsObject())
            let type = properties[name]?["type"]
            where type is JsonArray a && a.Any(t => t!.GetValue<string>() == "null")
            select $"{schema.Key}.{name}";
        Assert.Empty(offenders);
    }

    [Fact]
    public async Task AMemberIsDescribedWithoutTheScopesItIsServedWithout()
    {
        var org = await served.App.SignupAsync("openapi-me");
        var me = await Json(await org.Http.GetAsync("/v1/me"));
        Assert.False(me.ContainsKey("scopes"));
        Assert.DoesNotContain("scopes", Required(Schema("MeResponse")));
    }

    [Fact]
    public void SharingLevelsPartnershipStatusesAndOtherClosedSetsAreEnumerationsOfTheirWireValues()
    {
        string[] levels = ["hidden", "counts", "overlaps"];
        foreach (var (schema, property) in new[]
                 {
                     ("SharingSettingResponse", "level"), ("SharingOverrideResponse", "level"), ("SharingCellResponse", "level"), ("OverlapCell", "level"),
                     ("OverlapListResponse", "level"), ("NewOverlapsResponse", "level"), ("HistoryCellResponse", "level"),
                     ("SharingSettingRequest", "level"), ("PopulationSharingRequest", "level"), ("SharingOverrideRequest", "level"),
                 })
            Assert.Equal(levels, Values(Resolved(Schema(schema)["properties"]![property]!)["enum"]));

        Assert.Equal(["invited", "active", "declined", "terminated"], Values(Resolved(Schema("PartnershipResponse")["properties"]!["status"]!)["enum"]));
        Assert.Equal(["inviter", "invitee"], Values(Schema("PartnershipResponse")["properties"]!["role"]!["enum"]));
        Assert.Equal(["admin", "partner_manager", "sales_ops", "viewer"], Values(Schema("MemberResponse")["properties"]!["role"]!["enum"]));
        Assert.Equal(["admin", "partner_manager", "sales_ops", "viewer"], Values(Schema("AddMemberRequest")["properties"]!["role"]!["enum"]));
        Assert.Equal(["member", "api_key"], Values(Schema("MeResponse")["properties"]!["kind"]!["enum"]));
        Assert.Contains("populations:read", Values(Schema("CreateApiKeyRequest")["properties"]!["scopes"]!["items"]!["enum"]));
        Assert.Equal(["snapshot", "delta"], Values(Schema("UploadResult")["properties"]!["mode"]!["enum"]));
        Assert.Equal(["pull", "refresh"], Values(Resolved(Schema("ScheduleResponse")["properties"]!["action"]!)["enum"]));
        Assert.Equal(["queued", "running", "succeeded", "failed"], Values(Resolved(Schema("RunResponse")["properties"]!["status"]!)["enum"]));
        Assert.Equal(["pending", "delivered", "failed"], Values(Resolved(Schema("WebhookDeliveryResponse")["properties"]!["status"]!)["enum"]));
        Assert.Equal(["domain", "name", "domain_label", "name_only", "name_generic", "name_skeleton", "name_typo"], Values(Schema("PartnerMatchResponse")["properties"]!["matchedOn"]!["items"]!["enum"]));
        Assert.Equal(["current", "data_changed", "budget_exhausted"], Values(Resolved(Schema("CountPrivacy")["properties"]!["state"]!)["enum"]));
    }

    /// <summary>A property's schema, or the component schema it refers to (enumerations typed in C# are components).</summary>
    private JsonNode Resolved(JsonNode property) =>
        property["$ref"]?.GetValue<string>() is { } reference ? Schema(reference[(reference.LastIndexOf('/') + 1)..]) : property;

    [Fact]
    public void ANullableEnumerationAdmitsNull()
    {
        var level = Schema("PopulationSharingRequest")["properties"]!["level"]!;
        Assert.Contains("null", level["type"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Contains(level["enum"]!.AsArray(), v => v is null);
    }

    [Fact]
    public void ServerUrlsHaveNoTrailingSlash()
    {
        foreach (var server in Doc["servers"]?.AsArray() ?? [])
            Assert.False(server!["url"]!.GetValue<string>().EndsWith('/'), $"{server["url"]} ends with a slash");
    }

    [Fact]
    public async Task ARateLimitedEndpointDeclaresTooManyRequestsWithRetryAfter()
    {
        // No endpoint of the service is rate limited yet: a bare host with the same document settings shows the rule.
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddEscrowOpenApi();
        builder.Services.AddRateLimiter(o => o.AddFixedWindowLimiter("limited", w => { w.PermitLimit = 1; w.Window = TimeSpan.FromMinutes(1); }));
        await using var app = builder.Build();
        app.MapPost("/limited", () => "ok").AllowAnonymous().RequireRateLimiting("limited").WithName("Limited");
        app.MapPost("/unlimited", () => "ok").AllowAnonymous().WithName("Unlimited");
        app.MapOpenApi();
        await app.StartAsync();
        var doc = JsonNode.Parse(await app.GetTestClient().GetStringAsync("/openapi/v1.json"))!;

        var tooMany = doc["paths"]!["/limited"]!["post"]!["responses"]!["429"];
        Assert.NotNull(tooMany);
        Assert.Equal(ProblemRef, tooMany!["content"]!["application/problem+json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Equal("integer", tooMany["headers"]!["Retry-After"]!["schema"]!["type"]!.GetValue<string>());
        Assert.Null(doc["paths"]!["/unlimited"]!["post"]!["responses"]!["429"]);
    }

    [Fact]
    public async Task ANumberSentAsAStringIsRefusedNamingTheField()
    {
        var org = await served.App.SignupAsync("openapi-strict");
        var population = await org.CreatePopulationAsync("Strict numbers");
        var response = await org.Http.PutAsJsonAsync($"/v1/populations/{population}/sharing", new { level = "counts", minimumCount = "5" });
        var problem = await ExpectProblem(response, HttpStatusCode.BadRequest);
        Assert.Contains("minimumCount", problem["errors"]!.AsObject().Single().Key);
    }
}
