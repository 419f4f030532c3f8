using CsvHelper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

public static class OverlapsApi
{
    public const int MaxPageSize = 1000;

    public static RouteGroupBuilder MapOverlaps(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/partnerships/{partnershipId}/overlaps")
            .WithTags("Overlaps")
            .RequireAuthorization(Policies.OverlapsRead);

        group.MapGet("", GetMatrix)
            .WithName("GetOverlapMatrix")
            .WithSummary("The overlap matrix: my populations × the partner's populations it does not hide from me")
            .WithDescription("Each cell holds the number of my distinct records that overlap, as the partner's rule permits: exact at the overlaps level, withheld below the partner's minimum at the counts level; hidden partner populations have no column. 409 when the partnership is not active.")
            .ProducesProblem(409);

        group.MapGet("/{myPopulationId}/{partnerPopulationId}", GetList)
            .WithName("ListOverlappingAccounts")
            .WithSummary("My overlapping records for one cell, with the fields the partner shares (JSON pages or CSV export)")
            .WithDescription("Only where the partner shares its population at the overlaps level. JSON is paginated with cursor/limit; send Accept: text/csv (or format=csv) for the whole list as CSV.")
            .Produces<OverlapListResponse>(contentType: "application/json")
            .ProducesCsv("Header recordId, matchedOn, my attribute columns, then partner.<field> for each shared field; one row per partner record matched.")
            .ProducesProblem(409);

        group.MapOverlapHistory();
        return group;
    }

