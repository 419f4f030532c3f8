using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Privacy;

/// <summary>
/// An owner's privacy-protected counts with one partner: the settings in force (and which are its own rather than the
/// escrow's defaults), the current period's budget spent and remaining, what one release costs and means, and what the
/// owner should be warned about. <see cref="CountsPopulations"/> are the owner's populations the partner sees at the
/// counts level now (where the budget goes).
/// </summary>
public sealed record PrivacyReport(
    string PartnershipId,
    PartnerOrganization Partner,
    PrivacySettings InForce,
    PrivacyOverrides Overrides,
    PrivacySettings Defaults,
    BudgetPeriod Period,
    Epsilon Spent,
    int ReleasesThisPeriod,
    IReadOnlyList<string> CountsPopulations,
    DateTimeOffset? UpdatedAt,
    string? UpdatedBy,
    IReadOnlyList<string> Warnings)
{
    public Epsilon Remaining => InForce.PerPeriod > Spent ? InForce.PerPeriod - Spent : Epsilon.Zero;

    /// <summary>Releases the rest of the period's budget pays for.</summary>
    public long ReleasesRemaining => InForce.ExactCounts || InForce.PerRelease.Millionths == 0 ? 0 : Remaining.Millionths / InForce.PerRelease.Millionths;
}

/// <summary>The owner's side of privacy-protected counts: reading and adjusting its budget and settings per partner.</summary>
public sealed class PrivacyBudgets(PartnerViews views, ICountReleaseRepository releases, CountReleases counts, ITransactions transactions, TimeProvider time)
{
    public const string SettingsUpdatedAction = "privacy.settings_updated";

    public async Task<Outcome<PrivacyReport>> GetAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        return await ReportAsync(releases, view, ct);
    }

    /// <summary>
    /// Replaces the owner's settings for the partner of the partnership (what is left out returns to the escrow's default).
    /// Takes effect on the next release; turning exact counts off withdraws exact values at once. Audited in the same
    /// transaction.
    /// </summary>
    public async Task<Outcome<PrivacyReport>> SetAsync(Caller caller, string partnershipId, PrivacySettingsInput input, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (view.Partnership.Status is not (PartnershipStatus.Invited or PartnershipStatus.Active))
            return new Failure.Conflict($"The partnership is {view.Partnership.Status.ToString().ToLowerInvariant()}; its privacy settings can no longer change.");
        var errors = new FieldErrors();
        var overrides = PrivacyChoices.Parse(input, counts.Defaults, errors);
        if (overrides is null) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        await uow.Releases.SetSettingsAsync(caller.OrganizationId, view.Partner.Id, new StoredPrivacySettings(overrides, now, caller.Actor), ct);
        var inForce = overrides.Resolve(counts.Defaults);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, SettingsUpdatedAction, partnershipId, new
        {
            partnerOrganizationId = view.Partner.Id,
            epsilonPerPeriod = inForce.PerPeriod.ToDecimal(),
            epsilonPerRelease = inForce.PerRelease.ToDecimal(),
            refreshIntervalMinutes = (long)inForce.RefreshInterval.TotalMinutes,
            exactCounts = inForce.ExactCounts,
        }), ct);
        var report = await ReportAsync(uow.Releases, view, ct);
        await uow.CommitAsync(ct);
        return report;
    }

    private async Task<PrivacyReport> ReportAsync(ICountReleaseRepository store, Domain.Disclosure.PartnerView view, CancellationToken ct)
    {
        var stored = await store.GetSettingsAsync(view.MyOrganizationId, view.Partner.Id, ct);
        var overrides = stored?.Overrides ?? PrivacyOverrides.None;
        var inForce = overrides.Resolve(counts.Defaults);
        var period = counts.PeriodOf(time.GetUtcNow());
        var budget = await store.GetBudgetAsync(view.MyOrganizationId, view.Partner.Id, period.Start, ct);
        // My populations the partner sees at the counts level, from any of its populations (the mirror's view of me).
        var countsPopulations = view.Partnership.SharesData
            ? view.MyPopulations.Where(p => view.PartnerPopulations.Any(t => view.IShare(p.Id, t.Id).Level == SharingLevel.Counts)
                                             || (view.PartnerPopulations.Count == 0 && view.IShare(p.Id, "").Level == SharingLevel.Counts))
                .Select(p => p.Id).ToList()
            : [];
        return new PrivacyReport(view.Partnership.Id, view.Partner, inForce, overrides, counts.Defaults, period, budget.Spent, budget.Releases,
            countsPopulations, stored?.UpdatedAt, stored?.UpdatedBy, PrivacyChoices.Warnings(inForce));
    }
}
