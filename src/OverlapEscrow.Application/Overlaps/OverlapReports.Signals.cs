using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Overlaps;

public sealed partial class OverlapReports
{
    /// <summary>
    /// A co-selling signal's records of a cell: the cell's list (the partner's rule applied, its fields projected, as
    /// <see cref="ExportAsync"/> reads it) narrowed to the records the signal shows. Audited before it answers as what
    /// it is, <see cref="SignalRead"/> — which signal, the cell, how many records and which fields it revealed — not as
    /// a whole-cell CSV export: the partner's audit view (PartnerAuditView) shows it like a list read.
    /// </summary>
    /// <param name="signal">The signal read: joint, reference, reciprocal or unattached.</param>
    /// <param name="shows">Whether the signal shows one of the cell's records (my open opportunity, say).</param>
    public async Task<Outcome<IReadOnlyList<OverlapItem>>> SignalItemsAsync(Caller caller, string partnershipId, string myPopulationId, string partnerPopulationId,
        string signal, Func<OverlapItem, bool> shows, CancellationToken ct)
    {
        var (cell, view, failure) = await RecordsAccessAsync(caller, partnershipId, myPopulationId, partnerPopulationId, ct);
        if (failure is not null) return failure;
        var (overlap, mine, theirs) = await overlaps.WithRecordsAsync(view!, cell!.Mine, cell.Theirs, async overlap =>
        {
            var (mine, theirs) = await overlaps.ItemRecordsAsync(overlap, Enumerable.Range(0, overlap.Result.Count).ToList(), ct);
            return (overlap, mine, theirs);
        }, ct);
        var items = new List<OverlapItem>();
        for (var i = 0; i < overlap.Result.Count; i++)
        {
            var item = Item(overlap, mine, theirs, i, cell.Sharing, cell.Theirs.Type);
            if (shows(item)) items.Add(item);
        }
        await audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, SignalRead, partnershipId,
            new { myPopulationId = cell.Mine.Id, partnerPopulationId = cell.Theirs.Id, rows = items.Count, signal, fields = cell.Sharing.Fields, sharedAs = SharedAs(cell) }), ct);
        return items;
    }

    /// <summary>The audit action of a co-selling signal's read of a cell's records.</summary>
    public const string SignalRead = "coselling.signal_read";
}
