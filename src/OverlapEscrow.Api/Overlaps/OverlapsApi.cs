using CsvHelper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Domain.Matching;
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
            .WithDescription("Each cell holds the number of my distinct records that overlap, as the partner's rule permits: exact at the overlaps level; at the counts level a privacy-protected value (noised, released once per change of either side's data and reused on every read; 'privacy' gives its margin of error and when it refreshes), withheld when below the partner's minimum; hidden partner populations have no column. 409 when the partnership is not active.")
            .ProducesProblem(409);

        group.MapGet("/{myPopulationId}/{partnerPopulationId}", GetList)
            .WithName("ListOverlappingAccounts")
            .WithSummary("My overlapping records for one cell, with the fields the partner shares (JSON pages or CSV export)")
            .WithDescription("Only where the partner shares its population at the overlaps level. JSON is paginated with cursor/limit; send Accept: text/csv (or format=csv) for the whole list as CSV. Each partner match carries its confidence; matches=all adds the possible matches (a generic name alone, say) to the exact and strong ones of the default view.")
            .Produces<OverlapListResponse>(contentType: "application/json")
            .ProducesCsv("Header recordId, matchedOn, confidence, my attribute columns, then partner.<field> for each shared field; one row per partner record matched.")
            .ProducesProblem(409);

        group.MapOverlapHistory();
        return group;
    }

    private static async Task<Results<Ok<OverlapMatrixResponse>, ProblemHttpResult>> GetMatrix(
        string partnershipId, CurrentUser user, OverlapReports reports, CancellationToken ct)
    {
        var outcome = await reports.MatrixAsync(user.Caller, partnershipId, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var m = outcome.Value!;
        return TypedResults.Ok(new OverlapMatrixResponse(
            partnershipId,
            new PartnerSummary(m.Partner.Id, m.Partner.Slug, m.Partner.Name),
            m.ComputedAt,
            m.MyPopulations.Select(p => new MatrixPopulation(p.Id, p.Name, p.Type, p.RecordCount, p.UpdatedAt, Spec(p.HashingSpec))).ToList(),
            m.PartnerPopulations.Select(p => new MatrixPopulation(p.Id, p.Name, p.Type, null, p.DataUpdatedAt, Spec(p.HashingSpec))).ToList(),
            m.Cells.Select(c => new OverlapCell(c.MyPopulationId, c.PartnerPopulationId, c.Level, c.Count.Value, c.Count.WithheldBelow,
                CountPrivacy.Of(c.Count.Protection), Mismatch(c.SpecMismatch), c.Unreadable ? true : null)).ToList()));
    }

    private static async Task<Results<OverlapListResult, EmptyHttpResult, ProblemHttpResult>> GetList(
        string partnershipId, string myPopulationId, string partnerPopulationId,
        [FromQuery] string? cursor, [FromQuery] int? limit, [FromQuery] string? format, [FromQuery] string? matches,
        HttpContext http, CurrentUser user, OverlapReports reports, OverlapCursors cursors, CancellationToken ct)
    {
        if (MatchViews.Parse(matches) is not { } view) return Problems.Invalid(MatchViews.Field, MatchViews.Rule);
        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || (format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true));
        if (format is not null && !csv && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
            return Problems.Invalid("format", "format is json or csv.");
        if (csv)
        {
            var export = await reports.ExportAsync(user.Caller, partnershipId, myPopulationId, partnerPopulationId, limit, ct, view);
            if (export.Failure is { } failure) return Problems.From(failure);
            await WriteCsv(http, export.Value!, ct);
            return TypedResults.Empty;
        }

        // A cursor is bound to its view too: the records of one view are not a page of the other.
        var caller = user.Caller;
        var binding = view == MatchView.Default
            ? OverlapCursors.Bind(ListPurpose, caller.OrganizationId, partnershipId, myPopulationId, partnerPopulationId)
            : OverlapCursors.Bind(ListPurpose, caller.OrganizationId, partnershipId, myPopulationId, partnerPopulationId, "all");
        string? after = null;
        if (cursor is not null && !cursors.TryOpen(binding, cursor, out after)) return NotACursor();
        var outcome = await reports.PageAsync(caller, partnershipId, myPopulationId, partnerPopulationId, after, limit ?? 100, ct, view);
        if (outcome.Failure is { } problem) return Problems.From(problem);
        var page = outcome.Value!;
        // Written straight from the page in OverlapListResponse's wire format (OverlapListJson).
        return new OverlapListResult(partnershipId, page, page.More ? cursors.Seal(binding, page.Items[^1].RecordId) : null, MatchViews.Wire(view));
    }

    internal static OverlapItemResponse Item(OverlapItem item) => new(item.RecordId, item.Attributes,
        item.Matches.Select(m => new PartnerMatchResponse(m.MatchedOn, m.Confidence, m.Fields)).ToList(), item.MatchesTruncated);

    private static string? Spec(int? version) => version is { } v ? HashingSpecs.Wire(v) : null;

    internal static HashingSpecMismatchResponse? Mismatch(HashingSpecMismatch? mismatch) =>
        mismatch is null ? null : new(HashingSpecs.Wire(mismatch.Mine), HashingSpecs.Wire(mismatch.Partner));

    /// <summary>
    /// Streams the whole cell as CSV, one row per (my record, partner match), as the rows are produced: nothing but
    /// the writer's buffer is held, and full buffers are written out asynchronously, so an export of any size
    /// arrives whole. The UTF-8 byte-order mark lets spreadsheets (Excel) read non-ASCII names.
    /// </summary>
    private static readonly string[] ConfidenceNames = ["", "possible", "strong", "exact"];

    internal static async Task WriteCsv(HttpContext http, OverlapExport export, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        var fileName = new string(export.Mine.Name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"overlaps-{fileName}.csv\"";
        var fields = export.Sharing.Fields;
        // Cells starting with = + - @ are escaped so a spreadsheet never runs a partner-supplied formula.
        await using var writer = CsvWriter.Create(http.Response.Body,
            new CsvWriterOptions { Injection = CsvInjection.Escape, NewLine = "\r\n", WriteByteOrderMark = true }, true);
        var row = new string[3 + export.MyColumns.Count + fields.Count];
        string[] header = ["recordId", "matchedOn", "confidence", .. export.MyColumns, .. fields.Select(f => "partner." + f)];
        await writer.WriteRecordAsync(header, ct);
        foreach (var item in export.Items)
            foreach (var match in item.Matches)
            {
                var c = 0;
                row[c++] = item.RecordId;
                row[c++] = string.Join('|', match.MatchedOn);
                row[c++] = ConfidenceNames[(int)match.Confidence];
                foreach (var column in export.MyColumns) row[c++] = item.Attributes.GetValueOrDefault(column) ?? "";
                foreach (var field in fields) row[c++] = match.Fields.GetValueOrDefault(field) ?? "";
                // Writes out asynchronously whenever the buffer is mostly full; once it completes, the record is in the
                // buffer, so the array is reused.
                await writer.WriteRecordAsync(row, ct);
            }
        await writer.FlushAsync(ct);
    }

    /// <summary>
    /// The dashboard's page links of what is new (not the API's cursors, <see cref="OverlapCursors"/>): encrypted and
    /// authenticated with ASP.NET Data Protection, bound to the caller, partnership and cell.
    /// </summary>
    internal static IDataProtector Cursors(IDataProtectionProvider protection, string purpose, string organizationId, string partnershipId, string mine, string theirs,
        params string[] more) =>
        protection.CreateProtector(purpose, [organizationId, partnershipId, mine, theirs, .. more]);

    internal static bool TryDecodeCursor(IDataProtector cursors, string cursor, out string? recordId)
    {
        try
        {
            recordId = cursors.Unprotect(cursor);
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            recordId = null;
            return false;
        }
    }

    /// <summary>The purposes of the list's and the new-since list's cursors (<see cref="OverlapCursors"/>): one is no cursor of the other.</summary>
    internal const string ListPurpose = "overlap-list-cursor", NewPurpose = "overlap-new-cursor";

    /// <summary>
    /// A cursor that does not open: altered, issued to another organization, for another cell or view, under a signing
    /// key since retired, or by an earlier release (whose cursors were sealed otherwise). The client starts from the first page.
    /// </summary>
    internal static ProblemHttpResult NotACursor() =>
        Problems.Invalid("cursor", "The cursor is not one this API returned (or it was issued before a key rotation or an upgrade): start again without a cursor.");
}


/// <summary>
/// A population in the matrix; <see cref="RecordCount"/> only for my own (a partner's size is not mine to know).
/// <see cref="DataUpdatedAt"/> is when its current version was committed (its last upload): for a partner
/// population, how fresh the overlaps with it are. <see cref="HashingSpec"/> is the hashing specification version
/// its current data was hashed under (null before its first upload).
/// </summary>
public sealed record MatrixPopulation(string Id, string Name, string Type, long? RecordCount, DateTimeOffset? DataUpdatedAt, string? HashingSpec);

/// <summary>The two sides of a cell were hashed under different specification versions: some matches may be missed
/// (docs/hashing.md, "Versioning").</summary>
public sealed record HashingSpecMismatchResponse(string Mine, string Partner);

/// <summary>
/// A matrix cell. <see cref="Count"/> is null when withheld; <see cref="MinimumCount"/> then says the count is below it.
/// <see cref="Privacy"/> at the counts level only: whether the value is noised, its margin of error, when it was released
/// and when it refreshes (docs/privacy.md). <see cref="HashingSpecMismatch"/> is present when the two sides were hashed
/// under different versions. <see cref="Unreadable"/> (true, else absent): one side's data cannot be opened with the keys
/// held (a database restored from before a data-key rotation), so the cell has no count until it is uploaded again.
/// </summary>
public sealed record OverlapCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? Count, int? MinimumCount,
    CountPrivacy? Privacy = null, HashingSpecMismatchResponse? HashingSpecMismatch = null, bool? Unreadable = null);

public sealed record OverlapMatrixResponse(
    string PartnershipId,
    PartnerSummary Partner,
    DateTimeOffset ComputedAt,
    IReadOnlyList<MatrixPopulation> MyPopulations,
    IReadOnlyList<MatrixPopulation> PartnerPopulations,
    IReadOnlyList<OverlapCell> Cells);

/// <summary>A partner record matched: on which identifier types, how sure (exact, strong, or possible — only with
/// matches=all), and the fields the partner shares.</summary>
public sealed record PartnerMatchResponse(IReadOnlyList<string> MatchedOn, MatchConfidence Confidence, IReadOnlyDictionary<string, string> Fields);

public sealed record OverlapItemResponse(string RecordId, IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<PartnerMatchResponse> Matches, bool MatchesTruncated);

public sealed record OverlapListResponse(
    string PartnershipId,
    string MyPopulationId,
    string PartnerPopulationId,
    SharingLevel Level,
    IReadOnlyList<string> Fields,
    int TotalCount,
    IReadOnlyList<OverlapItemResponse> Items,
    string? NextCursor,
    string Matches,
    HashingSpecMismatchResponse? HashingSpecMismatch);
