namespace OverlapEscrow.Data.Partnerships;

/// <summary>Partnerships between organizations and the sharing rules owners set on their populations.</summary>
public interface IPartnershipRepository
{
    /// <summary>False when the two organizations already have an open (invited or active) partnership.</summary>
    Task<bool> CreateAsync(PartnershipRow partnership, CancellationToken ct = default);

    /// <summary>The partnership if the organization is one of its two sides; null otherwise (callers answer 404).</summary>
    Task<PartnershipRow?> GetAsync(string organizationId, string partnershipId, CancellationToken ct = default);
    Task<IReadOnlyList<PartnershipRow>> ListAsync(string organizationId, CancellationToken ct = default);

    /// <summary>Moves a partnership from one status to another; false when it was no longer in the expected status.</summary>
    Task<bool> TransitionAsync(string partnershipId, string fromStatus, string toStatus, long at, CancellationToken ct = default);

    /// <summary>All rules an organization has set (defaults and overrides for every partnership).</summary>
    Task<IReadOnlyList<SharingRuleRow>> ListRulesAsync(string organizationId, CancellationToken ct = default);

    /// <summary>Replaces the population default rules given (population ids of the organization, checked by the caller).</summary>
    Task ReplaceDefaultRulesAsync(string organizationId, IReadOnlyList<SharingRuleRow> rules, CancellationToken ct = default);

    /// <summary>Replaces every override the organization has for one partnership with the given ones, atomically.</summary>
    Task ReplacePartnershipRulesAsync(string organizationId, string partnershipId, IReadOnlyList<SharingRuleRow> rules, CancellationToken ct = default);
}
