using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>A matrix cell as released to the viewer; <see cref="SpecMismatch"/> when the two sides were hashed under
/// different specification versions, which may cost matches.</summary>
public sealed record MatrixCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, ReleasedCount Count,
    HashingSpecMismatch? SpecMismatch = null)
{
    /// <summary>The data of one side cannot be opened with the keys held (<see cref="VersionUnreadableException"/>): no count.</summary>
    public bool Unreadable { get; init; }
}

public sealed record OverlapMatrix(
    Partnership Partnership,
    PartnerOrganization Partner,
    DateTimeOffset ComputedAt,
    IReadOnlyList<PopulationSummary> MyPopulations,
    IReadOnlyList<PartnerPopulationView> PartnerPopulations,
    IReadOnlyList<MatrixCell> Cells);

/// <summary>A partner record my record matched: on which identifiers, how sure the match is, and the fields the partner
/// shares (nothing else of it).</summary>
public sealed record PartnerMatch(IReadOnlyList<string> MatchedOn, MatchConfidence Confidence, IReadOnlyDictionary<string, string> Fields);

/// <summary>One of my overlapping records, with my own attributes and its partner matches.</summary>
public sealed record OverlapItem(string RecordId, IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<PartnerMatch> Matches, bool MatchesTruncated);

/// <summary>A page of a cell's list; <see cref="More"/> when records follow the last item.</summary>
public sealed record OverlapPage(string PartnershipId, string MyPopulationId, string PartnerPopulationId, EffectiveSharing Sharing, int TotalCount,
    IReadOnlyList<OverlapItem> Items, bool More, MatchView Matches = MatchView.Default, HashingSpecMismatch? SpecMismatch = null);

/// <summary>
/// The whole list of a cell, to be written out as it is produced: <see cref="MyColumns"/> names every attribute my
/// overlapping records carry; <see cref="Items"/> is lazy, one record at a time.
/// </summary>
public sealed record OverlapExport(PopulationSummary Mine, EffectiveSharing Sharing, IReadOnlyList<string> MyColumns, int RecordCount, IEnumerable<OverlapItem> Items);

public sealed record HistoryCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? MinimumCount, IReadOnlyList<TrendPoint> Points);

public sealed record OverlapHistoryReport(string PartnershipId, DateTimeOffset? From, DateTimeOffset To, IReadOnlyList<HistoryCell> Cells);

public sealed record NewOverlaps(string PartnershipId, string MyPopulationId, string PartnerPopulationId, EffectiveSharing Sharing, DateTimeOffset Since,
    DateTimeOffset? BaselineAt, int TotalCount, IReadOnlyList<OverlapItem> Items, bool More);

