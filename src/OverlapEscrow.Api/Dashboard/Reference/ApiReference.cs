using System.IO.Compression;
using Microsoft.Net.Http.Headers;

namespace OverlapEscrow.Api.Dashboard.Reference;

/// <summary>
/// The API reference page renders the served OpenAPI document (/openapi/v1.json) with Scalar's standalone renderer,
/// served by this service from the Scalar.AspNetCore package (2.19.0), which embeds the bundle: nothing is fetched
/// from a CDN, and the page works offline. Scalar.AspNetCore's own page starts the renderer with an inline script,
/// which the dashboard's Content-Security-Policy forbids; so the page is the dashboard's own (/api-reference), and
/// the renderer is started from a script file (/js/api-reference.js) with the default fonts (a font CDN),
/// telemetry and the request proxy turned off.
/// </summary>
public static class ApiReference
{
    public const string Path = "/api-reference";
    public const string BundlePath = "/api-reference/scalar.js";
    private const string Resource = "ScalarStaticAssets.scalar.js";

    public static IEndpointRouteBuilder MapApiReferenceAssets(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(BundlePath, Bundle).AllowAnonymous().ExcludeFromDescription();
        return routes;
    }

    /// <summary>The renderer's bundle, as the package embeds it (gzip); decompressed for a client that does not accept gzip.</summary>
    private static async Task Bundle(HttpContext http)
    {
        await using var gzipped = typeof(Scalar.AspNetCore.ScalarOptions).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException("The Scalar bundle is missing from Scalar.AspNetCore.");
        http.Response.ContentType = "text/javascript; charset=utf-8";
        http.Response.Headers.CacheControl = "public, max-age=86400";
        var acceptsGzip = http.Request.Headers.AcceptEncoding.Any(v => v?.Contains("gzip", StringComparison.OrdinalIgnoreCase) == true);
        if (acceptsGzip)
        {
            http.Response.Headers.ContentEncoding = "gzip";
            http.Response.Headers.Vary = HeaderNames.AcceptEncoding;
            await gzipped.CopyToAsync(http.Response.Body, http.RequestAborted);
            return;
        }
        await using var plain = new GZipStream(gzipped, CompressionMode.Decompress);
        await plain.CopyToAsync(http.Response.Body, http.RequestAborted);
    }
}
