using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Api.Populations.Uploads;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Populations;

public static class PopulationsApi
{
    public static readonly IReadOnlyList<string> Types = ["customers", "prospects", "opportunities", "partners", "custom"];
    public const int MaxNameLength = 100;

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
                Upload(populationId, UploadMode.Snapshot, p, ct))
            .RequireAuthorization(Policies.PopulationsWrite)
            .WithName("UploadSnapshot")
            .WithSummary("Replace the population's records with a full snapshot (NDJSON or CSV, gzip allowed)")
            .WithDescription("Atomic: the previous snapshot stays current until this one is committed; a 2xx means committed. Idempotency-Key makes retries safe. onError=reject (default) applies nothing if any row is bad; onError=skip applies the good rows and reports the bad ones. A snapshot with no valid record is refused unless allowEmpty=true.")
            .Accepts<string>("application/x-ndjson", "text/csv")
            .Produces<UploadResult>()
            .ProducesProblem(422).ProducesProblem(413).ProducesProblem(415).ProducesProblem(409);

        group.MapPost("/{populationId}/records", (string populationId, [AsParameters] UploadParameters p, CancellationToken ct) =>
                Upload(populationId, UploadMode.Delta, p, ct))
            .RequireAuthorization(Policies.PopulationsWrite)
            .WithName("UploadDelta")
            .WithSummary("Upsert or delete records by record id (NDJSON or CSV with an op column, gzip allowed)")
            .WithDescription("Atomic like a snapshot; deltas apply in commit order.")
            .Accepts<string>("application/x-ndjson", "text/csv")
            .Produces<UploadResult>()
            .ProducesProblem(422).ProducesProblem(413).ProducesProblem(415).ProducesProblem(409);

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
        CreatePopulationRequest request, CurrentUser user, IPopulationRepository populations, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(request.Name) && request.Name.Trim().Length <= MaxNameLength && !request.Name.Any(char.IsControl),
                "name", $"name is 1-{MaxNameLength} printable characters.")
            .Check(request.Type is not null && Types.Contains(request.Type), "type", $"type is one of {string.Join(", ", Types)}.");
        if (errors.Any) return errors.ToProblem();
        var now = time.GetUtcNow();
        var row = new PopulationRow
        {
            Id = Ids.New("pop"), OrganizationId = user.OrganizationId, Name = request.Name!.Trim(), Type = request.Type!, CreatedAt = Time.ToUnixMs(now),
        };
        if (!await populations.CreateAsync(row, ct)) return Problems.Conflict("You already have a population with this name.");
        await audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "population.created", null, new { populationId = row.Id }, ct);
        var created = await populations.GetAsync(user.OrganizationId, row.Id, ct);
        return TypedResults.Created($"/v1/populations/{row.Id}", Response(created!));
    }

    private static async Task<Ok<List<PopulationResponse>>> List(CurrentUser user, IPopulationRepository populations, CancellationToken ct) =>
        TypedResults.Ok((await populations.ListAsync(user.OrganizationId, ct)).Select(Response).ToList());

    private static async Task<Results<Ok<PopulationResponse>, ProblemHttpResult>> Get(string populationId, CurrentUser user, IPopulationRepository populations, CancellationToken ct) =>
        await populations.GetAsync(user.OrganizationId, populationId, ct) is { } p ? TypedResults.Ok(Response(p)) : Problems.NotFound("population");

    /// <summary>What an upload handler needs, bundled.</summary>
    public sealed record UploadParameters(
        HttpContext Http,
        CurrentUser User,
        IPopulationRepository Populations,
        UploadService Uploads,
        NdjsonUploadParser Ndjson,
        CsvUploadParser Csv,
        IOptions<UploadOptions> Options,
        Schedules.PushRuns Pushes,
        [FromQuery] string? OnError,
        [FromQuery] bool? AllowEmpty,
        [FromHeader(Name = "Idempotency-Key")] string? IdempotencyKey,
        [FromHeader(Name = Schedules.PushRuns.Header)] string? SyncSchedule);

    private static async Task<IResult> Upload(string populationId, UploadMode mode, UploadParameters p, CancellationToken ct)
    {
        var http = p.Http;
        // The upload's own limit replaces the server-wide default (enforced while reading, 413 beyond it).
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = p.Options.Value.MaxBodyBytes;

        var population = await p.Populations.GetAsync(p.User.OrganizationId, populationId, ct);
        if (population is null) return Problems.NotFound("population");

        var mediaType = (http.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        IUploadParser? parser = mediaType switch
        {
            "application/x-ndjson" or "application/ndjson" or "application/jsonl" or "application/jsonlines" => p.Ndjson,
            "text/csv" => p.Csv,
            _ => null,
        };
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

        Task<UploadOutcome> Apply(CancellationToken token) => p.Uploads.UploadAsync(new UploadRequest(
            p.User.OrganizationId, p.User.Actor, population, mode,
            policyName == "skip" ? ErrorPolicy.Skip : ErrorPolicy.Reject,
            parser, http.Request.Body, encoding == "gzip", p.IdempotencyKey, p.AllowEmpty ?? false), token);

        UploadOutcome outcome;
        if (p.SyncSchedule is { } scheduleId)
        {
            // A push from a client's sync job: the upload is recorded as a run of that schedule.
            var (problem, recorded) = await p.Pushes.RunAsync(http, p.User, scheduleId, population.Id, Apply, ct);
            if (problem is not null) return problem;
            outcome = recorded!;
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
                return TypedResults.Problem(statusCode: f.StatusCode, title: f.Title, detail: f.Detail, type: Problems.TypePrefix + "upload", extensions: ext);
            default:
                throw new InvalidOperationException("Unknown upload outcome.");
        }
    }

    private static async Task<Results<Ok<SharingSetting>, ProblemHttpResult>> GetSharing(
        string populationId, CurrentUser user, IPopulationRepository populations, IPartnershipRepository partnerships, CancellationToken ct)
    {
        if (await populations.GetAsync(user.OrganizationId, populationId, ct) is null) return Problems.NotFound("population");
        var rule = (await partnerships.ListRulesAsync(user.OrganizationId, ct))
            .FirstOrDefault(r => r.PopulationId == populationId && r.PartnershipId.Length == 0 && r.PartnerPopulationId.Length == 0);
        return TypedResults.Ok(SharingRules.Setting(rule?.ToDomain())
            ?? new SharingSetting(SharingLevel.Hidden.ToWire(), [], SharingPolicy.DefaultMinimumCount));
    }

    private static async Task<Results<Ok<SharingSetting>, ProblemHttpResult>> PutSharing(
        string populationId, SharingSettingRequest request, CurrentUser user, IPopulationRepository populations,
        IPartnershipRepository partnerships, OverlapCache overlaps, OverlapRefresher refresher, OverlapService service, OverlapHistory history,
        IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        if (await populations.GetAsync(user.OrganizationId, populationId, ct) is null) return Problems.NotFound("population");
        var now = Time.ToUnixMs(time.GetUtcNow());
        var errors = new FieldErrors();
        var row = SharingRules.ToRow(user.OrganizationId, populationId, "", "", request, now, "$", errors);
        if (errors.Any || row is null) return errors.ToProblem();
        await partnerships.ReplaceDefaultRulesAsync(user.OrganizationId, [row], ct);
        foreach (var partnership in await partnerships.ListAsync(user.OrganizationId, ct))
        {
            overlaps.Evict(partnership.Id);
            if (partnership.Status != "active") continue;
            // What each partner derived from a cell hidden now goes with the permission, at once.
            if (await service.LoadAsync(partnership.ToDomain().PartnerOf(user.OrganizationId), partnership.Id, ct) is { } partnerView)
                await history.ForgetHiddenCellsAsync(partnerView, ct);
            refresher.PartnershipChanged(user.OrganizationId, partnership.Id, populationId);
        }
        await audit.AppendAsync(now, user.OrganizationId, user.Actor, "sharing.default_updated", null,
            new { populationId, row.Level, row.Fields, row.MinimumCount }, ct);
        return TypedResults.Ok(SharingRules.Setting(row.ToDomain())!);
    }

    private static PopulationResponse Response(PopulationSummaryRow p) => new(
        p.Id, p.Name, p.Type, Time.FromUnixMs(p.CreatedAt), p.CurrentVersionId, p.RecordCount ?? 0, Time.FromUnixMs(p.CommittedAt));
}

public sealed record CreatePopulationRequest(string? Name, string? Type);

public sealed record PopulationResponse(
    string Id,
    string Name,
    string Type,
    DateTimeOffset CreatedAt,
    string? CurrentVersionId,
    long RecordCount,
    DateTimeOffset? UpdatedAt);