/// <summary>
/// The overlap reports a viewer reads: the matrix, a cell's list (pages or a whole export), the history and what is
/// new since a time. Each decides what it may show through the domain's disclosure rules, releases counts only through
/// <see cref="CountRelease"/> (counts-level values through the release step, <see cref="CountReleases"/>), and records
/// the release in the audit log before it answers.
/// </summary>
public sealed partial class OverlapReports(
    PartnerViews views,
    OverlapComputation overlaps,
    CountReleases countReleases,
    ICountReleaseRepository releases,
    IOverlapHistoryRepository history,
    IAuditRepository audit,
    IKeyring keyring,
    IOptions<HistoryOptions> historyOptions,
    TimeProvider time,
    ILogger<OverlapReports> logger)
{
    public const int MaxPageSize = 1000;

    public static readonly Failure NotActive = new Failure.Conflict("The partnership is not active, so it has no overlaps to report.");

    public async Task<Outcome<OverlapMatrix>> MatrixAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (!view.Partnership.SharesData) return NotActive;

        var cells = new List<MatrixCell>();
        foreach (var cell in PartnerVisibility.Cells(view))
        {
            var spec = HashingSpecs.Compare(cell.Mine.HashingSpec, cell.Theirs.HashingSpec);
            try
            {
                cells.Add(new MatrixCell(cell.Mine.Id, cell.Theirs.Id, cell.Sharing.Level, await CountOfAsync(view, cell, ct), spec));
            }
            catch (VersionUnreadableException)
            {
                // One cell whose data no key opens (a restore older than a data-key rotation) leaves the others readable:
                // the partner's matrix answered 500 as a whole for a database its operator restored.
                logger.LogWarning("A cell of partnership {PartnershipId} rests on a population version no key held can open; it reads as unreadable until the population is uploaded again",
                    partnershipId);
                cells.Add(new MatrixCell(cell.Mine.Id, cell.Theirs.Id, cell.Sharing.Level, new ReleasedCount(null, null), spec) { Unreadable = true });
            }
        }
        var now = time.GetUtcNow();
        await audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "overlaps.matrix_read", partnershipId,
            new { cells = cells.Select(c => new { c.MyPopulationId, c.PartnerPopulationId, Level = Wire(c.Level), Count = c.Count.Value }) }), ct);
        return new OverlapMatrix(view.Partnership, view.Partner, now, view.MyPopulations,
            PartnerVisibility.VisiblePopulations(view).Select(PartnerPopulationView.Of).ToList(), cells);
    }

    /// <summary>A page of my overlapping records in a cell, after my record <paramref name="afterRecordId"/> when given.</summary>
    /// <param name="matches">The default view (exact and strong matches), or possible matches too, each labelled.</param>
    public async Task<Outcome<OverlapPage>> PageAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId,
        string? afterRecordId, int limit, CancellationToken ct, MatchView matches = MatchView.Default)
    {
        var (cell, view, failure) = await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct);
        if (failure is not null) return failure;
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");

        var (result, end, items) = await overlaps.WithRecordsAsync(view!, cell!.Mine, cell.Theirs, async overlap =>
        {
            var start = afterRecordId is null ? 0 : await AfterAsync(overlap, afterRecordId, ct);
            var end = Math.Min(overlap.Result.Count, start + limit);
            var shown = Enumerable.Range(start, end - start).ToList();
            var (mine, theirs) = await overlaps.ItemRecordsAsync(overlap, shown, ct);
            return (overlap.Result, end, shown.Select(i => Item(overlap, mine, theirs, i, cell.Sharing, cell.Theirs.Type)).ToList());
        }, ct, matches);
        await AuditReleaseAsync(caller, partnershipId, cell, items.Count, "json", null, ct, matches);
        return new OverlapPage(partnershipId, myPopulationId, partnerPopulationId, cell.Sharing, Released(cell, result.Count, result.PartnerCount), items,
            end < result.Count && items.Count > 0, matches, HashingSpecs.Compare(cell.Mine.HashingSpec, cell.Theirs.HashingSpec));
    }

    /// <summary>
    /// The whole list of a cell. Its size is known before the first row is written, so its release is audited first:
    /// an answer that starts means audited (a client that disconnects mid-file received fewer rows than recorded).
    /// </summary>
    /// <param name="limit">Checked like a page's when given, though an export is whole (a client's mistake is reported, not ignored).</param>
    public async Task<Outcome<OverlapExport>> ExportAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId, int? limit,
        CancellationToken ct, MatchView matches = MatchView.Default)
    {
        var (cell, view, failure) = await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct);
        if (failure is not null) return failure;
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        // The whole list is shown: the records of every overlapping pair are read (the record blocks that hold them).
        var (overlap, mine, theirs) = await overlaps.WithRecordsAsync(view!, cell!.Mine, cell.Theirs, async overlap =>
        {
            var (mine, theirs) = await overlaps.ItemRecordsAsync(overlap, Enumerable.Range(0, overlap.Result.Count).ToList(), ct);
            return (overlap, mine, theirs);
        }, ct, matches);
        var columns = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var ordinal in overlap.Result.MyOrdinals)
            foreach (var attribute in mine[ordinal].Attributes) columns.Add(attribute.Name);
        await AuditReleaseAsync(caller, partnershipId, cell, overlap.Result.Count, "csv", null, ct, matches);
        return new OverlapExport(cell.Mine, cell.Sharing, [.. columns], Released(cell, overlap.Result.Count, overlap.Result.PartnerCount),
            Items(overlap, mine, theirs, cell.Sharing, cell.Theirs.Type));

        static IEnumerable<OverlapItem> Items(CellOverlap overlap, VersionRecords mine, VersionRecords theirs, EffectiveSharing sharing, string theirType)
        {
            for (var i = 0; i < overlap.Result.Count; i++) yield return Item(overlap, mine, theirs, i, sharing, theirType);
        }
    }

    /// <summary>How each cell that exists for me evolved between two times, released under the partner's rule in force now.</summary>
    public async Task<Outcome<OverlapHistoryReport>> HistoryAsync(Caller caller, string partnershipId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (!view.Partnership.SharesData) return NotActive;
        var end = to ?? time.GetUtcNow();
        if (from is { } start && start > end) return Failure.Invalid.Of("from", "from is not after to.");

        // A history that reaches now ends with the value the matrix shows now: the release step runs for every counts-level
        // cell first (reusing the stored value, or releasing a due one), so both read the same value for the same data.
        if (to is null)
            foreach (var cell in PartnerVisibility.Cells(view).Where(c => c.Sharing.Level == SharingLevel.Counts))
                await CountOfAsync(view, cell, ct);
        var settings = await countReleases.SettingsAsync(releases, view.Partner.Id, caller.OrganizationId, ct);
        var points = (await history.ListAsync(partnershipId, caller.OrganizationId, from, end, ct)).ToLookup(p => (p.PopulationId, p.PartnerPopulationId));
        var released = (await releases.ListAsync(partnershipId, caller.OrganizationId, from, end, ct)).ToLookup(r => (r.ViewerPopulationId, r.OwnerPopulationId));
        var cells = PartnerVisibility.Cells(view)
            .Select(c => new HistoryCell(c.Mine.Id, c.Theirs.Id, c.Sharing.Level, c.Sharing.Level == SharingLevel.Counts ? c.Sharing.MinimumCount : null,
                HistoryTrend.Render(points[(c.Mine.Id, c.Theirs.Id)].Select(p => new RecordedPoint(p.At, p.Level, p.Count, p.PartnerCount)),
                    released[(c.Mine.Id, c.Theirs.Id)].Select(r => r.Point), c.Sharing, settings.ExactCounts)))
            .ToList();
        await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, "overlaps.history_read", partnershipId,
            new { from, to = end, cells = cells.Select(c => new { c.MyPopulationId, c.PartnerPopulationId, Level = Wire(c.Level), points = c.Points.Count }) }), ct);
        return new OverlapHistoryReport(partnershipId, from, end, cells);
    }

    /// <summary>
    /// My records that overlap now and did not at the latest history point at or before <paramref name="since"/>;
    /// <paramref name="format"/> names the channel in the audit event ("json" for the API, "html" for the dashboard).
    /// </summary>
    public async Task<Outcome<NewOverlaps>> NewSinceAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId,
        DateTimeOffset since, string? afterRecordId, int limit, CancellationToken ct, string format = "json")
    {
        var (cell, view, failure) = await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct);
        if (failure is not null) return failure;
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");

        var baseline = await history.GetLatestAsync(partnershipId, caller.OrganizationId, myPopulationId, partnerPopulationId, since, withRecordIds: true, ct);
        HashSet<string> before = [];
        switch (NewSince.Judge(baseline is null ? null : new RecordedPoint(baseline.At, baseline.Level, baseline.Count, baseline.PartnerCount), baseline?.RecordIds is not null))
        {
            case NewSinceBaseline.NotSharedThen:
                return Failure.Invalid.Of("since", "At that time the partner did not share this population with you at the overlaps level; choose a later time.");
            case NewSinceBaseline.Expired:
                return Failure.Invalid.Of("since", $"History keeps the overlapping records of each point for {historyOptions.Value.RecordIdRetentionDays} days; choose a later time.");
            case NewSinceBaseline.Usable:
                using (var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct))
                    before = HistoryRecorder.OpenRecordIds(cipher, baseline!);
                break;
        }

        var (items, total, more) = await overlaps.WithRecordsAsync(view!, cell!.Mine, cell.Theirs, async overlap =>
        {
            var start = afterRecordId is null ? 0 : await AfterAsync(overlap, afterRecordId, ct);
            // Which records are new needs every overlapping record's id; the page's partner records are read after.
            var mine = await overlaps.MyRecordsAsync(overlap, overlap.Result.MyOrdinals, ct);
            var shown = new List<int>();
            var total = 0;
            var more = false;
            for (var i = 0; i < overlap.Result.Count; i++)
            {
                if (before.Contains(mine[overlap.Result.MyOrdinals[i]].RecordId)) continue;
                total++;
                if (i < start) continue;
                if (shown.Count < limit) shown.Add(i);
                else more = true;
            }
            var (_, theirs) = await overlaps.ItemRecordsAsync(overlap, shown, ct);
            return (shown.Select(i => Item(overlap, mine, theirs, i, cell.Sharing, cell.Theirs.Type)).ToList(), total, more);
        }, ct);
        await AuditReleaseAsync(caller, partnershipId, cell, items.Count, format, since, ct);
        return new NewOverlaps(partnershipId, myPopulationId, partnerPopulationId, cell.Sharing, since, baseline?.At, Released(cell, total, total), items, more);
    }

    /// <summary>
    /// A matrix cell's count: exact at the overlaps level (the list shows it anyway); at the counts level the cell's
    /// released value from the release step, which computes the overlap only when a new value is due.
    /// </summary>
    private async Task<ReleasedCount> CountOfAsync(PartnerView view, DisclosedCell cell, CancellationToken ct)
    {
        if (cell.Sharing.Level == SharingLevel.Counts)
            return await countReleases.ReadAsync(view, cell, c => overlaps.ComputeForReleaseAsync(view, cell.Mine, cell.Theirs, c), ct);
        var overlap = await overlaps.ComputeAsync(view, cell.Mine, cell.Theirs, ct);
        return CountRelease.Release(cell.Sharing, overlap.Result.Count, overlap.Result.PartnerCount);
    }

    /// <summary>
    /// Whether the caller may read this cell's records, without reading any (nothing is audited): what a page checks
    /// before it offers a form for the cell, so a cell that does not exist for the caller answers as the lists answer it.
    /// </summary>
    public async Task<Failure?> CheckRecordsAccessAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId, CancellationToken ct) =>
        (await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct)).Failure;

    /// <summary>The records of a cell, or why not: through the one access rule of the domain (<see cref="CellAccess"/>).</summary>
    private async Task<(CellAccess.Records? Cell, PartnerView? View, Failure? Failure)> RecordsAccessAsync(Caller caller, string partnershipId,
        string myPopulationId, string partnerPopulationId, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return (null, null, new Failure.NotFound("partnership"));
        return CellAccess.Decide(view, myPopulationId, partnerPopulationId) switch
        {
            CellAccess.Records records => (records, view, null),
            CellAccess.PartnershipInactive => (null, null, NotActive),
            CellAccess.NotFound nf => (null, null, new Failure.NotFound(nf.What)),
            CellAccess.CountsOnly => (null, null, new Failure.Forbidden("The partner shares only counts for this population; the matrix and the history show them.")),
            _ => throw new InvalidOperationException("Unknown cell access."),
        };
    }

    private Task AuditReleaseAsync(Caller caller, string partnershipId, CellAccess.Records cell, int rows, string format, DateTimeOffset? since, CancellationToken ct,
        MatchView matches = MatchView.Default) =>
        audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, "overlaps.released", partnershipId,
            (since, matches) switch
            {
                (null, MatchView.Default) => new { myPopulationId = cell.Mine.Id, partnerPopulationId = cell.Theirs.Id, rows, format, fields = cell.Sharing.Fields, sharedAs = SharedAs(cell) },
                (null, _) => new { myPopulationId = cell.Mine.Id, partnerPopulationId = cell.Theirs.Id, rows, format, fields = cell.Sharing.Fields, matches = "all", sharedAs = SharedAs(cell) },
                _ => (object)new { myPopulationId = cell.Mine.Id, partnerPopulationId = cell.Theirs.Id, rows, format, fields = cell.Sharing.Fields, since, sharedAs = SharedAs(cell) },
            }), ct);

    /// <summary>How the reader shares its population of the cell with the partner, for the read's audit event (<see cref="PartnerAuditView.SharedAsKey"/>).</summary>
    private static string SharedAs(CellAccess.Records cell) => PartnerAuditView.LevelName(cell.MineSharedAs);

    /// <summary>
    /// A count of a cell whose records the viewer may read, through the one release function like every other count
    /// (at the overlaps level it is the exact count: the list shows it anyway).
    /// </summary>
    private static int Released(CellAccess.Records cell, int viewerCount, int ownerCount) =>
        CountRelease.Release(cell.Sharing, viewerCount, ownerCount).Value ?? throw new InvalidOperationException("A list's count is never withheld.");

    /// <summary>The index of the first overlapping record after my record <paramref name="recordId"/>.</summary>
    private async Task<int> AfterAsync(CellOverlap overlap, string recordId, CancellationToken ct)
    {
        var ordinal = await overlaps.MyOrdinalOfAsync(overlap, recordId, ct);
        return overlap.Result.FirstAtOrAfter(ordinal >= 0 ? ordinal + 1 : ~ordinal);
    }

    /// <summary>My i-th overlapping record with, for each partner record it matched, only the fields the partner shares.</summary>
    internal static OverlapItem Item(CellOverlap overlap, VersionRecords mine, VersionRecords theirs, int i, EffectiveSharing sharing, string partnerPopulationType)
    {
        var result = overlap.Result;
        var me = mine[result.MyOrdinals[i]];
        var first = result.PairStart[i];
        var matches = new PartnerMatch[result.PairStart[i + 1] - first];
        for (var p = first; p < result.PairStart[i + 1]; p++)
            matches[p - first] = new PartnerMatch(MatchedOn(result.Kinds[p]), result.Confidences[p],
                FieldProjection.Project(theirs[result.TheirOrdinals[p]], sharing, partnerPopulationType));
        // My attributes as they are in the record (read-only), not copied into a dictionary per item.
        return new OverlapItem(me.RecordId, new AttributeMap(me.Attributes), matches, result.Truncated[i]);
    }

    /// <summary>The wire names of the identifier types of a match, per <see cref="MatchKinds"/> value (a byte): made once,
    /// not per match of every item of every page; read-only, since every answer shares them.</summary>
    private static IReadOnlyList<string> MatchedOn(MatchKinds kinds) => MatchedOnNames[(byte)kinds];

    private static readonly IReadOnlyList<string>[] MatchedOnNames = Enumerable.Range(0, 256)
        .Select(k => (IReadOnlyList<string>)IdentifierTypes.All.Where(t => (k & (1 << ((int)t - 1))) != 0).Select(t => t.WireName()).ToList().AsReadOnly())
        .ToArray();

    private static string Wire(SharingLevel level) => level.ToString().ToLowerInvariant();
}
