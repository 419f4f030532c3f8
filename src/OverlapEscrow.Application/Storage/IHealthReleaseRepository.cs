using OverlapEscrow.Domain.Health;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A pipeline figure over a counts-only cell as released to its viewer (docs/health.md): which figure, for which period
/// and currency, for which data (keys of both sides' populations and versions), which of the owner's populations it
/// rests on, when, and its draw. The owner is the partner organization whose counts-only data it reveals; its budget paid.
/// </summary>
public sealed record StoredHealthRelease(
    string Id,
    string PartnershipId,
    string ViewerOrganizationId,
    string OwnerOrganizationId,
    HealthFigure Figure,
    string Period,
    string Currency,
    string ViewerDataKey,
    string OwnerDataKey,
    IReadOnlyList<string> OwnerPopulationIds,
    DateTimeOffset ReleasedAt,
    FigureDraw Draw);

/// <summary>
/// Released health figures. One release per (partnership, viewer, figure, period, currency, data of both sides, exact or
/// noised), enforced by a unique key, so two concurrent reads store one release and make one spend.
/// </summary>
public interface IHealthReleaseRepository
{
    /// <summary>The latest release of the figure for the viewer, period and currency (of the kind asked: exact or noised), or null.</summary>
    Task<StoredHealthRelease?> GetLatestAsync(string partnershipId, string viewerOrganizationId, HealthFigure figure, string period, string currency, bool exact,
        CancellationToken ct);

    /// <summary>
    /// Stores a release and makes its spend, as one: <see cref="ReleaseStatus.Superseded"/> (nothing written) when a
    /// release for the same key exists already; <see cref="ReleaseStatus.BudgetExhausted"/> (nothing written) when
    /// <paramref name="spend"/> does not fit the budget's limit (the conditional update of <see cref="ICountReleaseRepository"/>'s budgets).
    /// </summary>
    Task<ReleaseOutcome> TryReleaseAsync(StoredHealthRelease release, BudgetSpend? spend, CancellationToken ct);

    /// <summary>
    /// The latest release of the all-partner coverage (<see cref="HealthFigure.OverallCoverage"/>) for the viewer, period
    /// and currency: its rows, one per partnership whose budget paid for it (the same draw in each), or none. With
    /// <paramref name="viewerDataKey"/> and <paramref name="ownerDataKey"/>, the latest release for exactly that data.
    /// </summary>
    Task<IReadOnlyList<StoredHealthRelease>> GetLatestOverallAsync(string viewerOrganizationId, string period, string currency, CancellationToken ct,
        string? viewerDataKey = null, string? ownerDataKey = null);

    /// <summary>
    /// Stores one all-partner release (its rows, one per partnership charged) and pays each spend, as one:
    /// <see cref="ReleaseStatus.Superseded"/> when a release for the same data exists already (nothing written);
    /// <see cref="ReleaseStatus.BudgetExhausted"/> with the owner whose budget could not pay (nothing written);
    /// otherwise the total each owner has spent in the period after paying.
    /// </summary>
    Task<OverallReleaseOutcome> TryReleaseOverallAsync(IReadOnlyList<StoredHealthRelease> rows, IReadOnlyList<BudgetSpend> spends, CancellationToken ct);
}

/// <summary>What storing an all-partner release did: its status, the owner that could not pay (when exhausted), each owner's spending after paying.</summary>
public sealed record OverallReleaseOutcome(ReleaseStatus Status, string? UnpaidOwner, IReadOnlyDictionary<string, Domain.Privacy.Epsilon> SpentInPeriod);
