using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Application;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// A cell's account list: my overlapping records with my attributes and, per partner match, the identifiers it matched
/// on and the fields the partner shares; paged, filtered and sorted by my own attributes (OverlapReports.BrowseAsync),
/// with the whole cell as CSV through the API's export (OverlapReports.ExportAsync, the same writer).
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class CellModel(OverlapReports reports, PartnershipLifecycle partnerships) : DashboardPage
{
    public static readonly int[] PageSizes = [25, 50, 100, 250];

    // "page" is a route value of Razor Pages itself (the page's path), so the number travels as "p".
    [BindProperty(SupportsGet = true, Name = "p")] public int PageNumber { get; set; } = 1;
    [BindProperty(SupportsGet = true, Name = "size")] public int PageSize { get; set; } = 50;
    [BindProperty(SupportsGet = true, Name = "sort")] public string? Sort { get; set; }
    [BindProperty(SupportsGet = true, Name = "dir")] public string? Direction { get; set; }
    [BindProperty(SupportsGet = true, Name = "filter")] public string? Filter { get; set; }
    [BindProperty(SupportsGet = true, Name = "q")] public string? Query { get; set; }
    // The API's "matches" parameter, named "view" here: a form control named "matches" would shadow the form
    // element's own matches() method for every script on the page.
    [BindProperty(SupportsGet = true, Name = "view")] public string? Matches { get; set; }

    /// <summary>Whether the list shows possible matches too (<c>?view=all</c>), as the API's <c>matches=all</c>.</summary>
    public bool AllMatches => MatchViews.Parse(Matches) == MatchView.IncludePossible;

    public PartnershipView? Partnership { get; private set; }
    public OverlapBrowsePage? List { get; private set; }
    public string BasePath { get; private set; } = "";

    public bool Descending => string.Equals(Direction, "desc", StringComparison.OrdinalIgnoreCase);

    public async Task<IActionResult> OnGetAsync(string partnershipId, string mine, string theirs, CancellationToken ct)
    {
        BasePath = $"/partnerships/{partnershipId}/cells/{mine}/{theirs}";
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var sort = string.IsNullOrEmpty(Sort) ? null : Sort;
        if (UnboundQuery() is { } unbound) return Fail(unbound);
        if (!string.IsNullOrEmpty(Direction) && !string.Equals(Direction, "asc", StringComparison.OrdinalIgnoreCase) && !Descending)
            return Fail(new Failure.Invalid(new FieldErrors().Check(false, "dir", "dir is asc or desc.").All));
        if (MatchViews.Parse(Matches) is not { } matches)
            return Fail(new Failure.Invalid(new FieldErrors().Check(false, "view", "view is default (exact and strong matches) or all (possible matches too).").All));
        var outcome = await reports.BrowseAsync(Caller, partnershipId, mine, theirs,
            new CellQuery(string.IsNullOrEmpty(Filter) ? null : Filter, string.IsNullOrEmpty(Query) ? null : Query, sort, Descending, PageNumber, PageSize,
                matches), ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        List = outcome.Value;
        return Page();
    }

    /// <summary>The whole cell as CSV: the API's export use case and writer, audited before the first byte.</summary>
    public async Task<IActionResult> OnGetCsvAsync(string partnershipId, string mine, string theirs, CancellationToken ct)
    {
        var export = await reports.ExportAsync(Caller, partnershipId, mine, theirs, null, ct, MatchViews.Parse(Matches) ?? MatchView.Default);
        if (export.Failure is { } failure)
        {
            BasePath = $"/partnerships/{partnershipId}/cells/{mine}/{theirs}";
            var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
            if (partnership.Failure is { } missing) return Fail(missing);
            Partnership = partnership.Value;
            return Fail(failure);
        }
        await OverlapsApi.WriteCsv(HttpContext, export.Value!, ct);
        return new EmptyResult();
    }

    /// <summary>The link to this list with some of its parameters changed.</summary>
    public string Link(int? page = null, string? sort = null, string? dir = null, bool keepSort = true, bool? allMatches = null)
    {
        var q = new List<string>();
        if (allMatches ?? AllMatches) q.Add("view=all");
        var s = keepSort ? sort ?? Sort : sort;
        var d = keepSort ? dir ?? Direction : dir;
        if (!string.IsNullOrEmpty(s)) q.Add("sort=" + Uri.EscapeDataString(s));
        if (!string.IsNullOrEmpty(d)) q.Add("dir=" + Uri.EscapeDataString(d));
        if (!string.IsNullOrEmpty(Filter) && !string.IsNullOrEmpty(Query))
        {
            q.Add("filter=" + Uri.EscapeDataString(Filter));
            q.Add("q=" + Uri.EscapeDataString(Query));
        }
        if (PageSize != 50) q.Add("size=" + PageSize);
        if ((page ?? 1) != 1) q.Add("p=" + page);
        return BasePath + (q.Count == 0 ? "" : "?" + string.Join('&', q));
    }

    /// <summary>The link that sorts by a column: ascending first, then descending.</summary>
    public string SortLink(string column) =>
        Link(sort: column, dir: Sort == column && !Descending ? "desc" : null, keepSort: false);

    public string? AriaSort(string column) => Sort == column ? (Descending ? "descending" : "ascending") : null;
}
