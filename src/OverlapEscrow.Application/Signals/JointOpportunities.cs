using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Signals;

/// <summary>
/// The data of coselling.joint_opportunity: my open opportunities that newly overlap a partner's opportunities
/// population (<see cref="PartnerPopulationId"/>) shared with me at the overlaps level. Everything else in it is the
/// receiver's own (its population, its record ids) or the partner's identity, as in a partnership event; no partner
/// field or count. The record ids are an overlap result all the same: a delivery is withdrawn when, by the time it is
/// sent, the partnership has ended or that population is no longer shared with me at the overlaps level
/// (<c>ChangeNotice.JointOpportunityWithdrawalReason</c>). <see cref="Text"/> is a line a Slack incoming webhook can post
/// (docs/webhooks.md shows the adapter).
/// </summary>
/// <remarks>
/// <see cref="Opportunities"/> lists at most <see cref="JointOpportunities.MaxListed"/> of them (<see cref="Count"/> says how many
/// there are), so one refresh of a large population cannot put a whole list into a webhook payload. <see cref="Text"/>
/// is written for Slack: the names and ids in it have Slack's control characters escaped.
/// </remarks>
public sealed record JointOpportunityNotice(string PartnershipId, PartnershipNotice.OtherSide Partner, string MyPopulationId, string MyPopulationName,
    string PartnerPopulationId, IReadOnlyList<string> Opportunities, string Text, int Count);

/// <summary>
/// Detects new joint opportunities while the refresher records a side's history: before the new points are written, it
/// compares, for each joint cell at the overlaps level, my open opportunities in the overlap now with the record ids of
/// the cell's latest point. Runs in the refresh's unit of work and publishes only when that unit recorded a change, so
/// the event commits with the history it was read from, and of two refreshers that saw the same change (the history's
/// compare-and-set lets one record it) only one reports it.
/// </summary>
public sealed class JointOpportunities(IKeyring keyring, IEventPublisher events, TimeProvider time, Overlaps.OverlapComputation overlaps)
{
    public const string Type = "coselling.joint_opportunity";

    /// <summary>Record ids listed in one event at most.</summary>
    public const int MaxListed = 100;

    /// <summary>
    /// Text as Slack reads it literally: "&amp;", "&lt;" and "&gt;" escaped, as Slack's message formatting asks
    /// (api.slack.com, "Formatting text for app surfaces", escaping), so a partner's name cannot become a mention or a
    /// disguised link.
    /// </summary>
    public static string SlackEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>The new joint opportunities of one side, per cell; call before the side's points are recorded.</summary>
    public async Task<IReadOnlyList<JointOpportunityNotice>> DetectAsync(IUnitOfWork uow, PartnerView view,
        IReadOnlyList<(DisclosedCell Cell, CellOverlap Overlap)> computed, CancellationToken ct)
    {
        var notices = new List<JointOpportunityNotice>();
        var joint = computed.Where(c => c.Cell.Sharing.Level == SharingLevel.Overlaps
                                        && CoSellingRules.KindOf(c.Cell.Mine.Type, c.Cell.Theirs.Type) == SignalKind.Joint).ToList();
        if (joint.Count == 0) return notices;
        using var cipher = await keyring.ForOrganizationAsync(view.MyOrganizationId, ct);
        foreach (var (cell, overlap) in joint)
        {
            var latest = await uow.History.GetLatestAsync(view.Partnership.Id, view.MyOrganizationId, cell.Mine.Id, cell.Theirs.Id, DateTimeOffset.MaxValue, withRecordIds: true, ct);
            // A latest point without ids (recorded at counts, or cleared) gives no baseline: nothing is announced as new.
            if (latest is not null && (latest.Level != SharingLevel.Overlaps || latest.RecordIds is null)) continue;
            var before = latest is null ? [] : HistoryRecorder.OpenRecordIds(cipher, latest);
            var added = new SortedSet<string>(StringComparer.Ordinal);
            var mine = await overlaps.MyRecordsAsync(overlap, overlap.Result.MyOrdinals, ct);
            for (var i = 0; i < overlap.Result.Count; i++)
            {
                var record = mine[overlap.Result.MyOrdinals[i]];
                if (!before.Contains(record.RecordId) && OpportunityFields.Read(record).Open) added.Add(record.RecordId);
            }
            if (added.Count == 0) continue;
            var shown = added.Take(10).ToList();
            var text = $"New joint opportunit{(added.Count == 1 ? "y" : "ies")} with {SlackEscape(view.Partner.Name)}: {SlackEscape(string.Join(", ", shown))}"
                       + (added.Count > shown.Count ? $" and {added.Count - shown.Count} more" : "") + $" ({SlackEscape(cell.Mine.Name)}).";
            notices.Add(new JointOpportunityNotice(view.Partnership.Id, new PartnershipNotice.OtherSide(view.Partner.Slug, view.Partner.Name),
                cell.Mine.Id, cell.Mine.Name, cell.Theirs.Id, [.. added.Take(MaxListed)], text, added.Count));
        }
        return notices;
    }

    public async Task PublishAsync(IUnitOfWork uow, string organizationId, IReadOnlyList<JointOpportunityNotice> notices, CancellationToken ct)
    {
        foreach (var notice in notices) await events.PublishAsync(uow, organizationId, Type, notice, time.GetUtcNow(), ct);
    }
}
