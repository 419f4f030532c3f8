using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Application.Health;

/// <summary>
/// Settings under Escrow:Privacy:Health (environment: Escrow__Privacy__Health__Name): the bounds that make a pipeline
/// figure over a counts-only cell releasable (docs/privacy.md, "Health figures"). The noise of a sum grows with its
/// bound: a lower bound means less noise and more clipping.
/// </summary>
public sealed class HealthPrivacyOptions
{
    /// <summary>How many of my opportunities one account of the partner may bring into a released figure (the contribution bound).</summary>
    [Range(1, 100)]
    public int OpportunitiesPerAccount { get; set; } = 1;

    /// <summary>
    /// The amount bound when I have no amount in the figure's currency (and the currency has no configured bound): then
    /// every amount sum is zero anyway. Otherwise the bound comes from my own amounts (<see cref="AmountQuantile"/>).
    /// </summary>
    [Range(1, 1_000_000_000)]
    public long AmountPerOpportunity { get; set; } = 100_000;

    /// <summary>
    /// The quantile of the viewer's own amounts in the currency (all its opportunities with an amount in it) that,
    /// rounded up on the 1-2-5 grid, bounds what one opportunity adds to a released sum (docs/privacy.md, "Health
    /// figures": a bound from the viewer's own data does not depend on the partner's, so the release stays ε-DP).
    /// </summary>
    [Range(0.5, 1.0)]
    public double AmountQuantile { get; set; } = 0.95;

    /// <summary>Per-currency bounds set by the operator (e.g. JPY: 10000000): they replace the bound from the viewer's own amounts.</summary>
    public Dictionary<string, long> AmountPerOpportunityByCurrency { get; set; } = [];

    /// <summary>The most one opportunity's days to close adds to a released sum.</summary>
    [Range(1, 3650)]
    public int DaysPerOpportunity { get; set; } = 365;

    /// <summary>
    /// The bounds of a figure in <paramref name="currency"/> for a viewer with opportunities <paramref name="mine"/>: the
    /// operator's bound for the currency if set, else the quantile of my own amounts in it, else the default.
    /// </summary>
    public FigureBounds BoundsFor(string currency, IReadOnlyList<Opportunity> mine)
    {
        if (AmountPerOpportunityByCurrency.TryGetValue(currency, out var configured) && configured is >= 1 and <= ReleasedFigures.MaxAmountBound)
            return new(OpportunitiesPerAccount, configured, DaysPerOpportunity, AmountBoundSource.Configured);
        return ReleasedFigures.OwnAmountBound(mine, currency, AmountQuantile) is { } own
            ? new(OpportunitiesPerAccount, own, DaysPerOpportunity, AmountBoundSource.OwnAmounts)
            : new(OpportunitiesPerAccount, AmountPerOpportunity, DaysPerOpportunity, AmountBoundSource.Default);
    }
}

/// <summary>One figure as released: its draw (null: withheld, nothing released for this period and currency while the budget is spent), when, and where it stands.</summary>
public sealed record HealthFigureRelease(HealthFigure Figure, FigureDraw? Draw, DateTimeOffset? ReleasedAt, ReleaseState State, DateTimeOffset? RefreshesAt);

/// <summary>What the viewer asks a partner's figures for: the period, the currency, the data of both sides, and the partner's populations they rest on.</summary>
public sealed record HealthFigureRequest(string Period, string Currency, string ViewerDataKey, string OwnerDataKey, IReadOnlyList<string> OwnerPopulationIds,
    IReadOnlyList<string> CountsPopulationIds);

