using OverlapEscrow.Domain;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>How overlaps evolved, and what is new since a time; part of the overlaps route group (policy overlaps:read).</summary>
public static class HistoryApi
{
    public static RouteGroupBuilder MapOverlapHistory(this RouteGroupBuilder group)
    {
        group.MapGet("/history", GetHistory)
            .WithName("GetOverlapHistory")
            .WithSummary("How the overlap counts of each cell evolved, shown as the partner's rule in force now permits")
            .WithDescription("One trend per cell the partner does not hide now. At the counts level every point is a released privacy-protected value, the same the matrix and the webhooks showed (withheld points have no count); at the overlaps level counts are exact. The first point of a cell may precede 'from': it is the value in force at 'from'. Consecutive points that would read the same are merged.")
            .ProducesProblem(409);

        group.MapGet("/{myPopulationId}/{partnerPopulationId}/new", ListNew)
            .WithName("ListNewOverlappingAccounts")
            .WithSummary("My records that overlap now but did not at the latest history point at or before 'since', with the fields the partner shares")
            .WithDescription("Only where the partner shares its population at the overlaps level (403 at counts, 404 when hidden). Paginated with cursor/limit like the list.")
            .ProducesProblem(409);
        return group;
    }

    private static async Task<Results<Ok<OverlapHistoryResponse>, ProblemHttpResult>> GetHistory(
        string partnershipId, [FromQuery] string? from, [FromQuery] string? to, CurrentUser user, OverlapReports reports, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var start = ParseTime(from, "from", errors);
        var end = ParseTime(to, "to", errors);
        if (errors.Any) return Problems.Invalid(errors.All);
        var outcome = await reports.HistoryAsync(user.Caller, partnershipId, start, end, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var h = outcome.Value!;
        return TypedResults.Ok(new OverlapHistoryResponse(partnershipId, h.From, h.To, h.Cells.Select(c => new HistoryCellResponse(c.MyPopulationId,
            c.PartnerPopulationId, c.Level, c.MinimumCount, c.Points.Select(p => new HistoryPointResponse(p.At, p.Count.Value,
            p.Count.Protection is { } protection ? protection.Noised : null, p.Count.Protection is { Noised: true } noised ? noised.MarginOfError : null)).ToList())).ToList()));
    }

    private static async Task<Results<Ok<NewOverlapsResponse>, ProblemHttpResult>> ListNew(
        string partnershipId, string myPopulationId, string partnerPopulationId,
        [FromQuery] string? since, [FromQuery] string? cursor, [FromQuery] int? limit,
        CurrentUser user, OverlapReports reports, OverlapCursors cursors, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var sinceTime = ParseTime(since, "since", errors);
        if (since is null) errors.Add("since", "since is required: an ISO 8601 time, e.g. 2026-11-22T10:00:00Z.");
        if (errors.Any) return Problems.Invalid(errors.All);

        var binding = OverlapCursors.Bind(OverlapsApi.NewPurpose, user.OrganizationId, partnershipId, myPopulationId, partnerPopulationId,
            sinceTime!.Value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        string? after = null;
        if (cursor is not null && !cursors.TryOpen(binding, cursor, out after)) return OverlapsApi.NotACursor();
        var outcome = await reports.NewSinceAsync(user.Caller, partnershipId, myPopulationId, partnerPopulationId, sinceTime.Value, after, limit ?? 100, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var n = outcome.Value!;
        var items = n.Items.Select(OverlapsApi.Item).ToList();
        return TypedResults.Ok(new NewOverlapsResponse(partnershipId, myPopulationId, partnerPopulationId, n.Sharing.Level, n.Sharing.Fields,
            n.Since, n.BaselineAt, n.TotalCount, items, n.More ? cursors.Seal(binding, items[^1].RecordId) : null));
    }

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd",
    ];

    /// <summary>An ISO 8601 time (UTC when it has no offset), or null when absent; a field error when malformed.</summary>
    private static DateTimeOffset? ParseTime(string? value, string field, FieldErrors errors)
    {
        if (value is null) return null;
        if (DateTimeOffset.TryParseExact(value.Trim(), IsoFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
            return parsed;
        errors.Add(field, $"{field} is an ISO 8601 time, e.g. 2026-11-22T10:00:00Z (encode '+' as %2B in a URL).");
        return null;
    }
}

/// <summary>
/// One point of a trend: <see cref="Count"/> null when the partner's minimum withholds it. At the counts level
/// <see cref="Protected"/> says whether the value was noised, and <see cref="MarginOfError"/> is its ± at 90 % confidence.
/// </summary>
public sealed record HistoryPointResponse(DateTimeOffset At, int? Count, bool? Protected = null, int? MarginOfError = null);

/// <summary>The trend of one cell; <see cref="MinimumCount"/> at the counts level, where points below it have no count.</summary>
public sealed record HistoryCellResponse(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? MinimumCount, IReadOnlyList<HistoryPointResponse> Points);

public sealed record OverlapHistoryResponse(string PartnershipId, DateTimeOffset? From, DateTimeOffset To, IReadOnlyList<HistoryCellResponse> Cells);

/// <summary>
/// My records that overlap now and did not at the baseline: the latest history point at or before <see cref="Since"/>
/// (<see cref="BaselineAt"/>; absent when there was none, and then every overlapping record is new).
/// </summary>
public sealed record NewOverlapsResponse(
    string PartnershipId,
    string MyPopulationId,
    string PartnerPopulationId,
    SharingLevel Level,
    IReadOnlyList<string> Fields,
    DateTimeOffset Since,
    DateTimeOffset? BaselineAt,
    int TotalCount,
    IReadOnlyList<OverlapItemResponse> Items,
    string? NextCursor);
