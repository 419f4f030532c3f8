using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// A cell whose history gained a point: its counts before (zero when it had no point) and now, and the level the point
/// before was recorded under (null when there was none).
/// </summary>
public sealed record CellChange(string MyPopulationId, string PartnerPopulationId, int PreviousCount, int PreviousPartnerCount, int Count, int PartnerCount,
    SharingLevel? PreviousLevel);

/// <summary>
/// A counts-level cell that got a new release: the release before it (null when it had none) and the new one, with
/// when the new one may next change.
/// </summary>
public sealed record ReleaseChange(string MyPopulationId, string PartnerPopulationId, ReleasedPoint? Previous, ReleasedPoint Current, DateTimeOffset? RefreshesAt);

/// <summary>
/// A changed cell as an overlaps.changed notice may tell it to its viewer: both values released under the rule in force,
/// and at the counts level that rule's minimum reportable count (what a later withdrawal compares the rule of then with).
/// </summary>
public sealed record NoticeCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, ReleasedCount Count, ReleasedCount Previous,
    int? MinimumCount = null);

/// <summary>What a change notice (the overlaps.changed webhook event) may carry, and whether it may still be sent.</summary>
public static class ChangeNotice
{
    /// <summary>
    /// The cells the viewer of <paramref name="view"/> may be told about: only cells that exist for it, and only when
    /// what it may read of them changed, both values released under the rule in force (no partner fields, no record
    /// ids, no hidden cells). Empty when nothing visible changed: then no notice is sent.
    /// <list type="bullet">
    /// <item>At the overlaps level, from the recorded changes of the cell (exact counts).</item>
    /// <item>At the counts level, only from new releases (<paramref name="releases"/>): the values the matrix shows, the
    /// previous release against the new one. A recorded change of a counts-level cell never makes a notice by itself:
    /// whether a notice comes would otherwise say whether the exact count moved (upload one more account, see whether
    /// an event comes: a membership test). A release that reads the same as the one before (both withheld, say) is
    /// left out for the same reason.</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<NoticeCell> For(PartnerView view, IEnumerable<CellChange> changes, IEnumerable<ReleaseChange> releases)
    {
        var cells = new List<NoticeCell>();
        if (!view.Partnership.SharesData) return cells;
        var visible = PartnerVisibility.VisiblePopulations(view).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var c in changes)
        {
            if (!visible.Contains(c.PartnerPopulationId)) continue;
            var sharing = view.PartnerShares(c.MyPopulationId, c.PartnerPopulationId);
            if (sharing.Level != SharingLevel.Overlaps) continue;
            // A point recorded while the cell was counts-only holds an exact count the viewer never read: it stays under the
            // counts rule (history.md), so after a raise to overlaps the value before is absent, not that count.
            var before = c.PreviousLevel is null or SharingLevel.Overlaps
                ? CountRelease.Release(sharing, c.PreviousCount, c.PreviousPartnerCount)
                : new ReleasedCount(null, null);
            var after = CountRelease.Release(sharing, c.Count, c.PartnerCount);
            if (before.Value == after.Value) continue;
            cells.Add(new NoticeCell(c.MyPopulationId, c.PartnerPopulationId, sharing.Level, after, before));
        }
        foreach (var r in releases)
        {
            if (!visible.Contains(r.PartnerPopulationId)) continue;
            var sharing = view.PartnerShares(r.MyPopulationId, r.PartnerPopulationId);
            if (sharing.Level != SharingLevel.Counts) continue;
            var before = r.Previous is { } previous
                ? CountRelease.Show(sharing, previous.Draw, previous.At, null, ReleaseState.Current)
                : CountRelease.Empty(sharing);
            var after = CountRelease.Show(sharing, r.Current.Draw, r.Current.At, r.RefreshesAt, ReleaseState.Current);
            if (before.Value == after.Value) continue;
            cells.Add(new NoticeCell(r.MyPopulationId, r.PartnerPopulationId, sharing.Level, after, before, sharing.MinimumCount));
        }
        return cells;
    }

    /// <summary>
    /// Why a notice rendered earlier must no longer be sent, or null when it may. It was rendered under the rules in
    /// force when the change happened; if the partnership has ended since (or is not the viewer's: <paramref name="view"/>
    /// null), a cell it names is hidden now or shared at another level, or a counts-level value in it is one the rules
    /// of now would not show — exact while the partner no longer gives exact counts (<paramref name="exactCountsNow"/>),
    /// or below the minimum reportable count it has raised since — sending it would release what the owner has since
    /// withdrawn. A revocation takes effect on the very next notice, retries included.
    /// </summary>
    /// <remarks>
    /// A noised value is what the minimum was compared with (<see cref="CountDraw.Gate"/> equals it), so it is withdrawn
    /// when below the minimum of now. An exact value was compared through the smaller of both sides' counts, which the
    /// notice does not carry, and a withheld one says "below the minimum of then": both are withdrawn once the minimum is
    /// higher than the one the notice was rendered under (<see cref="SentCell.MinimumCount"/>). A notice rendered before
    /// it carried that minimum for every counts-level cell is judged on its values only.
    /// </remarks>
    public static string? WithdrawalReason(PartnerView? view, IEnumerable<SentCell> cells, bool exactCountsNow)
    {
        if (view is null || !view.Partnership.SharesData) return "Withdrawn: the partnership is no longer active.";
        foreach (var cell in cells)
        {
            var now = view.PartnerShares(cell.MyPopulationId, cell.PartnerPopulationId);
            if (now.Level == SharingLevel.Hidden || now.Level != cell.Level) return "Withdrawn: the partner changed what it shares since the event.";
            if (cell.Level != SharingLevel.Counts) continue;
            if (cell.Exact && !exactCountsNow) return "Withdrawn: the partner no longer gives exact counts.";
            // A value below the minimum of now; or, once the minimum was raised, an exact value (its gate is not in the
            // notice) or a withheld one (its "below the minimum" is the old bound).
            if (cell.Count < now.MinimumCount || cell.PreviousCount < now.MinimumCount
                || (cell.MinimumCount is { } rendered && now.MinimumCount > rendered && (cell.Exact || cell.Count is null)))
                return "Withdrawn: the partner raised its minimum reportable count since the event.";
        }
        return null;
    }

    /// <summary>
    /// Why a joint-opportunity notice (my record ids that overlap the partner's opportunities population
    /// <paramref name="partnerPopulationId"/>) rendered earlier must no longer be sent, or null when it may: the ids are a
    /// derived overlap result, released only while the partnership is active and the population still shared with me at
    /// the overlaps level. A notice rendered before it named the population (null) is withdrawn.
    /// </summary>
    public static string? JointOpportunityWithdrawalReason(PartnerView? view, string myPopulationId, string? partnerPopulationId)
    {
        if (view is null || !view.Partnership.SharesData) return "Withdrawn: the partnership is no longer active.";
        // One rendered before it named the population cannot be judged: withdrawn. Its opportunities are not announced again
        // (the history's point already holds them); the co-selling page still lists them while the rules allow.
        if (partnerPopulationId is null) return "Withdrawn: the event does not name the partner population it overlaps.";
        if (view.PartnerShares(myPopulationId, partnerPopulationId).Level != SharingLevel.Overlaps)
            return "Withdrawn: the partner changed what it shares since the event.";
        return null;
    }
}

/// <summary>
/// A cell as a rendered notice carries it: the level it was released at and, at the counts level, its values, whether
/// they were exact (not noised) and the minimum reportable count they were rendered under.
/// </summary>
public sealed record SentCell(string MyPopulationId, string PartnerPopulationId, SharingLevel Level, int? Count = null, int? PreviousCount = null,
    bool Exact = false, int? MinimumCount = null);
