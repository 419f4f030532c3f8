using OverlapEscrow.Domain;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Application;
using OverlapEscrow.Domain.Disclosure;

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

    public static ProblemHttpResult Invalid(IEnumerable<FieldError> errors) =>
        Invalid(errors.GroupBy(e => e.Path).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()));

    /// <summary>The problem answer for a use case's failure.</summary>
    public static ProblemHttpResult From(Failure failure) => failure switch
    {
        Failure.NotFound f => TypedResults.Problem(statusCode: 404, title: "Not found", detail: f.Detail, type: TypePrefix + "not-found"),
        Failure.Invalid f => Invalid(f.Errors),
        Failure.Conflict f => Conflict(f.Reason),
        Failure.Forbidden f => Forbidden(f.Reason),
        Failure.Limited f => TypedResults.Problem(statusCode: 429, title: "Too many requests", detail: f.Reason, type: TypePrefix + "rate-limited"),
        _ => throw new InvalidOperationException("Unknown failure."),
    };

    public static ProblemHttpResult Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(statusCode: 400, title: "The request is invalid", detail: "See errors for each field.",
            type: TypePrefix + "validation", extensions: new Dictionary<string, object?> { ["errors"] = errors });
}

/// <summary>
/// Turns failures into problem details without leaking internals: a body that does not bind gives 400 naming the
/// JSON path that failed; anything unexpected gives a bare 500 (the exception is logged, never returned).
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        int status;
        string title, type;
        string? detail = null;
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
            else if (BoundParameter().Match(bad.Message) is { Success: true } parameter)
            {
                // A query or route value that does not bind (limit=abc): the framework names the parameter; its value is not repeated.
                // As the query names it: camelCase (a parameter bound from a record's property is named by the property).
                var name = parameter.Groups["name"].Value;
                extensions["errors"] = new Dictionary<string, string[]> { [char.ToLowerInvariant(name[0]) + name[1..]] = ["The value is not valid for this parameter."] };
            }
        }
        else if (exception is System.Data.Common.DbException { IsTransient: true } away)
        {
            // The database is away for now (a connection refused or cut, a timeout): nothing was committed by this request,
            // and a retry may succeed — 503 with Retry-After, as /readyz says, not a 500.
            // The SQLSTATE is a five-character code (40P01 a deadlock, 57P01 a shutdown…), never data.
            logger.LogWarning("The database was unavailable during {Method} {Path}: {ExceptionType} {SqlState}", http.Request.Method, http.Request.Path,
                exception.GetType().Name, away.SqlState);
            status = 503;
            title = "The database is unavailable";
            type = Problems.TypePrefix + "unavailable";
            http.Response.Headers.RetryAfter = "5";
        }
        else if (exception is System.Data.Common.DbException { SqlState: "23503" })
        {
            // A foreign key that no longer holds: what this change refers to (a webhook, a population, an organization
            // being erased) was deleted by another request meanwhile. Nothing of this one was committed.
            logger.LogInformation("{Method} {Path} referred to something deleted meanwhile", http.Request.Method, http.Request.Path);
            status = 409;
            title = "Changed meanwhile";
            type = Problems.TypePrefix + "conflict";
            detail = "Something this request refers to was deleted by another request while it ran; nothing was changed. Read it again.";
        }
        else if (exception is OverlapEscrow.Application.Overlaps.VersionGoneException)
        {
            // A population's version superseded and deleted while this read used it, again on every retry (uploads of it
            // arriving faster than the reads, or its organization being erased): a retry in a moment finds the newest.
            logger.LogInformation("{Method} {Path}: a population version was replaced while it was read", http.Request.Method, http.Request.Path);
            status = 503;
            title = "The data changed while it was read";
            type = Problems.TypePrefix + "unavailable";
            http.Response.Headers.RetryAfter = "1";
        }
        else if (exception is OverlapEscrow.Application.Keys.OrganizationGoneException)
        {
            // An organization erased while the request ran (the caller's own mid-upload, or the partner's mid-read): its
            // keys are gone, so nothing of it is read or written any more, and it does not exist.
            logger.LogInformation("An organization was erased during {Method} {Path}", http.Request.Method, http.Request.Path);
            status = 404;
            title = "The organization no longer exists";
            type = Problems.TypePrefix + "not-found";
        }
        else if (exception is OverlapEscrow.Application.Overlaps.VersionUnreadableException)
        {
            // A population version sealed under a data key no longer held (a database restored from before a rotation): not
            // this request's fault, and no retry helps; its owner must upload it again (operations.md, "Key rotation").
            logger.LogWarning("{Method} {Path} needs a population version no key held can open", http.Request.Method, http.Request.Path);
            status = 409;
            title = "The population's data cannot be read";
            type = Problems.TypePrefix + "data-unreadable";
            detail = "A population this answer rests on was stored under a key this escrow does not hold (a database restored from before a key rotation, or another keyring directory than it was written with); it must be uploaded again, or the keyring set right.";
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
            ProblemDetails = { Status = status, Title = title, Type = type, Detail = detail, Extensions = extensions },
        });
    }

    /// <summary>The parameter named by the framework's binding failures ("Failed to bind parameter \"int? limit\" from …").</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:Failed to bind parameter|Required parameter) ""[^"" ]+ (?<name>[A-Za-z_][A-Za-z0-9_]*)""")]
    private static partial System.Text.RegularExpressions.Regex BoundParameter();

    private static JsonException? FindJsonException(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is JsonException j) return j;
        return null;
    }
}