/// <summary>
/// The release step of pipeline figures over counts-only cells, the counterpart of <see cref="CountReleases"/> for
/// matrix cells and under the same rules (<see cref="ReleasePlan"/>): a figure is drawn once per data of both sides,
/// period, currency and figure, stored, and shown again on every read, so rereading spends nothing and averaging reads
/// learns nothing; a new draw needs changed data and the refresh interval, and is paid from the owner's budget with the
/// viewer (the same budget as its matrix cells) in the same transaction as the release and its audit event
/// (privacy.budget_spent, in the owner's log); when the budget cannot pay, the last release for the period and currency
/// is shown with its date, or nothing ("withheld: budget").
/// </summary>
public sealed class HealthReleases(IHealthReleaseRepository store, ICountReleaseRepository budgets, CountReleases counts, ITransactions transactions,
    IRandomBits bits, TimeProvider time)
{
    /// <summary>The audit actor of a health figure's spend.</summary>
    public const string Actor = "system:health-release";

    public async Task<HealthFigureRelease> ReadAsync(PartnerView view, HealthFigure figure, HealthFigureRequest request, Func<IReadOnlyList<long>> exact,
        IReadOnlyList<long> sensitivities, CancellationToken ct)
    {
        var owner = view.Partner.Id;
        var viewer = view.MyOrganizationId;
        var settings = await counts.SettingsAsync(budgets, owner, viewer, ct);
        var latest = Usable(await store.GetLatestAsync(view.Partnership.Id, viewer, figure, request.Period, request.Currency, settings.ExactCounts, ct), request);
        var now = Now();
        var period = counts.PeriodOf(now);
        var budget = await budgets.GetBudgetAsync(owner, viewer, period.Start, ct);
        var stamp = latest is null ? null : new ReleaseStamp(latest.ViewerDataKey, latest.OwnerDataKey, latest.ReleasedAt, latest.Draw.IsExact);
        var decision = ReleasePlan.Decide(stamp, request.ViewerDataKey, request.OwnerDataKey, settings, budget.Spent, period, now);
        if (decision is not ReleaseDecision.Draw draw) return Show(figure, latest, decision);

        var value = ReleasedFigures.Draw(exact(), sensitivities, draw.Noise, bits);
        var release = new StoredHealthRelease(Ids.New("ohr"), view.Partnership.Id, viewer, owner, figure, request.Period, request.Currency,
            request.ViewerDataKey, request.OwnerDataKey, request.OwnerPopulationIds, now, value);
        var spend = value.IsExact ? null : new BudgetSpend(owner, viewer, period.Start, value.Epsilon, settings.PerPeriod);
        await using var uow = await transactions.BeginAsync(ct);
        var outcome = await uow.HealthReleases.TryReleaseAsync(release, spend, ct);
        switch (outcome.Status)
        {
            case ReleaseStatus.Superseded:
                // Another read released this figure for the same data first: show that one (this draw is discarded unseen).
                var winner = await uow.HealthReleases.GetLatestAsync(view.Partnership.Id, viewer, figure, request.Period, request.Currency, settings.ExactCounts, ct);
                return Show(figure, winner, new ReleaseDecision.Reuse((winner?.ReleasedAt ?? now) + settings.RefreshInterval));
            case ReleaseStatus.BudgetExhausted:
                return Show(figure, latest, new ReleaseDecision.Exhausted(period.End));
        }
        if (spend is not null)
            await uow.Audit.AppendAsync(new AuditEntry(now, owner, Actor, CountReleases.BudgetSpentAction, view.Partnership.Id, new
            {
                // The owner's log names the owner's populations only: the viewer's may be hidden from it.
                figure = ReleasedFigures.Wire(figure),
                myPopulationIds = request.CountsPopulationIds,
                period = request.Period,
                currency = request.Currency,
                epsilon = spend.Amount.ToDecimal(),
                spent = outcome.SpentInPeriod.ToDecimal(),
                budget = settings.PerPeriod.ToDecimal(),
                periodStart = period.Start,
                periodEnd = period.End,
            }), ct);
        await uow.CommitAsync(ct);
        return new HealthFigureRelease(figure, value, now, ReleaseState.Current, now + settings.RefreshInterval);
    }

    private static HealthFigureRelease Show(HealthFigure figure, StoredHealthRelease? latest, ReleaseDecision decision)
    {
        var (refreshesAt, state) = decision switch
        {
            ReleaseDecision.Reuse r => (r.RefreshesAt, ReleaseState.Current),
            ReleaseDecision.Wait w => (w.RefreshesAt, ReleaseState.DataChanged),
            ReleaseDecision.Exhausted e => (e.RefreshesAt, ReleaseState.BudgetExhausted),
            _ => throw new ArgumentOutOfRangeException(nameof(decision)),
        };
        return latest is null
            ? new HealthFigureRelease(figure, null, null, ReleaseState.BudgetExhausted, refreshesAt)
            : new HealthFigureRelease(figure, latest.Draw, latest.ReleasedAt, state, refreshesAt);
    }

    /// <summary>
    /// The latest release if it may still be shown: only while every partner population it rests on is still one the
    /// figures rest on now. A population the partner has since hidden (or stopped sharing) takes its releases with it.
    /// </summary>
    private static StoredHealthRelease? Usable(StoredHealthRelease? latest, HealthFigureRequest request) =>
        latest is not null && latest.OwnerPopulationIds.All(p => request.OwnerPopulationIds.Contains(p, StringComparer.Ordinal)) ? latest : null;

    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }
}
