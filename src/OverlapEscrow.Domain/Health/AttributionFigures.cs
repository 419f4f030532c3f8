using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Domain.Health;

/// <summary>How many opportunities and how much of their amount (in the figures' currency).</summary>
public sealed record AttributedAmount(int Count, decimal Amount);

/// <summary>Sourced, influenced and disputed pipeline and revenue of the period: all partners together, or one.</summary>
public sealed record AttributionSplit(
    AttributedAmount SourcedPipeline,
    AttributedAmount SourcedRevenue,
    AttributedAmount InfluencedPipeline,
    AttributedAmount InfluencedRevenue,
    AttributedAmount DisputedPipeline,
    AttributedAmount DisputedRevenue);

/// <summary>
/// The leadership report's attribution figures (docs/health.md, "Leadership report"): overall and per partnership, and
/// the attach rate — <see cref="Attached"/> of <see cref="InPeriod"/> opportunities with at least one standing claim.
/// </summary>
public sealed record AttributionFigures(AttributionSplit Overall, IReadOnlyDictionary<string, AttributionSplit> PerPartnership, int InPeriod, int Attached)
{
    public double? AttachRate => InPeriod == 0 ? null : (double)Attached / InPeriod;
}

/// <summary>
/// Sourced and influenced pipeline and revenue from the attribution ledger, over my own opportunities. Only my own
/// claims count (what my organization recorded about its pipeline); nothing of the partner's data goes in but its
/// answer to a claim that names it, which it gave to me.
/// </summary>
/// <remarks>
/// Decisions (the issue was silent): a claim <em>stands</em> when it is confirmed or not yet answered (uncontested);
/// a disputed claim does not count as sourced or influenced, and the opportunities with a disputed claim are shown
/// apart. <b>Pipeline</b> of the period: opportunities created in it (created_date inside the period), whatever their
/// state now; <b>revenue</b>: opportunities won with a close date inside it. An opportunity is counted once in a role
/// however many partners claim it in that role; one claimed as sourced by one partner and influenced by another counts
/// in both (the two roles are not added up). The attach rate is over my opportunities "in the period": created in it,
/// or closed in it.
/// </remarks>
public static class AttributionFiguresOf
{
    /// <summary>A claim of my ledger as the figures read it.</summary>
    public sealed record Claim(string RecordId, string PartnershipId, AttributionRole Role, AttributionStatus Status)
    {
        public bool Stands => Status != AttributionStatus.Disputed;
    }

    public static AttributionFigures Compute(IReadOnlyList<Opportunity> mine, IReadOnlyList<Claim> claims, string currency, FigurePeriod period)
    {
        var byRecord = claims.GroupBy(c => c.RecordId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var overall = Split(mine, byRecord, currency, period, _ => true);
        var perPartnership = claims.Select(c => c.PartnershipId).Distinct(StringComparer.Ordinal)
            .ToDictionary(p => p, p => Split(mine, byRecord, currency, period, c => c.PartnershipId == p), StringComparer.Ordinal);
        int inPeriod = 0, attached = 0;
        foreach (var o in mine)
        {
            if (!InPeriod(o, period)) continue;
            inPeriod++;
            if (byRecord.TryGetValue(o.RecordId, out var list) && list.Any(c => c.Stands)) attached++;
        }
        return new AttributionFigures(overall, perPartnership, inPeriod, attached);
    }

    private static bool InPeriod(Opportunity o, FigurePeriod period) =>
        o.CreatedDate is { } created && period.Contains(created) || o.Closed && o.CloseDate is { } closed && period.Contains(closed);

    private static AttributionSplit Split(IReadOnlyList<Opportunity> mine, Dictionary<string, List<Claim>> byRecord, string currency, FigurePeriod period, Func<Claim, bool> which)
    {
        var sums = new (int Count, decimal Amount)[6];
        foreach (var o in mine)
        {
            if (!byRecord.TryGetValue(o.RecordId, out var all)) continue;
            var list = all.Where(which).ToList();
            if (list.Count == 0) continue;
            var amount = o.Amount is { } a && string.Equals(o.Currency, currency, StringComparison.Ordinal) ? a : 0;
            var pipeline = o.CreatedDate is { } created && period.Contains(created);
            var revenue = o.Won && o.CloseDate is { } closed && period.Contains(closed);
            void Add(int slot)
            {
                if (pipeline) { sums[slot].Count++; sums[slot].Amount += amount; }
                if (revenue) { sums[slot + 1].Count++; sums[slot + 1].Amount += amount; }
            }
            if (list.Any(c => c.Stands && c.Role == AttributionRole.Sourced)) Add(0);
            if (list.Any(c => c.Stands && c.Role == AttributionRole.Influenced)) Add(2);
            if (list.Any(c => !c.Stands)) Add(4);
        }
        AttributedAmount At(int i) => new(sums[i].Count, sums[i].Amount);
        return new AttributionSplit(At(0), At(1), At(2), At(3), At(4), At(5));
    }
}
