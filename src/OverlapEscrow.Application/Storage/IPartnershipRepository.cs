using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Storage;

/// <summary>Partnerships between organizations and the sharing rules owners set on their populations.</summary>
public interface IPartnershipRepository
{
    /// <summary>False when the two organizations already have an open (invited or active) partnership.</summary>
    Task<bool> CreateAsync(Partnership partnership, CancellationToken ct);

    /// <summary>The partnership if the organization is one of its two sides; null otherwise (callers answer 404).</summary>
    Task<Partnership?> GetAsync(string organizationId, string partnershipId, CancellationToken ct);
    Task<IReadOnlyList<Partnership>> ListAsync(string organizationId, CancellationToken ct);

    /// <summary>
    /// Holds the partnership's row until the unit of work ends: every change of what either side shares in it takes it
    /// (<c>PermissionWithdrawal</c>), and so does the overlap refresher before it records under the rules it reads again,
    /// so a refresh never records a cell a change committed meanwhile hides (PostgreSQL: FOR NO KEY UPDATE, which a foreign-key check of
    /// a row referencing it does not wait for; on SQLite the write transaction already excludes every other writer). Several are taken in the order of their ids.
    /// </summary>
    Task LockAsync(string partnershipId, CancellationToken ct);

    /// <summary>
    /// Moves a partnership from one status to another, locking its row; false when it was no longer in the expected
    /// status (another request moved it first).
    /// </summary>
    Task<bool> TransitionAsync(string partnershipId, PartnershipStatus from, PartnershipStatus to, DateTimeOffset at, CancellationToken ct);

    /// <summary>All rules an organization has set (defaults and overrides for every partnership).</summary>
    Task<IReadOnlyList<SharingRule>> ListRulesAsync(string organizationId, CancellationToken ct);

    /// <summary><see cref="ListRulesAsync"/> of two organizations in one statement (a partner view reads both sides' rules).</summary>
    Task<(IReadOnlyList<SharingRule> First, IReadOnlyList<SharingRule> Second)> ListRulesBothAsync(string firstOrganizationId,
        string secondOrganizationId, CancellationToken ct);

    /// <summary>Replaces the default rules of the populations given (populations of the organization, checked by the caller).</summary>
    Task ReplaceDefaultRulesAsync(string organizationId, IReadOnlyList<SharingRule> rules, DateTimeOffset at, CancellationToken ct);

    /// <summary>Replaces every override the organization has for one partnership with the given ones, atomically.</summary>
    Task ReplacePartnershipRulesAsync(string organizationId, string partnershipId, IReadOnlyList<SharingRule> rules, DateTimeOffset at, CancellationToken ct);
}
