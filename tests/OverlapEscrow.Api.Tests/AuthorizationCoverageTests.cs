using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Tests.Infrastructure;

namespace OverlapEscrow.Api.Tests;

/// <summary>Every endpoint states who may call it; whatever forgets to is closed to anonymous callers.</summary>
public sealed class AuthorizationCoverageTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public void EveryEndpointNamesAPolicyOrIsExplicitlyAnonymous()
    {
        _app.CreateClient(); // builds the host, so every Map… call has run
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);

        var offenders = endpoints.Where(e => !IsExplicit(e.Metadata)).Select(Describe).Order().ToList();

        Assert.True(offenders.Count == 0,
            "Endpoints without an explicit policy (RequireAuthorization(\"name\")) or anonymous marker (AllowAnonymous()):\n  "
            + string.Join("\n  ", offenders));
    }

    [Fact]
    public void TheOpenApiDocumentAndTheHealthCheckAreExplicitlyAnonymous()
    {
        _app.CreateClient();
        var endpoints = _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        foreach (var route in new[] { "/openapi/{documentName}.json", "/healthz" })
        {
            var endpoint = Assert.Single(endpoints, e => e.RoutePattern.RawText == route);
            Assert.NotNull(endpoint.Metadata.GetMetadata<IAllowAnonymous>());
        }
    }

    [Fact]
    public async Task AnEndpointThatForgetsItsPolicyIsClosedToAnonymousCallers()
    {
        var fallback = _app.Services.GetRequiredService<IOptions<AuthorizationOptions>>().Value.FallbackPolicy;
        Assert.NotNull(fallback);
        var authorization = _app.Services.GetRequiredService<IAuthorizationService>();
        var unmarked = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/v1/forgotten"), 0, EndpointMetadataCollection.Empty, "forgotten");
        var request = new DefaultHttpContext();
        request.SetEndpoint(unmarked);

        var anonymous = new ClaimsPrincipal(new ClaimsIdentity());
        var authenticated = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "mem_x")], "Bearer"));
        Assert.False((await authorization.AuthorizeAsync(anonymous, request, fallback)).Succeeded);
        Assert.True((await authorization.AuthorizeAsync(authenticated, request, fallback)).Succeeded);
    }

    [Fact]
    public async Task UnknownRoutesAndMethodsStill404And405ForAnonymousCallers()
    {
        var anonymous = _app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/v1/no-such-route")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await anonymous.DeleteAsync("/v1/signup")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/me")).StatusCode);
        var org = await _app.SignupAsync("fallback");
        Assert.Equal(HttpStatusCode.OK, (await org.Http.GetAsync("/v1/me")).StatusCode);
    }

    /// <summary>
    /// Explicit: an anonymous marker, or authorization data naming a policy or roles. A bare RequireAuthorization()
    /// (the default policy, "any authenticated caller") does not count: say which callers are meant.
    /// </summary>
    private static bool IsExplicit(EndpointMetadataCollection metadata) =>
        metadata.GetMetadata<IAllowAnonymous>() is not null
        || metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => !string.IsNullOrEmpty(a.Policy) || !string.IsNullOrEmpty(a.Roles));

    private static string Describe(RouteEndpoint e)
    {
        var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
        return $"{(methods is { Count: > 0 } ? string.Join(",", methods) : "ANY")} {e.RoutePattern.RawText}";
    }
}
