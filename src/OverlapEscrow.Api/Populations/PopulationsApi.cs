using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Populations;

public static class PopulationsApi
{
    public static RouteGroupBuilder MapPopulations(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/populations").WithTags("Populations");

        group.MapPost("", Create).RequireAuthorization(Policies.PopulationsWrite)
            .WithName("CreatePopulation").WithSummary("Create a population (hidden from every partner until shared)")
            .WithDescription("name is unique within my organization: 409 when it is taken.")
            .ProducesProblem(409);
        group.MapGet("", List).RequireAuthorization(Policies.PopulationsRead)
            .WithName("ListPopulations").WithSummary("My organization's populations with their current record counts")
            .WithDescription("By name. Until the first upload commits, recordCount is 0 and currentVersionId and updatedAt are absent.");
        group.MapGet("/{populationId}", Get).RequireAuthorization(Policies.PopulationsRead)
            .WithName("GetPopulation").WithSummary("One of my populations")
            .WithDescription("404 for a population of another organization, exactly as for one that does not exist.");

        group.MapPut("/{populationId}/records", (string populationId, [AsParameters] UploadParameters p, CancellationToken ct) =>
                Upload(populationId, VersionKind.Snapshot, p, ct))
            .RequireAuthorization(Policies.PopulationsWrite)
            .WithName("UploadSnapshot")
            .WithSummary("Replace the population's records with a full snapshot (NDJSON or CSV, gzip allowed)")
            .WithDescription("Atomic: the previous snapshot stays current until this one is committed; a 2xx means committed. Idempotency-Key makes retries safe. onError=reject (default) applies nothing if any row is bad; onError=skip applies the good rows and reports the bad ones. A snapshot with no valid record is refused unless allowEmpty=true.")
            .Accepts<string>(UploadContentTypes[0], UploadContentTypes[1..])
            .Produces<UploadResult>()
            .ProducesProblem(422).ProducesProblem(413).ProducesProblem(415).ProducesProblem(409).ProducesProblem(429);

        group.MapPost("/{populationId}/records", (string populationId, [AsParameters] UploadParameters p, CancellationToken ct) =>
                Upload(populationId, VersionKind.Delta, p, ct))
            .RequireAuthorization(Policies.PopulationsWrite)
            .WithName("UploadDelta")
            .WithSummary("Upsert or delete records by record id (NDJSON or CSV with an op column, gzip allowed)")
            .WithDescription("Atomic like a snapshot; deltas apply in commit order.")
            .Accepts<string>(UploadContentTypes[0], UploadContentTypes[1..])
            .Produces<UploadResult>()
            .ProducesProblem(422).ProducesProblem(413).ProducesProblem(415).ProducesProblem(409).ProducesProblem(429);

        group.MapGet("/{populationId}/sharing", GetSharing).RequireAuthorization(Policies.PopulationsRead)
            .WithName("GetPopulationSharing").WithSummary("The population's default sharing rule, for every partner")
            .WithDescription("Hidden, with minimum 5, when no default is set. Partnership overrides are read at GET /v1/partnerships/{partnershipId}/sharing.");
        group.MapPut("/{populationId}/sharing", PutSharing).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("SetPopulationSharing")
            .WithSummary("Set the population's default sharing rule (overridable per partnership)")
            .WithDescription("Takes effect on the next request of every partner; derived overlap results are dropped.");
        return group;
    }

