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

/// <summary>A partner whose counts-only customers (with noise) the all-partner coverage rests on: its view and the counts-only populations with data.</summary>
public sealed record OverallShare(PartnerView View, IReadOnlyList<string> CountsPopulationIds);

/// <summary>
/// The all-partner coverage as released: its draw (null when no partner with noise is in it: the coverage is then exact
/// over the others), when, where it stands, the partnerships that paid for it, and those left out because their budget
/// could not pay (the coverage is over the others).
/// </summary>
public sealed record OverallRelease(FigureDraw? Draw, DateTimeOffset? ReleasedAt, ReleaseState State, DateTimeOffset? RefreshesAt,
    IReadOnlyList<string> Charged, IReadOnlyList<string> LeftOut);

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

    /// <param name="exact">The exact components, computed only when a draw is due (what they cost to compute depends on the data).</param>
    public async Task<HealthFigureRelease> ReadAsync(PartnerView view, HealthFigure figure, HealthFigureRequest request, Func<Task<IReadOnlyList<long>>> exact,
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

        var value = ReleasedFigures.Draw(await exact(), sensitivities, draw.Noise, bits);
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

    /// <summary>The owner's privacy settings with the viewer of <paramref name="view"/> (exact counts or noise, ε, refresh interval).</summary>
    public Task<PrivacySettings> SettingsAsync(PartnerView view, CancellationToken ct) => counts.SettingsAsync(budgets, view.Partner.Id, view.MyOrganizationId, ct);

    /// <summary>
    /// The all-partner coverage when it rests on partners whose customers are shared with me at the counts level with
    /// noise (<paramref name="noised"/>): one release of two components (the open count and the clipped open amount over
    /// the union of every partner's set), drawn once per data, stored once per partnership charged, and paid by <em>each</em>
    /// of those partners from its budget with me, since each one's data moves the union by at most its own contribution
    /// (docs/privacy.md, "Health figures"). The noise is for the largest contribution and the smallest ε per release among
    /// them, so the release is that ε-DP for each, and each pays that ε. A partner whose budget cannot pay is left out of
    /// the union (<see cref="OverallRelease.LeftOut"/>): the release is over the others. A stored release is shown again
    /// while it was drawn for the same partners and data; after a change of data, no sooner than the longest refresh
    /// interval among them.
    /// </summary>
    /// <param name="ownerKey">The data key of the partners' side for a set of included partnerships (the known partners' cells always in it).</param>
    /// <param name="exact">The exact components over the union with a set of included partnerships, computed only when a draw is due.</param>
    public async Task<OverallRelease> ReadOverallAsync(string viewer, IReadOnlyList<OverallShare> noised, string period, string currency, string viewerKey,
        Func<IReadOnlySet<string>, string> ownerKey, Func<IReadOnlySet<string>, Task<long[]>> exact, FigureBounds bounds, CancellationToken ct)
    {
        var now = Now();
        var budgetPeriod = counts.PeriodOf(now);
        var parties = new List<(OverallShare Share, PrivacySettings Settings, Epsilon Spent)>();
        foreach (var share in noised)
        {
            var settings = await SettingsAsync(share.View, ct);
            var budget = await budgets.GetBudgetAsync(share.View.Partner.Id, viewer, budgetPeriod.Start, ct);
            parties.Add((share, settings, budget.Spent));
        }
        var latest = await store.GetLatestOverallAsync(viewer, period, currency, ct);
        var leftOut = new List<string>();
        while (true)
        {
            var ids = parties.Select(p => p.Share.View.Partnership.Id).ToHashSet(StringComparer.Ordinal);
            if (ids.Count == 0) return new OverallRelease(null, null, ReleaseState.Current, null, [], leftOut);
            var key = ownerKey(ids);
            var refresh = parties.Max(p => p.Settings.RefreshInterval);
            // A release for exactly this data and these partners (the latest, or one before a partner was left out): shown again, free.
            var same = await store.GetLatestOverallAsync(viewer, period, currency, ct, viewerKey, key);
            if (Matches(same, parties.Select(p => p.Share)))
                return new OverallRelease(same[0].Draw, same[0].ReleasedAt, ReleaseState.Current, same[0].ReleasedAt + refresh, [.. ids.Order(StringComparer.Ordinal)], leftOut);
            if (Matches(latest, parties.Select(p => p.Share)))
            {
                var at = latest[0].ReleasedAt;
                if (now < at + refresh)
                    return new OverallRelease(latest[0].Draw, at, ReleaseState.DataChanged, at + refresh, [.. ids.Order(StringComparer.Ordinal)], leftOut);
            }
            var epsilon = parties.Min(p => p.Settings.PerRelease);
            var broke = parties.Where(p => p.Spent + epsilon > p.Settings.PerPeriod).ToList();
            if (broke.Count > 0)
            {
                leftOut.AddRange(broke.Select(p => p.Share.View.Partnership.Id));
                parties.RemoveAll(p => broke.Contains(p));
                continue;
            }

            var sensitivities = ReleasedFigures.Sensitivities(HealthFigure.OverallCoverage, bounds, parties.Max(p => p.Share.CountsPopulationIds.Count));
            var value = ReleasedFigures.Draw(await exact(ids), sensitivities, epsilon, bits);
            var rows = parties.Select(p => new StoredHealthRelease(Ids.New("ohr"), p.Share.View.Partnership.Id, viewer, p.Share.View.Partner.Id,
                HealthFigure.OverallCoverage, period, currency, viewerKey, key, p.Share.CountsPopulationIds, now, value)).ToList();
            var spends = parties.Select(p => new BudgetSpend(p.Share.View.Partner.Id, viewer, budgetPeriod.Start, epsilon, p.Settings.PerPeriod)).ToList();
            await using (var uow = await transactions.BeginAsync(ct))
            {
                var outcome = await uow.HealthReleases.TryReleaseOverallAsync(rows, spends, ct);
                if (outcome.Status == ReleaseStatus.Superseded)
                {
                    // Another read released it for the same data first: show that one (this draw is discarded unseen).
                    var winner = await uow.HealthReleases.GetLatestOverallAsync(viewer, period, currency, ct, viewerKey, key);
                    if (winner.Count == 0) throw new InvalidOperationException("A release for this data was reported but is not there.");
                    return new OverallRelease(winner[0].Draw, winner[0].ReleasedAt, ReleaseState.Current, winner[0].ReleasedAt + refresh,
                        [.. winner.Select(r => r.PartnershipId).Order(StringComparer.Ordinal)], leftOut);
                }
                if (outcome.Status == ReleaseStatus.BudgetExhausted)
                {
                    // Spent meanwhile by another release: this partner is left out, the others are tried again.
                    var unpaid = parties.Where(p => p.Share.View.Partner.Id == outcome.UnpaidOwner).ToList();
                    leftOut.AddRange(unpaid.Select(p => p.Share.View.Partnership.Id));
                    parties.RemoveAll(p => unpaid.Contains(p));
                    continue;
                }
                foreach (var (share, settings, _) in parties)
                    await uow.Audit.AppendAsync(new AuditEntry(now, share.View.Partner.Id, Actor, CountReleases.BudgetSpentAction, share.View.Partnership.Id, new
                    {
                        // The owner's log names its own populations only: neither the viewer's populations nor its other partners.
                        figure = ReleasedFigures.Wire(HealthFigure.OverallCoverage),
                        myPopulationIds = share.CountsPopulationIds,
                        period,
                        currency,
                        epsilon = epsilon.ToDecimal(),
                        spent = outcome.SpentInPeriod[share.View.Partner.Id].ToDecimal(),
                        budget = settings.PerPeriod.ToDecimal(),
                        periodStart = budgetPeriod.Start,
                        periodEnd = budgetPeriod.End,
                    }), ct);
                await uow.CommitAsync(ct);
            }
            return new OverallRelease(value, now, ReleaseState.Current, now + refresh, [.. ids.Order(StringComparer.Ordinal)], leftOut);
        }
    }

    /// <summary>
    /// Whether a stored all-partner release was drawn over exactly these partners, each still sharing every population
    /// the release rests on: a partner added, left out or no longer sharing a population makes it another figure.
    /// </summary>
    private static bool Matches(IReadOnlyList<StoredHealthRelease>? latest, IEnumerable<OverallShare> shares)
    {
        if (latest is null || latest.Count == 0) return false;
        var byId = shares.ToDictionary(s => s.View.Partnership.Id, StringComparer.Ordinal);
        return latest.Count == byId.Count && latest.All(r => byId.TryGetValue(r.PartnershipId, out var share)
                                                           && r.OwnerPopulationIds.All(p => share.CountsPopulationIds.Contains(p, StringComparer.Ordinal)));
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
