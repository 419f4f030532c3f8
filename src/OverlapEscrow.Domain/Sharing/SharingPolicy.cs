namespace OverlapEscrow.Domain.Sharing;

/// <summary>How a partner's view of an owner's population is decided and rendered.</summary>
public static class SharingPolicy
{
    /// <summary>
    /// Counts below this are reported only as "fewer than N" unless the owner sets another minimum. With a
    /// minimum of 1 a partner could upload a one-account list and read 0 or 1, i.e. test membership of a single
    /// account; a minimum of 5 makes that read return "fewer than 5" whatever the answer.
    /// </summary>
    public const int DefaultMinimumCount = 5;

    public const int MaxFields = 32;

    /// <summary>
    /// The rule in force for the owner's population as seen from one of the partner's populations: the most
    /// specific of (partnership + partner population), (partnership), (population default); hidden when none.
    /// New populations therefore stay hidden until their owner shares them.
    /// </summary>
    public static EffectiveSharing Resolve(IEnumerable<SharingRule> ownerRules, string ownerPopulationId, string partnershipId, string partnerPopulationId)
    {
        SharingRule? best = null;
        var bestRank = -1;
        foreach (var rule in ownerRules)
        {
            if (rule.PopulationId != ownerPopulationId) continue;
            int rank;
            if (rule.PartnershipId is null) rank = rule.PartnerPopulationId is null ? 0 : -1;
            else if (rule.PartnershipId != partnershipId) rank = -1;
            else if (rule.PartnerPopulationId is null) rank = 1;
            else rank = rule.PartnerPopulationId == partnerPopulationId ? 2 : -1;
            if (rank > bestRank) { best = rule; bestRank = rank; }
        }
        if (best is null || best.Level == SharingLevel.Hidden) return EffectiveSharing.Hidden;
        var fields = best.Level == SharingLevel.Overlaps ? best.Fields : [];
        return new EffectiveSharing(best.Level, fields, best.MinimumCount ?? DefaultMinimumCount);
    }

    /// <summary>
    /// The count a viewer may read for a cell, or null when the rule forbids reporting it exactly.
    /// At the counts level a count below the minimum (zero included: "0" answers a membership probe just as
    /// well as "1") is withheld. At the overlaps level the list itself is visible, so the count is too.
    /// </summary>
    public static int? ReportableCount(EffectiveSharing sharing, int count) => sharing.Level switch
    {
        SharingLevel.Overlaps => count,
        SharingLevel.Counts => count >= sharing.MinimumCount ? count : null,
        _ => null,
    };
}
