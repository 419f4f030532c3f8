using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Overlaps;
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
            .WithDescription("One trend per cell the partner does not hide now. At the counts level each point obeys the partner's minimum (withheld points have no count); at the overlaps level counts are exact. The first point of a cell may precede 'from': it is the value in force at 'from'. Consecutive points that would read the same are merged.")
            .ProducesProblem(409);

        group.MapGet("/{myPopulationId}/{partnerPopulationId}/new", ListNew)
            .WithName("ListNewOverlappingAccounts")
            .WithSummary("My records that overlap now but did not at the latest history point at or before 'since', with the fields the partner shares")
            .WithDescription("Only where the partner shares its population at the overlaps level (403 at counts, 404 when hidden). Paginated with cursor/limit like the list.")
            .ProducesProblem(409);
        return group;
    }

    private static async Task<Results<Ok<OverlapHistoryResponse>, ProblemHttpResult>> GetHistory(
        string partnershipId, [FromQuery] string? from, [FromQuery] string? to,
        CurrentUser user, OverlapService service, IOverlapHistoryRepository history, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        if (!view.Partnership.SharesData) return OverlapsApi.NotActive();

        var errors = new FieldErrors();
        var start = ParseTime(from, "from", errors);
        var end = ParseTime(to, "to", errors) ?? time.GetUtcNow();
        if (start is { } s && s > end) errors.Add("from", "from is not after to.");
        if (errors.Any) return errors.ToProblem();

        var points = (await history.ListAsync(partnershipId, user.OrganizationId, start is null ? long.MinValue : Time.ToUnixMs(start.Value), Time.ToUnixMs(end), ct))
            .ToLookup(p => (p.PopulationId, p.PartnerPopulationId));
        var cells = new List<HistoryCell>();
        foreach (var mine in view.MyPopulations)
            foreach (var theirs in view.VisiblePartnerPopulations)
            {
                // Rendered with the rule in force now: a hidden cell does not exist, whatever it was when recorded.
                var sharing = view.PartnerShares(mine.Id, theirs.Id);
                if (sharing.Level == SharingLevel.Hidden) continue;
                var trend = new List<HistoryPoint>();
                // The trend starts from what an empty cell reads. A cell gets its first point only once something
                // overlaps, so without this "a withheld point" versus "no point" would tell a one-account probe
                // whether that account is in the partner's list.
                int? last = null;
                var started = false;
                foreach (var p in points[(mine.Id, theirs.Id)])
                {
                    // A point recorded while the partner shared only counts stays under the counts rule, even if it
                    // shares overlaps now: raising the level must not reveal past single-account memberships.
                    var rule = p.Level == SharingLevel.Counts.ToWire() && sharing.Level == SharingLevel.Overlaps
                        ? sharing with { Level = SharingLevel.Counts, Fields = [] }
                        : sharing;
                    var count = SharingPolicy.ReportableCount(rule, (int)p.Count, (int)p.PartnerCount);
                    if (!started) (last, started) = (SharingPolicy.ReportableCount(rule, 0, 0), true);
                    // Points are recorded whenever the overlap changed. Two that read the same are merged: otherwise a
                    // run of withheld points would still say that a withheld count moved.
                    if (count == last) continue;
                    trend.Add(new HistoryPoint(Time.FromUnixMs(p.At), count));
                    last = count;
                }
                cells.Add(new HistoryCell(mine.Id, theirs.Id, sharing.Level.ToWire(),
                    sharing.Level == SharingLevel.Counts ? sharing.MinimumCount : null, trend));
            }

        await audit.AppendAsync(Time.ToUnixMs(time.GetUtcNow()), user.OrganizationId, user.Actor, "overlaps.history_read", partnershipId,
            new { from = start, to = end, cells = cells.Select(c => new { c.MyPopulationId, c.PartnerPopulationId, c.Level, points = c.Points.Count }) }, ct);
        return TypedResults.Ok(new OverlapHistoryResponse(partnershipId, start, end, cells));
    }

    private static async Task<Results<Ok<NewOverlapsResponse>, ProblemHttpResult>> ListNew(
        string partnershipId, string myPopulationId, string partnerPopulationId,
        [FromQuery] string? since, [FromQuery] string? cursor, [FromQuery] int? limit,
        CurrentUser user, OverlapService service, IOverlapHistoryRepository history, IAccountRepository accounts, OrganizationKeys keys,
        IOptions<HistoryOptions> historyOptions, IAuditRepository audit, IDataProtectionProvider protection, TimeProvider time, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        if (!view.Partnership.SharesData) return OverlapsApi.NotActive();
        // Same answers as the list: the access rule of a cell's records lives in one place.
        if (OverlapsApi.OverlapsCell(view, myPopulationId, partnerPopulationId, out var problem) is not var (mine, theirs, sharing)) return problem!;

        var errors = new FieldErrors();
        var sinceTime = ParseTime(since, "since", errors);
        if (since is null) errors.Add("since", "since is required: an ISO 8601 time, e.g. 2026-11-22T10:00:00Z.");
        var pageSize = limit ?? 100;
        if (pageSize is < 1 or > OverlapsApi.MaxPageSize) errors.Add("limit", $"limit is between 1 and {OverlapsApi.MaxPageSize}.");
        if (errors.Any) return errors.ToProblem();

        var sinceMs = Time.ToUnixMs(sinceTime!.Value);
        var cursors = protection.CreateProtector("overlap-new-cursor", user.OrganizationId, partnershipId, myPopulationId, partnerPopulationId,
            sinceMs.ToString(CultureInfo.InvariantCulture));

        // The baseline: my overlapping records at the latest point at or before 'since' (none before the first point).
        var baseline = await history.GetLatestAsync(partnershipId, user.OrganizationId, mine.Id, theirs.Id, sinceMs, withRecordIds: true, ct);
        HashSet<string> before = [];
        if (baseline is not null)
        {
            // Which of my records overlapped is kept only while the partner shared the list with me.
            if (baseline.Level != SharingLevel.Overlaps.ToWire())
                return Problems.Invalid("since", "At that time the partner did not share this population with you at the overlaps level; choose a later time.");
            if (baseline.RecordIds is null)
                return Problems.Invalid("since", $"History keeps the overlapping records of each point for {historyOptions.Value.RecordIdRetentionDays} days; choose a later time.");
            var organization = await accounts.GetOrganizationAsync(user.OrganizationId, ct) ?? throw new InvalidOperationException("The caller's organization is gone.");
            using var cipher = keys.CipherFor(organization.Id, organization.WrappedKey);
            before = OverlapHistory.OpenRecordIds(cipher, baseline);
        }

        var (result, myData, theirData) = await service.ComputeAsync(view, mine, theirs, ct);
        var start = 0;
        if (cursor is not null)
        {
            string afterId;
            try { afterId = cursors.Unprotect(cursor); }
            catch (System.Security.Cryptography.CryptographicException) { return Problems.Invalid("cursor", "The cursor is not one this API returned."); }
            var ordinal = myData.OrdinalOf(afterId);
            start = result.FirstAtOrAfter(ordinal >= 0 ? ordinal + 1 : ~ordinal);
        }

        var items = new List<OverlapItem>();
        var total = 0;
        var more = false;
        for (var i = 0; i < result.Count; i++)
        {
            if (before.Contains(myData.Records[result.MyOrdinals[i]].RecordId)) continue;
            total++;
            if (i < start) continue;
            if (items.Count < pageSize) items.Add(OverlapsApi.Item(result, i, myData, theirData, sharing.Fields));
            else more = true;
        }

        await audit.AppendAsync(Time.ToUnixMs(time.GetUtcNow()), user.OrganizationId, user.Actor, "overlaps.released", partnershipId,
            new { myPopulationId, partnerPopulationId, rows = items.Count, format = "json", fields = sharing.Fields, since = sinceTime }, ct);
        return TypedResults.Ok(new NewOverlapsResponse(partnershipId, myPopulationId, partnerPopulationId, sharing.Level.ToWire(), sharing.Fields,
            sinceTime.Value, Time.FromUnixMs(baseline?.At), total, items, more ? cursors.Protect(items[^1].RecordId) : null));
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

/// <summary>One point of a trend: <see cref="Count"/> null when the partner's minimum withholds it.</summary>
public sealed record HistoryPoint(DateTimeOffset At, int? Count);

/// <summary>The trend of one cell; <see cref="MinimumCount"/> at the counts level, where points below it have no count.</summary>
public sealed record HistoryCell(string MyPopulationId, string PartnerPopulationId, string Level, int? MinimumCount, IReadOnlyList<HistoryPoint> Points);

public sealed record OverlapHistoryResponse(string PartnershipId, DateTimeOffset? From, DateTimeOffset To, IReadOnlyList<HistoryCell> Cells);

/// <summary>
/// My records that overlap now and did not at the baseline: the latest history point at or before <see cref="Since"/>
/// (<see cref="BaselineAt"/>; absent when there was none, and then every overlapping record is new).
/// </summary>
public sealed record NewOverlapsResponse(
    string PartnershipId,
    string MyPopulationId,
    string PartnerPopulationId,
    string Level,
    IReadOnlyList<string> Fields,
    DateTimeOffset Since,
    DateTimeOffset? BaselineAt,
    int TotalCount,
    IReadOnlyList<OverlapItem> Items,
    string? NextCursor);
