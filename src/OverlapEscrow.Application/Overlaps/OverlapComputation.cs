using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// The overlap of one cell from one side, with the two versions it was computed from (token columns only: their
/// records are read through <see cref="OverlapComputation.MyRecordsAsync"/> and <see cref="OverlapComputation.TheirRecordsAsync"/>).
/// </summary>
public sealed record CellOverlap(OverlapResult Result, PopulationData Mine, PopulationData Theirs)
{
    /// <summary>
    /// The contribution-bounded count a counts-level release draws from (<see cref="OverlapComputation.ComputeForReleaseAsync"/>):
    /// computed with the overlap, outside the transaction that stores the release; null when not asked for.
    /// </summary>
    public int? BoundedCount { get; init; }

    internal string PartnershipId { get; init; } = "";
    internal string MyOrganizationId { get; init; } = "";
    internal string MyPopulationId { get; init; } = "";
    internal string PartnerOrganizationId { get; init; } = "";
    internal string PartnerPopulationId { get; init; } = "";
}

/// <summary>Computes (or finds cached) the overlap of one cell; the one place reports and refreshes get partner data from.</summary>
public sealed class OverlapComputation(IPopulationRepository populations, PopulationDataCache data, OverlapCache overlaps)
{
    /// <summary>The overlap of my population with the partner's, from my side. Only call it for cells the partner does not hide.</summary>
    /// <param name="matches">Which matches to keep: the default view, or possible matches too (a separate cached result).</param>
    public async Task<CellOverlap> ComputeAsync(PartnerView view, PopulationSummary mine, PopulationSummary theirs, CancellationToken ct,
        MatchView matches = MatchView.Default)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // Both loads at once (each runs on the thread pool): a cold cell costs the slower of the two, not their sum.
                var myLoad = data.GetAsync(view.MyOrganizationId, mine.Id, mine.CurrentVersionId, ct);
                var theirLoad = data.GetAsync(view.Partner.Id, theirs.Id, theirs.CurrentVersionId, ct);
                await Task.WhenAll(myLoad, theirLoad);
                var myData = await myLoad;
                var theirData = await theirLoad;
                return new CellOverlap(await overlaps.GetAsync(view.Partnership.Id, mine.Id, myData, theirs.Id, theirData, ct, matches), myData, theirData)
                {
                    PartnershipId = view.Partnership.Id, MyOrganizationId = view.MyOrganizationId, MyPopulationId = mine.Id,
                    PartnerOrganizationId = view.Partner.Id, PartnerPopulationId = theirs.Id,
                };
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                // Not damage this code can mend: the version was sealed under a key no longer held.
                throw new VersionUnreadableException(e);
            }
            catch (VersionGoneException) when (attempt < 2)
            {
                // A newer version was committed meanwhile: use it. Superseded versions leave memory at once, so under
                // frequent uploads the newest can be superseded again before it is loaded; a third try makes that a
                // matter of milliseconds twice in a row.
                mine = await populations.GetAsync(view.MyOrganizationId, mine.Id, ct) ?? mine;
                theirs = await populations.GetAsync(view.Partner.Id, theirs.Id, ct) ?? theirs;
            }
        }
    }

    /// <summary>
    /// The overlap of a counts-level cell with its contribution-bounded count (<see cref="CellOverlap.BoundedCount"/>), on the
    /// graph where each partner record's pairs depend on it alone (<see cref="OwnerLocalAsync"/>): computed here, before the
    /// caller opens the transaction that stores a release, so that the matching never holds the database's write lock.
    /// </summary>
    public async Task<CellOverlap> ComputeForReleaseAsync(PartnerView view, PopulationSummary mine, PopulationSummary theirs, CancellationToken ct)
    {
        var overlap = await ComputeAsync(view, mine, theirs, ct);
        var graph = await OwnerLocalAsync(overlap, ct);
        return overlap with { BoundedCount = ContributionBound.MatchingSize(graph) };
    }

    /// <summary>
    /// The match graph of <paramref name="overlap"/>'s versions in which each partner record's pairs depend on it alone
    /// (<see cref="OverlapEngine.OwnerLocal"/>), cached like the lists' result (per partnership and pair of versions).
    /// </summary>
    public Task<OverlapResult> OwnerLocalAsync(CellOverlap overlap, CancellationToken ct) =>
        overlaps.GetAsync(overlap.PartnershipId, overlap.MyPopulationId, overlap.Mine, overlap.PartnerPopulationId, overlap.Theirs, ct, ownerLocal: true);

    /// <summary>
    /// The overlap of a cell and what <paramref name="read"/> reads of its records. A version superseded between the two
    /// (its record blocks deleted with it) makes both start again on the newer versions, at most twice.
    /// </summary>
    public async Task<T> WithRecordsAsync<T>(PartnerView view, PopulationSummary mine, PopulationSummary theirs, Func<CellOverlap, Task<T>> read,
        CancellationToken ct, MatchView matches = MatchView.Default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var overlap = await ComputeAsync(view, mine, theirs, ct, matches);
            try
            {
                return await read(overlap);
            }
            catch (VersionGoneException) when (attempt < 2)
            {
                mine = await populations.GetAsync(view.MyOrganizationId, mine.Id, ct) ?? mine;
                theirs = await populations.GetAsync(view.Partner.Id, theirs.Id, ct) ?? theirs;
            }
        }
    }

    /// <summary>My records of the cell's version at the given ordinals (only the record blocks that hold them are read).</summary>
    public Task<VersionRecords> MyRecordsAsync(CellOverlap overlap, IEnumerable<int> ordinals, CancellationToken ct) =>
        data.RecordsAsync(overlap.MyOrganizationId, overlap.MyPopulationId, overlap.Mine, ordinals, ct);

    /// <summary>The partner's records of the cell's version at the given ordinals; callers project them through the partner's rule.</summary>
    public Task<VersionRecords> TheirRecordsAsync(CellOverlap overlap, IEnumerable<int> ordinals, CancellationToken ct) =>
        data.RecordsAsync(overlap.PartnerOrganizationId, overlap.PartnerPopulationId, overlap.Theirs, ordinals, ct);

    /// <summary>The ordinal of my record id in the cell's version, or the complement of where it would be.</summary>
    public Task<int> MyOrdinalOfAsync(CellOverlap overlap, string recordId, CancellationToken ct) =>
        data.OrdinalOfAsync(overlap.MyOrganizationId, overlap.MyPopulationId, overlap.Mine, recordId, ct);

    /// <summary>
    /// My records and their partner records for the overlap's items at <paramref name="indexes"/> (indexes into
    /// <see cref="OverlapResult.MyOrdinals"/>), read together.
    /// </summary>
    public async Task<(VersionRecords Mine, VersionRecords Theirs)> ItemRecordsAsync(CellOverlap overlap, IReadOnlyCollection<int> indexes, CancellationToken ct)
    {
        // The ordinals in two arrays (not an enumerator pair per item: two of them per item were most of what a page of
        // 50 allocated besides its answer).
        var result = overlap.Result;
        var myOrdinals = new int[indexes.Count];
        var pairs = 0;
        var k = 0;
        foreach (var i in indexes)
        {
            myOrdinals[k++] = result.MyOrdinals[i];
            pairs += result.PairStart[i + 1] - result.PairStart[i];
        }
        var theirOrdinals = new int[pairs];
        k = 0;
        foreach (var i in indexes)
            for (var p = result.PairStart[i]; p < result.PairStart[i + 1]; p++) theirOrdinals[k++] = result.TheirOrdinals[p];
        var mine = await MyRecordsAsync(overlap, myOrdinals, ct);
        var theirs = await TheirRecordsAsync(overlap, theirOrdinals, ct);
        return (mine, theirs);
    }
}
