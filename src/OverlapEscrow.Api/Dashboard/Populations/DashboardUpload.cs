using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>
/// Where the upload page sends what the browser hashed: the API's own upload endpoint (PUT …/records, same parser,
/// limits, idempotency, answers and row errors), mapped a second time for the dashboard's cookie session, under the
/// same policy (populations:write), with the antiforgery token in a header. Raw identifiers never reach it: the page
/// hashes them in the browser (docs/hashing.md) and sends NDJSON of hashes, gzip-compressed.
/// </summary>
public static class DashboardUpload
{
    public const string Route = "/dashboard/populations/{populationId}/records";

    public static IEndpointRouteBuilder MapDashboardUpload(this IEndpointRouteBuilder routes)
    {
        routes.MapPut(Route, (string populationId, [AsParameters] PopulationsApi.UploadParameters p, CancellationToken ct) =>
                PopulationsApi.Upload(populationId, VersionKind.Snapshot, p, ct))
            .RequireAuthorization(new AuthorizeAttribute(Policies.PopulationsWrite) { AuthenticationSchemes = DashboardAuth.Scheme })
            .WithMetadata(new RequireAntiforgeryTokenAttribute())
            // The antiforgery middleware only records its check for an endpoint that binds no form (this one reads the body
            // as a stream): the request is refused here, before anything is read, when the token is missing or wrong.
            .AddEndpointFilter(async (context, next) =>
            {
                var http = context.HttpContext;
                var valid = http.Features.Get<IAntiforgeryValidationFeature>() is { } checkedBefore
                    ? checkedBefore.IsValid
                    : await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http);
                return valid ? await next(context)
                    : Problems.Invalid(DashboardAuth.AntiforgeryHeader, "The request's antiforgery token is missing or not this session's: reload the page.");
            })
            .ExcludeFromDescription();
        return routes;
    }

    public static string For(string populationId) => Route.Replace("{populationId}", Uri.EscapeDataString(populationId), StringComparison.Ordinal);
}
