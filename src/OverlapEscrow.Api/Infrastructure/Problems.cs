using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>RFC 9457 problem details used across the API. Types are URNs so they name the problem without a host.</summary>
public static class Problems
{
    public const string TypePrefix = "urn:overlap-escrow:problem:";

    public static ProblemHttpResult NotFound(string what) =>
        TypedResults.Problem(statusCode: 404, title: "Not found", detail: $"No {what} with that id is visible to you.", type: TypePrefix + "not-found");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: 409, title: "Conflict", detail: detail, type: TypePrefix + "conflict");

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: 403, title: "Forbidden", detail: detail, type: TypePrefix + "forbidden");

    public static ProblemHttpResult Unauthorized(string detail) =>
        TypedResults.Problem(statusCode: 401, title: "Unauthorized", detail: detail, type: TypePrefix + "unauthorized");

    public static ProblemHttpResult Invalid(string field, string message) => Invalid(new Dictionary<string, string[]> { [field] = [message] });

    public static ProblemHttpResult Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(statusCode: 400, title: "The request is invalid", detail: "See errors for each field.",
            type: TypePrefix + "validation", extensions: new Dictionary<string, object?> { ["errors"] = errors });
}

/// <summary>Collects field errors of a request body; field names are JSON paths in camelCase.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = [];

    public bool Any => _errors.Count > 0;

    public FieldErrors Check(bool ok, string field, string message)
    {
        if (!ok) Add(field, message);
        return this;
    }

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
    }

    public ProblemHttpResult ToProblem() => Problems.Invalid(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}

/// <summary>
/// Turns failures into problem details without leaking internals: a body that does not bind gives 400 naming the
/// JSON path that failed; anything unexpected gives a bare 500 (the exception is logged, never returned).
/// </summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        int status;
        string title, type;
        Dictionary<string, object?> extensions = [];
        if (exception is BadHttpRequestException bad)
        {
            status = bad.StatusCode;
            // Debug only: binding messages can quote the offending value.
            logger.LogDebug("Rejected request on {Path}: {Reason}", http.Request.Path, bad.Message);
            title = status == 413 ? "The request body is too large" : "The request could not be read";
            type = Problems.TypePrefix + (status == 413 ? "too-large" : "bad-request");
            var json = FindJsonException(bad);
            if (json is not null)
            {
                var field = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
                extensions["errors"] = new Dictionary<string, string[]> { [field] = ["The value is not valid JSON of the expected type."] };
            }
        }
        else
        {
            // Only the type is logged: exception messages can quote request content.
            logger.LogError("Unhandled {ExceptionType} on {Method} {Path}", exception.GetType().Name, http.Request.Method, http.Request.Path);
            status = 500;
            title = "An unexpected error occurred";
            type = Problems.TypePrefix + "internal";
        }
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = { Status = status, Title = title, Type = type, Extensions = extensions },
        });
    }

    private static JsonException? FindJsonException(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is JsonException j) return j;
        return null;
    }
}