    private static async Task<Results<Ok<OverlapMatrixResponse>, ProblemHttpResult>> GetMatrix(
        string partnershipId, CurrentUser user, OverlapService service, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        if (!view.Partnership.SharesData) return NotActive();

        var columns = view.VisiblePartnerPopulations.ToList();
        var cells = new List<OverlapCell>();
        foreach (var mine in view.MyPopulations)
            foreach (var theirs in columns)
            {
                var sharing = view.PartnerShares(mine.Id, theirs.Id);
                if (sharing.Level == SharingLevel.Hidden) continue;
                var (result, _, _) = await service.ComputeAsync(view, mine, theirs, ct);
                var count = SharingPolicy.ReportableCount(sharing, result.Count, result.PartnerCount);
                cells.Add(new OverlapCell(mine.Id, theirs.Id, sharing.Level.ToWire(), count,
                    count is null ? sharing.MinimumCount : null));
            }
        var now = time.GetUtcNow();
        await audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "overlaps.matrix_read", partnershipId,
            new { cells = cells.Select(c => new { c.MyPopulationId, c.PartnerPopulationId, c.Level, c.Count }) }, ct);
        return TypedResults.Ok(new OverlapMatrixResponse(
            partnershipId,
            new PartnerSummary(view.Partner.Id, view.Partner.Slug, view.Partner.Name),
            now,
            view.MyPopulations.Select(p => new MatrixPopulation(p.Id, p.Name, p.Type, p.RecordCount ?? 0, Time.FromUnixMs(p.CommittedAt))).ToList(),
            columns.Select(p => new MatrixPopulation(p.Id, p.Name, p.Type, null, Time.FromUnixMs(p.CommittedAt))).ToList(),
            cells));
    }

    private static async Task<Results<Ok<OverlapListResponse>, EmptyHttpResult, ProblemHttpResult>> GetList(
        string partnershipId, string myPopulationId, string partnerPopulationId,
        [FromQuery] string? cursor, [FromQuery] int? limit, [FromQuery] string? format,
        HttpContext http, CurrentUser user, OverlapService service, IAuditRepository audit, IDataProtectionProvider protection, TimeProvider time, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        if (!view.Partnership.SharesData) return NotActive();
        var cursors = Cursors(protection, user.OrganizationId, partnershipId, myPopulationId, partnerPopulationId);
        if (OverlapsCell(view, myPopulationId, partnerPopulationId, out var problem) is not var (mine, theirs, sharing)) return problem!;

        var pageSize = limit ?? 100;
        if (pageSize is < 1 or > MaxPageSize) return Problems.Invalid("limit", $"limit is between 1 and {MaxPageSize}.");
        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || (format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true));
        if (format is not null && !csv && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
            return Problems.Invalid("format", "format is json or csv.");

        var (result, myData, theirData) = await service.ComputeAsync(view, mine, theirs, ct);
        if (csv)
        {
            // The export's size is known before the first byte, so its release is committed to the audit log first:
            // a 2xx means audited. A client that disconnects mid-file received fewer rows than the event records.
            await AuditRelease(result.Count, "csv");
            await WriteCsv(http, result, myData, theirData, sharing.Fields, mine.Name, ct);
            return TypedResults.Empty;
        }
        var start = 0;
        if (cursor is not null)
        {
            if (!TryDecodeCursor(cursors, cursor, out var afterId)) return Problems.Invalid("cursor", "The cursor is not one this API returned.");
            var ordinal = myData.OrdinalOf(afterId);
            start = result.FirstAtOrAfter(ordinal >= 0 ? ordinal + 1 : ~ordinal);
        }
        var end = Math.Min(result.Count, start + pageSize);
        var items = new List<OverlapItem>(end - start);
        for (var i = start; i < end; i++) items.Add(Item(result, i, myData, theirData, sharing.Fields));
        await AuditRelease(items.Count, "json");

        var next = end < result.Count && items.Count > 0 ? cursors.Protect(items[^1].RecordId) : null;
        return TypedResults.Ok(new OverlapListResponse(partnershipId, myPopulationId, partnerPopulationId, sharing.Level.ToWire(),
            sharing.Fields, result.Count, items, next));

        Task AuditRelease(int rows, string releasedAs) =>
            audit.AppendAsync(Time.ToUnixMs(time.GetUtcNow()), user.OrganizationId, user.Actor, "overlaps.released", partnershipId,
                new { myPopulationId, partnerPopulationId, rows, format = releasedAs, fields = sharing.Fields }, ct);
    }

    /// <summary>One of my overlapping records with, for each partner record it matched, only the permitted fields.</summary>
    internal static OverlapItem Item(OverlapResult result, int i, PopulationData myData, PopulationData theirData, IReadOnlyList<string> fields)
    {
        var me = myData.Records[result.MyOrdinals[i]];
        var matches = new List<PartnerMatch>();
        for (var p = result.PairStart[i]; p < result.PairStart[i + 1]; p++)
        {
            var them = theirData.Records[result.TheirOrdinals[p]];
            var shared = new Dictionary<string, string>();
            foreach (var field in fields)
                if (them.Attribute(field) is { } value) shared[field] = value;
            matches.Add(new PartnerMatch(MatchedOn(result.Kinds[p]), shared));
        }
        return new OverlapItem(me.RecordId, me.Attributes.ToDictionary(a => a.Name, a => a.Value), matches, result.Truncated[i]);
    }

    private static List<string> MatchedOn(MatchKinds kinds) =>
        IdentifierTypes.All.Where(t => (kinds & (MatchKinds)(1 << ((int)t - 1))) != 0).Select(t => t.WireName()).ToList();

    /// <summary>
    /// Streams the whole cell as CSV, one row per (my record, partner match), as the rows are produced: nothing but
    /// the writer's buffer is held, and full buffers are written out asynchronously, so an export of any size
    /// arrives whole. The UTF-8 byte-order mark lets spreadsheets (Excel) read non-ASCII names.
    /// </summary>
    private static async Task WriteCsv(HttpContext http, OverlapResult result, PopulationData myData, PopulationData theirData,
        IReadOnlyList<string> fields, string populationName, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        var fileName = new string(populationName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"overlaps-{fileName}.csv\"";
        // The header names every attribute my overlapping records carry, so they are gathered before the first row.
        var myColumns = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var ordinal in result.MyOrdinals)
            foreach (var attribute in myData.Records[ordinal].Attributes) myColumns.Add(attribute.Name);
        // Cells starting with = + - @ are escaped so a spreadsheet never runs a partner-supplied formula.
        await using var writer = CsvWriter.Create(http.Response.Body,
            new CsvWriterOptions { Injection = CsvInjection.Escape, NewLine = "\r\n", WriteByteOrderMark = true }, true);
        var row = new string[2 + myColumns.Count + fields.Count];
        string[] header = ["recordId", "matchedOn", .. myColumns, .. fields.Select(f => "partner." + f)];
        await writer.WriteRecordAsync(header, ct);
        for (var i = 0; i < result.Count; i++)
        {
            var item = Item(result, i, myData, theirData, fields);
            foreach (var match in item.Matches)
            {
                var c = 0;
                row[c++] = item.RecordId;
                row[c++] = string.Join('|', match.MatchedOn);
                foreach (var column in myColumns) row[c++] = item.Attributes.GetValueOrDefault(column) ?? "";
                foreach (var field in fields) row[c++] = match.Fields.GetValueOrDefault(field) ?? "";
                // Writes out asynchronously whenever the buffer is mostly full; once it completes, the record is in the
                // buffer, so the array is reused.
                await writer.WriteRecordAsync(row, ct);
            }
        }
        await writer.FlushAsync(ct);
    }

    /// <summary>
    /// The one access rule for record-level results of a cell (the list, its CSV export, new-since): my population,
    /// a partner population the partner does not hide from it — a hidden one answers exactly like one that does not
    /// exist — and sharing at the overlaps level (403 at the counts level, whose figures the matrix shows).
    /// </summary>
    internal static (PopulationSummaryRow Mine, PopulationSummaryRow Theirs, EffectiveSharing Sharing)? OverlapsCell(
        PartnerView view, string myPopulationId, string partnerPopulationId, out ProblemHttpResult? problem)
    {
        problem = null;
        var mine = view.MyPopulations.FirstOrDefault(p => p.Id == myPopulationId);
        if (mine is null) { problem = Problems.NotFound("population"); return null; }
        var theirs = view.PartnerPopulations.FirstOrDefault(p => p.Id == partnerPopulationId);
        var sharing = theirs is null ? EffectiveSharing.Hidden : view.PartnerShares(mine.Id, theirs.Id);
        if (theirs is null || sharing.Level == SharingLevel.Hidden) { problem = Problems.NotFound("partner population"); return null; }
        if (sharing.Level != SharingLevel.Overlaps)
        {
            problem = Problems.Forbidden("The partner shares only counts for this population; the matrix and the history show them.");
            return null;
        }
        return (mine, theirs, sharing);
    }

    internal static ProblemHttpResult NotActive() =>
        Problems.Conflict("The partnership is not active, so it has no overlaps to report.");

    /// <summary>
    /// Cursors are encrypted and authenticated (ASP.NET Data Protection), bound to the caller, partnership and
    /// cell: they name a record id, which must not show in URLs and access logs nor be forged or replayed elsewhere.
    /// </summary>
    private static IDataProtector Cursors(IDataProtectionProvider protection, string organizationId, string partnershipId, string mine, string theirs) =>
        protection.CreateProtector("overlap-list-cursor", organizationId, partnershipId, mine, theirs);

    private static bool TryDecodeCursor(IDataProtector cursors, string cursor, out string recordId)
    {
        try
        {
            recordId = cursors.Unprotect(cursor);
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            recordId = "";
            return false;
        }
    }
}

