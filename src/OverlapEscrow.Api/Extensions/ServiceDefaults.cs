using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Events;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Extensions;

public static class ServiceDefaults
{
    /// <summary>Options, JSON, problem details, OpenAPI and time: what every feature relies on.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<EscrowOptions>()
            .Bind(builder.Configuration.GetSection(EscrowOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // The framework's own exception logging writes stack traces and messages that can quote request data;
        // ProblemExceptionHandler logs the exception type and route instead.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware", LogLevel.None);
        // Likewise the host's own log of a start that failed or a background service that stopped it (a stack trace): the
        // service's process prints one line instead (Program.cs), and the background services log types, not traces.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddSingleton(TimeProvider.System);
        // The same JSON conventions as the events the escrow sends (camelCase, snake_case enums, nulls left out, numbers
        // as JSON numbers only).
        builder.Services.Configure<JsonOptions>(o =>
        {
            EscrowJson.Configure(o.SerializerOptions);
            // A request body's member that no field takes is refused (400 naming it), not skipped: on a PUT, where a member
            // left out means "back to the default", a misspelt one was taken as left out — `{"Populatons": [...]}` dropped
            // every override of the partnership and showed populations hidden from the partner (a hostile trial,
            // 2026-12-04). Only for what the API reads: stored JSON and what the escrow sends use EscrowJson.Options.
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        });
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            // Never echo exception data, whatever the environment.
            ctx.ProblemDetails.Extensions.Remove("exception");
            ctx.ProblemDetails.Extensions.Remove("traceId");
            // A body past its limit is mostly refused by the server itself (Kestrel sets 413 when the endpoint's read fails
            // and the answer is empty): it gets the escrow's type, as documented, not the framework's default.
            if (ctx.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge && ctx.ProblemDetails.Type?.StartsWith(Problems.TypePrefix, StringComparison.Ordinal) != true)
            {
                ctx.ProblemDetails.Type = Problems.TypePrefix + "too-large";
                ctx.ProblemDetails.Title = "The request body is too large";
            }
        });
        // Problem details whatever the Accept header: never a text/plain status page for a CSV or browser request.
        AnyAcceptProblemDetailsWriter.Register(builder.Services);
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.AddEscrowOpenApi();
        builder.AddShutdownDrain();
        // Kestrel answers a request line past its limit itself, with a bare 414 and no body; its limit is raised above the
        // service's own (MaxUrlLength, Kestrel's default), so a long URL gets a problem answer from UseServiceDefaults.
        builder.WebHost.ConfigureKestrel(o =>
        {
            o.Limits.MaxRequestLineSize = Math.Max(o.Limits.MaxRequestLineSize, 4 * MaxUrlLength);
            // Every body but an upload's is a small JSON document or form (a note is at most 500 characters): a larger one
            // is refused with 413 as it is read, not parsed first. Uploads set their own limit (Uploads:MaxBodyBytes).
            o.Limits.MaxRequestBodySize = MaxJsonBodyBytes;
        });
        return builder;
    }

    /// <summary>The largest request body the service reads outside uploads, in bytes.</summary>
    public const long MaxJsonBodyBytes = 1024 * 1024;

    /// <summary>The longest path and query the service reads, in characters (Kestrel's default request-line limit).</summary>
    public const int MaxUrlLength = 8 * 1024;

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            // The request target as sent (percent-encoding included), else the decoded path and the query.
            var length = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget?.Length
                         ?? (http.Request.Path.Value?.Length ?? 0) + (http.Request.QueryString.Value?.Length ?? 0);
            if (length <= MaxUrlLength)
            {
                await next(http);
                return;
            }
            await TypedResults.Problem(statusCode: StatusCodes.Status414UriTooLong, title: "The request URL is too long",
                detail: $"A request's path and query take at most {MaxUrlLength} characters.", type: Problems.TypePrefix + "uri-too-long").ExecuteAsync(http);
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // Before authentication: a refused request costs nothing more (the policies come from AddEscrowRateLimits).
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapGet("/healthz", async Task<Results<Ok<HealthResponse>, ProblemHttpResult>> (IStorageHealth storage, CancellationToken ct) =>
                await storage.IsAvailableAsync(ct)
                    ? TypedResults.Ok(new HealthResponse("ok"))
                    : TypedResults.Problem(statusCode: 503, title: "The database is unavailable", type: Problems.TypePrefix + "unavailable"))
            .WithName("Health").WithTags("Health").WithSummary("Liveness and database check").AllowAnonymous()
            .WithDescription("Opens a database connection and runs SELECT 1; 503 when the database is unavailable.")
            .ProducesProblem(503);
        app.MapReadiness();
        return app;
    }
}

public sealed record HealthResponse(string Status);

public static class EscrowArgs
{
    /// <summary>Turns the bare "--demo" switch into its configuration key, which the command-line provider cannot parse alone.</summary>
    public static string[] Normalize(string[] args) =>
        args.Select(a => a == "--demo" ? "--Escrow:Demo:Enabled=true" : a).ToArray();
}