    private static async Task<Results<Created<PopulationResponse>, ProblemHttpResult>> Create(
        CreatePopulationRequest request, CurrentUser user, PopulationCatalog populations, CancellationToken ct)
    {
        var outcome = await populations.CreateAsync(user.Caller, new PopulationInput(request.Name, request.Type), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Created($"/v1/populations/{outcome.Value!.Id}", Response(outcome.Value));
    }

    private static async Task<Ok<List<PopulationResponse>>> List(CurrentUser user, PopulationCatalog populations, CancellationToken ct) =>
        TypedResults.Ok((await populations.ListAsync(user.Caller, ct)).Select(Response).ToList());

    private static async Task<Results<Ok<PopulationResponse>, ProblemHttpResult>> Get(string populationId, CurrentUser user, PopulationCatalog populations, CancellationToken ct) =>
        await populations.GetAsync(user.Caller, populationId, ct) is { Value: { } p } ? TypedResults.Ok(Response(p)) : Problems.NotFound("population");

    /// <summary>
    /// The bodies an upload takes (docs/api.md, "Upload format"): routing answers 415 for any other before the handler runs,
    /// so every NDJSON spelling the handler reads is listed here too.
    /// </summary>
    private static readonly string[] UploadContentTypes = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines", "text/csv"];

    /// <summary>What an upload handler needs, bundled.</summary>
    public sealed record UploadParameters(
        HttpContext Http,
        CurrentUser User,
        PopulationCatalog Populations,
        UploadPopulation Uploads,
        NdjsonUploadParser Ndjson,
        CsvUploadParser Csv,
        IOptions<UploadOptions> Options,
        PushRuns Pushes,
        IAuthorizationService Authorization,
        [FromQuery(Name = "onError")] string? OnError,
        [FromQuery(Name = "allowEmpty")] bool? AllowEmpty,
        [FromHeader(Name = "Idempotency-Key")] string? IdempotencyKey,
        [FromHeader(Name = HashingSpecs.Header)] string? HashingSpec,
        [FromHeader(Name = PushRuns.Header)] string? SyncSchedule);

    internal static async Task<IResult> Upload(string populationId, VersionKind mode, UploadParameters p, CancellationToken ct)
    {
        var http = p.Http;
        // The upload's own limit replaces the server-wide default (enforced while reading, 413 beyond it).
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = p.Options.Value.MaxBodyBytes;

        if (await p.Populations.GetAsync(p.User.Caller, populationId, ct) is not { Value: { } population }) return Problems.NotFound("population");

        var mediaType = (http.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        IUploadParser? parser = mediaType == "text/csv" ? p.Csv : UploadContentTypes.Contains(mediaType) ? p.Ndjson : null;
        if (parser is null)
            return TypedResults.Problem(statusCode: 415, title: "Unsupported media type", type: Problems.TypePrefix + "media-type",
                detail: "Send application/x-ndjson or text/csv (optionally with Content-Encoding: gzip).");
        var encoding = http.Request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        if (encoding is not ("" or "identity" or "gzip"))
            return TypedResults.Problem(statusCode: 415, title: "Unsupported content encoding", type: Problems.TypePrefix + "media-type",
                detail: "Content-Encoding is gzip or absent.");
        var policyName = p.OnError ?? p.Options.Value.DefaultErrorPolicy;
        if (policyName is not ("reject" or "skip")) return Problems.Invalid("onError", "onError is reject or skip.");
        if (p.IdempotencyKey is { } key && (key.Length is 0 or > 255 || key.Any(c => c < 0x21 || c > 0x7E)))
            return Problems.Invalid("Idempotency-Key", "The Idempotency-Key header is 1-255 visible ASCII characters.");
        var (hashingSpec, specError) = HashingSpecs.Parse(p.HashingSpec);
        if (specError is not null) return Problems.Invalid(HashingSpecs.Header, specError);

        Task<UploadOutcome> Apply(CancellationToken token) => p.Uploads.UploadAsync(new UploadRequest(
            p.User.Caller, population, mode, policyName == "skip" ? ErrorPolicy.Skip : ErrorPolicy.Reject,
            parser, http.Request.Body, encoding == "gzip", p.IdempotencyKey, p.AllowEmpty ?? false, hashingSpec), token);

        UploadOutcome outcome;
        if (p.SyncSchedule is { } scheduleId)
        {
            // A push from a client's sync job: the upload is recorded as a run of that schedule. Writing a schedule's
            // history is a schedules:write action; a key that may only upload cannot add runs.
            if (!(await p.Authorization.AuthorizeAsync(http.User, Policies.SchedulesWrite)).Succeeded)
                return Problems.Forbidden($"Recording an upload as a run ({PushRuns.Header}) needs the schedules:write permission.");
            var pushed = await p.Pushes.RunAsync(p.User.Caller, scheduleId, population.Id, Apply, ct);
            if (pushed.Failure is { } failure) return Problems.From(failure);
            outcome = pushed.Value!;
        }
        else outcome = await Apply(ct);

        switch (outcome)
        {
            case UploadOutcome.Committed c:
                return TypedResults.Ok(c.Result);
            case UploadOutcome.Replayed r:
                http.Response.Headers["Idempotent-Replayed"] = "true";
                return Results.Content(r.Body, "application/json", null, r.StatusCode);
            case UploadOutcome.RowsRejected rr:
                return TypedResults.Problem(statusCode: 422, title: "Some rows are invalid; nothing was applied",
                    type: Problems.TypePrefix + "upload-rows",
                    detail: rr.ErrorCountComplete
                        ? $"{rr.ErrorCount} of {rr.RowsRead} rows are invalid. Fix them, or send onError=skip to apply the valid rows only."
                        : $"Reading stopped after {rr.ErrorCount} invalid rows (of {rr.RowsRead} read). Fix them, or send onError=skip to apply the valid rows only.",
                    extensions: new Dictionary<string, object?>
                    {
                        ["errors"] = rr.Errors, ["errorCount"] = rr.ErrorCount, ["errorCountComplete"] = rr.ErrorCountComplete, ["rowsRead"] = rr.RowsRead,
                    });
            case UploadOutcome.Refused f:
                var ext = new Dictionary<string, object?>();
                if (f.Row is not null) ext["errors"] = new[] { f.Row };
                if (f.RetryAfter is { } wait) http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: f.StatusCode, title: f.Title, detail: f.Detail,
                    type: Problems.TypePrefix + (f.StatusCode == 429 ? "rate-limited" : "upload"), extensions: ext);
            default:
                throw new InvalidOperationException("Unknown upload outcome.");
        }
    }

    private static async Task<Results<Ok<SharingSettingResponse>, ProblemHttpResult>> GetSharing(
        string populationId, CurrentUser user, SharingChanges sharing, CancellationToken ct)
    {
        var outcome = await sharing.GetDefaultAsync(user.Caller, populationId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(SharingSettingResponse.From(outcome.Value!));
    }

    private static async Task<Results<Ok<SharingSettingResponse>, ProblemHttpResult>> PutSharing(
        string populationId, SharingSettingRequest request, CurrentUser user, SharingChanges sharing, CancellationToken ct)
    {
        var outcome = await sharing.SetDefaultAsync(user.Caller, populationId, request.ToInput(), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(SharingSettingResponse.From(outcome.Value!));
    }

    private static PopulationResponse Response(PopulationSummary p) => new(p.Id, p.Name, p.Type, p.CreatedAt, p.CurrentVersionId, p.RecordCount, p.UpdatedAt,
        p.HashingSpec is { } spec ? HashingSpecs.Wire(spec) : null);
}

public sealed record CreatePopulationRequest(string? Name, string? Type);

public sealed record PopulationResponse(
    string Id,
    string Name,
    string Type,
    DateTimeOffset CreatedAt,
    string? CurrentVersionId,
    long RecordCount,
    DateTimeOffset? UpdatedAt,
    string? HashingSpec);
