using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// A point of a cell's overlap history as recorded for one viewer: when, the owner's level then (counts or
/// overlaps), the viewer's overlapping records and the owner's records they overlapped with.
/// </summary>
public sealed record RecordedPoint(DateTimeOffset At, SharingLevel Level, int Count, int PartnerCount);

/// <summary>A counts-level value of a cell as it was released: when, and its stored draw.</summary>
public sealed record ReleasedPoint(DateTimeOffset At, CountDraw Draw);

/// <summary>A point of a trend as the viewer may read it.</summary>
public sealed record TrendPoint(DateTimeOffset At, ReleasedCount Count);

/// <summary>How a cell's recorded history is shown to its viewer.</summary>
public static class HistoryTrend
{
    /// <summary>
    /// The trend of one cell under the owner's rule in force now (never hidden: a hidden cell has no history for the
    /// viewer, whatever it was when recorded):
    /// <list type="bullet">
    /// <item>Every counts-level value in it is a release (<paramref name="releases"/>): the values the matrix and the
    /// webhooks showed, shown again (<see cref="CountRelease.Show"/>). The exact counts of points recorded while the
    /// owner shared only counts are never shown, not even once the owner shares overlaps: raising the level must not
    /// reveal past single-account memberships.</item>
    /// <item>Exact releases (made while the owner chose exact counts) are shown only while it still does
    /// (<paramref name="exactCountsNow"/>): switching exact counts off withdraws them, history included.</item>
    /// <item>Points recorded at the overlaps level are exact, and shown only while the owner shares overlaps now.</item>
    /// <item>The trend starts from what an empty cell reads (withheld), and consecutive points that read the same are
    /// merged: a run of withheld values does not say that anything moved.</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<TrendPoint> Render(IEnumerable<RecordedPoint> points, IEnumerable<ReleasedPoint> releases, EffectiveSharing now,
        bool exactCountsNow = false)
    {
        if (now.Level == SharingLevel.Hidden) return [];
        var countsRule = now with { Level = SharingLevel.Counts, Fields = [] };
        var values = releases.Where(r => !r.Draw.IsExact || exactCountsNow).Select(r => new TrendPoint(r.At, CountRelease.Show(countsRule, r.Draw, r.At, null, ReleaseState.Current))).ToList();
        if (now.Level == SharingLevel.Overlaps)
            values.AddRange(points.Where(p => p.Level == SharingLevel.Overlaps).Select(p => new TrendPoint(p.At, CountRelease.Release(now, p.Count, p.PartnerCount))));
        var trend = new List<TrendPoint>();
        int? last = null;
        foreach (var point in values.OrderBy(p => p.At))
        {
            if (point.Count.Value == last) continue;
            trend.Add(point);
            last = point.Count.Value;
        }
        return trend;
    }
}

/// <summary>Whether the recorded point a "new since" list would start from may be used.</summary>
public enum NewSinceBaseline
{
    /// <summary>No point at or before the time: every record that overlaps now is new.</summary>
    None,

    /// <summary>The point's overlapping records are the baseline.</summary>
    Usable,

    /// <summary>The owner shared the cell below the overlaps level then, so which records overlapped is not the viewer's to learn.</summary>
    NotSharedThen,

    /// <summary>The point's records were cleared after the retention period.</summary>
    Expired,
}

/// <summary>The baseline rule of "what is new since a time".</summary>
public static class NewSince
{
    /// <summary>
    /// Judges the latest point at or before the chosen time. Which of the viewer's records overlapped is kept only while
    /// the owner shared the list at the overlaps level, and only for the retention period.
    /// </summary>
    public static NewSinceBaseline Judge(RecordedPoint? baseline, bool recordIdsKept) =>
        baseline is null ? NewSinceBaseline.None
        : baseline.Level != SharingLevel.Overlaps ? NewSinceBaseline.NotSharedThen
        : !recordIdsKept ? NewSinceBaseline.Expired
        : NewSinceBaseline.Usable;
}

/// <summary>What of a cell's history is kept for its viewer, and what goes when the owner withdraws it.</summary>
public static class HistoryRetention
{
    /// <summary>
    /// Whether a point records which of the viewer's records overlapped: only while the owner shares the cell at the
    /// overlaps level. Below it, which of its records overlapped is not the viewer's to learn, even after the owner
    /// starts sharing the list.
    /// </summary>
    public static bool KeepsRecordIds(SharingLevel level) => level == SharingLevel.Overlaps;

    /// <summary>
    /// The cells (my population, partner population) whose history the viewer of <paramref name="view"/> must lose now:
    /// those the partner hides from it. A hidden cell does not exist for the viewer, and what was derived from it while
    /// it was shared goes with the permission. After the partnership ends, every cell goes.
    /// </summary>
    public static IReadOnlyList<(string MyPopulationId, string PartnerPopulationId)> ToForget(PartnerView view,
        IEnumerable<(string MyPopulationId, string PartnerPopulationId)> recordedCells) =>
        recordedCells.Where(c => view.Partnership.Status == Partnerships.PartnershipStatus.Terminated
                                 || view.PartnerShares(c.MyPopulationId, c.PartnerPopulationId).Level == SharingLevel.Hidden).ToList();
}
