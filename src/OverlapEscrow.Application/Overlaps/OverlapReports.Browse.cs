using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// How a person browses a cell's list: a page by number, optionally filtered and sorted by one of <em>my own</em>
/// attributes (owner, stage …). Filtering and sorting look only at my records' attributes, never at the partner's
/// fields, so they disclose nothing the list does not.
/// </summary>
public sealed record CellQuery(string? FilterAttribute, string? FilterText, string? SortAttribute, bool Descending, int Page, int PageSize,
    MatchView Matches = MatchView.Default)
{
    public const int MaxFilterLength = 256;
}

/// <summary>
/// One page of a cell's list as a person browses it. <see cref="TotalCount"/> is the cell's released count,
/// <see cref="MatchingCount"/> the records the filter keeps, <see cref="MyColumns"/> the attribute names my overlapping
/// records carry (what can be filtered and sorted on).
/// </summary>
public sealed record OverlapBrowsePage(string PartnershipId, PopulationSummaryRef Mine, PopulationSummaryRef Theirs, EffectiveSharing Sharing, int TotalCount,
    int MatchingCount, int Page, int PageSize, IReadOnlyList<string> MyColumns, IReadOnlyList<OverlapItem> Items,
    MatchView Matches = MatchView.Default, HashingSpecMismatch? SpecMismatch = null)
{
    public int PageCount => Math.Max(1, (MatchingCount + PageSize - 1) / PageSize);
}

/// <summary>The names of the two populations of a cell, as the viewer may know them.</summary>
public sealed record PopulationSummaryRef(string Id, string Name, string Type);

public sealed partial class OverlapReports
{
    /// <summary>
    /// Sort orders of a computed overlap, kept as long as the overlap itself (an overlap result is immutable and
    /// belongs to one pair of versions, so an order computed for it never goes stale), per attribute and direction.
    /// </summary>
    private static readonly ConditionalWeakTable<OverlapResult, ConcurrentDictionary<string, int[]>> Orders = new();

    private static readonly ConditionalWeakTable<OverlapResult, string[]> Columns = new();

