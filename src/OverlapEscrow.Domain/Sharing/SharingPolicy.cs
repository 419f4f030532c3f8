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
        var applicable = new SharingRule?[3];
        foreach (var rule in ownerRules)
        {
            if (rule.PopulationId != ownerPopulationId) continue;
            var rank = Rank(rule, partnershipId, partnerPopulationId);
            if (rank >= 0) applicable[rank] = rule;
        }
        var best = applicable[2] ?? applicable[1] ?? applicable[0];
        if (best is null || best.Level == SharingLevel.Hidden) return EffectiveSharing.Hidden;
        var fields = best.Level == SharingLevel.Overlaps ? best.Fields : [];
        // A more specific rule that says nothing about the minimum keeps the one its owner set less specifically:
        // overriding a level must not quietly lower a minimum of 20 back to the default.
        var minimum = applicable[2]?.MinimumCount ?? applicable[1]?.MinimumCount ?? applicable[0]?.MinimumCount ?? DefaultMinimumCount;
        return new EffectiveSharing(best.Level, fields, minimum);
    }

    /// <summary>2 for a partnership + partner population override, 1 for a partnership override, 0 for the default, -1 if it does not apply.</summary>
    private static int Rank(SharingRule rule, string partnershipId, string partnerPopulationId)
    {
        if (rule.PartnershipId is null) return rule.PartnerPopulationId is null ? 0 : -1;
        if (rule.PartnershipId != partnershipId) return -1;
        if (rule.PartnerPopulationId is null) return 1;
        return rule.PartnerPopulationId == partnerPopulationId ? 2 : -1;
    }
}
