using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A counts-level value of one cell as released to its viewer: for which data (both populations' versions), when, and
/// its stored draw. The owner is the organization whose population the viewer's is compared with; its budget paid.
/// </summary>
public sealed record StoredRelease(
    string Id,
    string PartnershipId,
    string ViewerOrganizationId,
    string ViewerPopulationId,
    string OwnerOrganizationId,
    string OwnerPopulationId,
    string ViewerVersionId,
    string OwnerVersionId,
    DateTimeOffset ReleasedAt,
    CountDraw Draw)
{
    public ReleaseStamp Stamp => new(ViewerVersionId, OwnerVersionId, ReleasedAt, Draw.IsExact);

    public ReleasedPoint Point => new(ReleasedAt, Draw);
}

/// <summary>What an owner's budget with one partner organization has spent in one period, and on how many releases.</summary>
public sealed record BudgetUse(DateTimeOffset PeriodStart, Epsilon Spent, int Releases);

/// <summary>A spend a release makes: from the owner's budget with one partner in one period, at most up to <see cref="Limit"/>.</summary>
public sealed record BudgetSpend(string OwnerOrganizationId, string PartnerOrganizationId, DateTimeOffset PeriodStart, Epsilon Amount, Epsilon Limit);

public enum ReleaseStatus
{
    /// <summary>The release was stored (and its spend made).</summary>
    Released,

    /// <summary>The cell's latest release is no longer the one expected: another release came first; nothing was written.</summary>
    Superseded,

    /// <summary>The budget cannot pay for the spend; nothing was written.</summary>
    BudgetExhausted,
}

/// <summary>What <see cref="ICountReleaseRepository.TryReleaseAsync"/> did, and the period's spending after it.</summary>
public sealed record ReleaseOutcome(ReleaseStatus Status, Epsilon SpentInPeriod);

/// <summary>An owner's privacy settings for one partner organization, and who set them when.</summary>
public sealed record StoredPrivacySettings(PrivacyOverrides Overrides, DateTimeOffset UpdatedAt, string UpdatedBy);

/// <summary>
/// Released counts-level values per cell and viewing side, the budgets they spend per owner, partner organization and
/// period, and each owner's privacy settings per partner. Lookups a request steers take the caller's organization
/// (the viewer for releases, the owner for budgets and settings) and match it in the query.
/// </summary>
/// <remarks>
/// A cell's released values are part of its history: <see cref="IOverlapHistoryRepository.DeleteCellsAsync"/> and
/// <see cref="IOverlapHistoryRepository.DeletePartnershipAsync"/> delete them with the points, and
/// <see cref="IOverlapHistoryRepository.ListCellsAsync"/> lists cells that have either. Budgets and settings are the
/// owner's and outlive a partnership (a new partnership with the same partner draws on the same budget).
/// </remarks>
public interface ICountReleaseRepository
{
    /// <summary>The cell's latest release for the viewer, or null.</summary>
    Task<StoredRelease?> GetLatestAsync(string partnershipId, string viewerOrganizationId, string viewerPopulationId, string ownerPopulationId,
        CancellationToken ct);

    /// <summary>
    /// The viewer's releases of every cell of the partnership between two times, with, per cell, the latest release before
    /// <paramref name="from"/> (the value in force at <paramref name="from"/>); by cell and time.
    /// </summary>
    Task<IReadOnlyList<StoredRelease>> ListAsync(string partnershipId, string viewerOrganizationId, DateTimeOffset? from, DateTimeOffset to,
        CancellationToken ct);

    /// <summary>
    /// Stores a release and makes its spend, as one: only if the cell's latest release is still
    /// <paramref name="expectedLatestId"/> (null: it has none), checked with a compare-and-set on the cell's head, and only
    /// if <paramref name="spend"/> (null: an exact release, which spends nothing) fits the budget's limit, checked by one
    /// conditional update. Two concurrent releases of one cell store one release and make one spend.
    /// </summary>
    Task<ReleaseOutcome> TryReleaseAsync(StoredRelease release, string? expectedLatestId, BudgetSpend? spend, CancellationToken ct);

    /// <summary>What the owner's budget with the partner spent in the period starting at <paramref name="periodStart"/> (zero when nothing).</summary>
    Task<BudgetUse> GetBudgetAsync(string ownerOrganizationId, string partnerOrganizationId, DateTimeOffset periodStart, CancellationToken ct);

    /// <summary>The owner's settings for the partner, or null when it has set none (the escrow's defaults apply).</summary>
    Task<StoredPrivacySettings?> GetSettingsAsync(string ownerOrganizationId, string partnerOrganizationId, CancellationToken ct);

    /// <summary>Replaces the owner's settings for the partner.</summary>
    Task SetSettingsAsync(string ownerOrganizationId, string partnerOrganizationId, StoredPrivacySettings settings, CancellationToken ct);
}