    /// <summary>A numbered page of my overlapping records in a cell, filtered and sorted by my own attributes.</summary>
    public async Task<Outcome<OverlapBrowsePage>> BrowseAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId,
        CellQuery query, CancellationToken ct)
    {
        var (cell, view, failure) = await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct);
        if (failure is not null) return failure;
        var errors = new FieldErrors()
            .Check(query.PageSize is >= 1 and <= MaxPageSize, "pageSize", $"pageSize is between 1 and {MaxPageSize}.")
            .Check(query.Page >= 1, "page", "page is 1 or more.")
            .Check(query.SortAttribute is null || AttributeNames.IsValid(query.SortAttribute), "sort", $"sort names one of your attributes: {AttributeNames.Rule}.")
            .Check(query.FilterAttribute is null || AttributeNames.IsValid(query.FilterAttribute), "filter", $"filter names one of your attributes: {AttributeNames.Rule}.")
            .Check(query.FilterText is null || query.FilterText.Length <= CellQuery.MaxFilterLength, "filterText", $"filterText is at most {CellQuery.MaxFilterLength} characters.");
        if (errors.Any) return new Failure.Invalid(errors.All);

        var filter = string.IsNullOrEmpty(query.FilterAttribute) || string.IsNullOrEmpty(query.FilterText) ? null : query.FilterText;
        var (result, columns, matching, items, invalid) = await overlaps.WithRecordsAsync(view!, cell!.Mine, cell.Theirs, async overlap =>
        {
            var result = overlap.Result;
            // The columns, a filter and a new order look at every overlapping record of mine: read them all only then
            // (the columns and orders are kept with the overlap).
            var all = filter is not null || !Columns.TryGetValue(result, out _)
                      || (query.SortAttribute is not null && !(Orders.TryGetValue(result, out var kept) && kept.ContainsKey(OrderKey(query.SortAttribute, query.Descending))))
                ? await overlaps.MyRecordsAsync(overlap, result.MyOrdinals, ct)
                : null;
            var columns = MyColumnsOf(overlap, all);
            // Orders are kept with the overlap: only the attributes my records carry may make one, so a caller cannot
            // fill memory with orders by names that do not exist.
            if (query.SortAttribute is not null && result.Count > 0 && Array.BinarySearch(columns, query.SortAttribute, StringComparer.Ordinal) < 0)
                return (result, columns, 0, new List<OverlapItem>(), true);
            var order = query.SortAttribute is null ? null : Order(overlap, all, query.SortAttribute, query.Descending);

            var skip = (long)(query.Page - 1) * query.PageSize;
            var shown = new List<int>(Math.Min(query.PageSize, result.Count));
            var matching = 0;
            for (var k = 0; k < result.Count; k++)
            {
                var i = order is null ? (query.Descending ? result.Count - 1 - k : k) : order[k];
                if (filter is not null)
                {
                    var value = all![result.MyOrdinals[i]].Attribute(query.FilterAttribute!);
                    if (value is null || value.IndexOf(filter, StringComparison.OrdinalIgnoreCase) < 0) continue;
                }
                if (matching >= skip && shown.Count < query.PageSize) shown.Add(i);
                matching++;
            }
            var (mine, theirs) = await overlaps.ItemRecordsAsync(overlap, shown, ct);
            return (result, columns, matching, shown.Select(i => Item(overlap, mine, theirs, i, cell.Sharing, cell.Theirs.Type)).ToList(), false);
        }, ct, query.Matches);
        if (invalid) return new Failure.Invalid(new FieldErrors().Check(false, "sort", "sort names one of your attributes in this cell.").All);
        await AuditReleaseAsync(caller, partnershipId, cell, items.Count, "html", null, ct, query.Matches);
        return new OverlapBrowsePage(partnershipId, new PopulationSummaryRef(cell.Mine.Id, cell.Mine.Name, cell.Mine.Type),
            new PopulationSummaryRef(cell.Theirs.Id, cell.Theirs.Name, cell.Theirs.Type), cell.Sharing,
            Released(cell, result.Count, result.PartnerCount), matching, query.Page, query.PageSize, columns, items,
            query.Matches, HashingSpecs.Compare(cell.Mine.HashingSpec, cell.Theirs.HashingSpec));
    }

    /// <summary>The attribute names my overlapping records carry, by name.</summary>
    private static string[] MyColumnsOf(CellOverlap overlap, VersionRecords? all) => Columns.GetValue(overlap.Result, result =>
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var ordinal in result.MyOrdinals)
            foreach (var attribute in all![ordinal].Attributes) names.Add(attribute.Name);
        return [.. names];
    });

    /// <summary>
    /// The overlap's indexes ordered by one of my attributes: numbers numerically (amounts), other values without regard
    /// to case, records without the attribute last; ties by record id. Computed once per overlap, attribute and direction.
    /// </summary>
    private static string OrderKey(string attribute, bool descending) => attribute + (descending ? ":desc" : ":asc");

    private static int[] Order(CellOverlap overlap, VersionRecords? all, string attribute, bool descending) =>
        Orders.GetOrCreateValue(overlap.Result).GetOrAdd(OrderKey(attribute, descending), _ =>
        {
            var result = overlap.Result;
            var keys = new SortKey[result.Count];
            for (var i = 0; i < keys.Length; i++) keys[i] = SortKey.Of(all![result.MyOrdinals[i]].Attribute(attribute), i);
            var order = new int[keys.Length];
            for (var i = 0; i < order.Length; i++) order[i] = i;
            Array.Sort(keys, order, descending ? SortKey.Descending : SortKey.Ascending);
            return order;
        });

    private readonly record struct SortKey(bool Missing, bool IsNumber, decimal Number, string Text, int Index)
    {
        public static SortKey Of(string? value, int index) => value is null
            ? new SortKey(true, false, 0, "", index)
            : decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var n)
                ? new SortKey(false, true, n, value, index)
                : new SortKey(false, false, 0, value, index);

        public static readonly IComparer<SortKey> Ascending = Comparer<SortKey>.Create((a, b) => Compare(a, b, 1));
        public static readonly IComparer<SortKey> Descending = Comparer<SortKey>.Create((a, b) => Compare(a, b, -1));

        private static int Compare(SortKey a, SortKey b, int direction)
        {
            if (a.Missing != b.Missing) return a.Missing ? 1 : -1; // missing values last, either way
            if (!a.Missing)
            {
                int c;
                if (a.IsNumber && b.IsNumber) c = a.Number.CompareTo(b.Number);
                else if (a.IsNumber != b.IsNumber) c = a.IsNumber ? -1 : 1;
                else c = StringComparer.OrdinalIgnoreCase.Compare(a.Text, b.Text);
                if (c != 0) return c * direction;
            }
            return a.Index.CompareTo(b.Index); // the list's own order (record id) breaks ties
        }
    }
}