public sealed record PartnerSummary(string Id, string Slug, string Name);

/// <summary>
/// A population in the matrix; <see cref="RecordCount"/> only for my own (a partner's size is not mine to know).
/// <see cref="DataUpdatedAt"/> is when its current version was committed (its last upload): for a partner
/// population, how fresh the overlaps with it are.
/// </summary>
public sealed record MatrixPopulation(string Id, string Name, string Type, long? RecordCount, DateTimeOffset? DataUpdatedAt);

/// <summary>A matrix cell. <see cref="Count"/> is null when withheld; <see cref="MinimumCount"/> then says the count is below it.</summary>
public sealed record OverlapCell(string MyPopulationId, string PartnerPopulationId, string Level, int? Count, int? MinimumCount);

public sealed record OverlapMatrixResponse(
    string PartnershipId,
    PartnerSummary Partner,
    DateTimeOffset ComputedAt,
    IReadOnlyList<MatrixPopulation> MyPopulations,
    IReadOnlyList<MatrixPopulation> PartnerPopulations,
    IReadOnlyList<OverlapCell> Cells);

public sealed record PartnerMatch(IReadOnlyList<string> MatchedOn, IReadOnlyDictionary<string, string> Fields);

public sealed record OverlapItem(string RecordId, Dictionary<string, string> Attributes, IReadOnlyList<PartnerMatch> Matches, bool MatchesTruncated);

public sealed record OverlapListResponse(
    string PartnershipId,
    string MyPopulationId,
    string PartnerPopulationId,
    string Level,
    IReadOnlyList<string> Fields,
    int TotalCount,
    IReadOnlyList<OverlapItem> Items,
    string? NextCursor);
