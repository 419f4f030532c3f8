using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Application.Privacy;

/// <summary>A counts-level cell's value as released, with the stored release behind it, the one before it when this call drew a new one.</summary>
public sealed record CellRelease(ReleasedCount Count, StoredRelease? Release, StoredRelease? Previous, bool IsNew);

/// <summary>
/// The release step of counts-level values: every counts-level value a viewer reads — a matrix cell, a history point,
/// an overlaps.changed payload, the dashboard — comes from here, through <see cref="CountRelease"/>. A value is drawn
/// once for the data of both sides (their versions), stored, and shown again on every read from any endpoint, so
/// reading again spends nothing and averaging reads learns nothing. A new value is drawn only when either side's data
/// changed, no sooner than the cell's refresh interval after the last one, and only while the owner's budget with the
/// viewer's organization has room for it in the period; otherwise the last value stays, marked with its date and when
/// it refreshes. The spend and its audit event are written in the same transaction as the release, and so is the
/// overlaps.changed event a new value that reads differently makes, whichever path released it.
/// </summary>
public sealed class CountReleases(ICountReleaseRepository store, ITransactions transactions, IEventPublisher events, IRandomBits bits,
    IOptions<PrivacyOptions> options, TimeProvider time)
{
    public const string BudgetSpentAction = "privacy.budget_spent";

    /// <summary>The audit actor of a spend: the release step, whoever's read or refresh caused it.</summary>
    public const string Actor = "system:count-release";

    public PrivacySettings Defaults => options.Value.Defaults;

    public BudgetPeriod PeriodOf(DateTimeOffset at) => BudgetPeriod.Of(at, options.Value.PeriodLength);

    /// <summary>The settings the owner has in force for its counts-level sharing with the partner.</summary>
    public async Task<PrivacySettings> SettingsAsync(ICountReleaseRepository releases, string ownerOrganizationId, string partnerOrganizationId, CancellationToken ct) =>
        ((await releases.GetSettingsAsync(ownerOrganizationId, partnerOrganizationId, ct))?.Overrides ?? PrivacyOverrides.None).Resolve(Defaults);

    /// <summary>The settings the partner of <paramref name="view"/> has in force for its counts-level sharing with the view's organization.</summary>
    public Task<PrivacySettings> SettingsAsync(PartnerView view, CancellationToken ct) => SettingsAsync(store, view.Partner.Id, view.MyOrganizationId, ct);

    /// <summary>
    /// The value of a counts-level cell for the viewer of <paramref name="view"/> (the matrix, the history): the stored one,
    /// or a new one when due. The overlap is computed only then, and outside the transaction that stores the release.
    /// </summary>
    public async Task<ReleasedCount> ReadAsync(PartnerView view, DisclosedCell cell, Func<CancellationToken, Task<CellOverlap>> compute, CancellationToken ct)
    {
        var settings = await SettingsAsync(store, view.Partner.Id, view.MyOrganizationId, ct);
        if (VersionOf(cell.Mine) == NoData || VersionOf(cell.Theirs) == NoData) return Unreleased(cell, settings);
        var latest = Usable(await store.GetLatestAsync(view.Partnership.Id, view.MyOrganizationId, cell.Mine.Id, cell.Theirs.Id, ct), settings);
        var now = Now();
        var period = PeriodOf(now);
        var budget = await store.GetBudgetAsync(view.Partner.Id, view.MyOrganizationId, period.Start, ct);
        var decision = ReleasePlan.Decide(latest?.Stamp, VersionOf(cell.Mine), VersionOf(cell.Theirs), settings, budget.Spent, period, now);
        if (decision is not ReleaseDecision.Draw) return Show(cell, latest, decision, settings);

        var overlap = await compute(ct);
        await using var uow = await transactions.BeginAsync(ct);
        var released = await ReleaseAsync(uow, view, cell, overlap, ct);
        // A value released on a read is news like one released by the refresher: the webhook carries the same value.
        if (released is { IsNew: true, Release: { } release }
            && OverlapsChanged.For(view, [], [new ReleaseChange(cell.Mine.Id, cell.Theirs.Id, released.Previous?.Point, release.Point,
                released.Count.Protection?.RefreshesAt)]) is { } payload)
            await events.PublishAsync(uow, view.MyOrganizationId, OverlapsChanged.Type, payload, release.ReleasedAt, ct);
        await uow.CommitAsync(ct);
        return released.Count;
    }

    /// <summary>
    /// Inside <paramref name="uow"/> (the refresher's, with the history points and the overlaps.changed event): decides for
    /// the versions <paramref name="overlap"/> was computed from, and draws, stores and pays for a new value when due.
    /// </summary>
    public async Task<CellRelease> ReleaseAsync(IUnitOfWork uow, PartnerView view, DisclosedCell cell, CellOverlap overlap, CancellationToken ct)
    {
        var releases = uow.Releases;
        var owner = view.Partner.Id;
        var viewer = view.MyOrganizationId;
        var settings = await SettingsAsync(releases, owner, viewer, ct);
        if (overlap.Mine.VersionId == NoData || overlap.Theirs.VersionId == NoData) return new CellRelease(Unreleased(cell, settings), null, null, false);
        var head = await releases.GetLatestAsync(view.Partnership.Id, viewer, cell.Mine.Id, cell.Theirs.Id, ct);
        var latest = Usable(head, settings);
        var now = Now();
        var period = PeriodOf(now);
        var budget = await releases.GetBudgetAsync(owner, viewer, period.Start, ct);
        var viewerVersion = overlap.Mine.VersionId;
        var ownerVersion = overlap.Theirs.VersionId;
        var decision = ReleasePlan.Decide(latest?.Stamp, viewerVersion, ownerVersion, settings, budget.Spent, period, now);
        if (decision is not ReleaseDecision.Draw draw) return new CellRelease(Show(cell, latest, decision, settings), latest, null, false);
        // Only for the data as it is now: a refresh that computed a version superseded meanwhile must not release for it
        // (and spend on it) after the newer one; the newer version's own refresh or read releases.
        var currentMine = (await uow.Populations.GetAsync(viewer, cell.Mine.Id, ct))?.CurrentVersionId ?? NoData;
        var currentTheirs = (await uow.Populations.GetAsync(owner, cell.Theirs.Id, ct))?.CurrentVersionId ?? NoData;
        if (currentMine != viewerVersion || currentTheirs != ownerVersion)
        {
            var current = ReleasePlan.Decide(latest?.Stamp, currentMine, currentTheirs, settings, budget.Spent, period, now);
            return new CellRelease(Show(cell, latest, current is ReleaseDecision.Draw ? new ReleaseDecision.Wait(now) : current, settings), latest, null, false);
        }

        var result = overlap.Result;
        // The bounded count (a noised draw's; an exact one shows the viewer's count), on the graph where one owner record
        // moves it by one at most, not the lists': computed with the overlap, before this transaction
        // (OverlapComputation.ComputeForReleaseAsync). Computing it here would hold the database's write lock.
        var noised = draw.Noise is { } noise && noise != Epsilon.Zero;
        var bounded = overlap.BoundedCount
            ?? throw new InvalidOperationException("A counts-level release needs the overlap with its bounded count (OverlapComputation.ComputeForReleaseAsync).");
        var counts = new CellCounts(result.Count, result.PartnerCount, noised ? bounded : 0);
        var value = CountRelease.Draw(counts, draw.Noise, bits);
        var release = new StoredRelease(Ids.New("ocr"), view.Partnership.Id, viewer, cell.Mine.Id, owner, cell.Theirs.Id, viewerVersion, ownerVersion, now, value);
        var spend = value.IsExact ? null : new BudgetSpend(owner, viewer, period.Start, value.Noise, settings.PerPeriod);
        var outcome = await releases.TryReleaseAsync(release, head?.Id, spend, ct);
        switch (outcome.Status)
        {
            case ReleaseStatus.Superseded:
                // Another release of this cell came first: show that one (this call's draw is discarded unseen).
                var winner = Usable(await releases.GetLatestAsync(view.Partnership.Id, viewer, cell.Mine.Id, cell.Theirs.Id, ct), settings);
                if (winner is null) return new CellRelease(CountRelease.NotYetReleased(settings.PerRelease, now + settings.RefreshInterval), null, null, false);
                var sameData = winner.ViewerVersionId == viewerVersion && winner.OwnerVersionId == ownerVersion;
                var refreshes = winner.ReleasedAt + settings.RefreshInterval;
                return new CellRelease(CountRelease.Show(cell.Sharing, winner.Draw, winner.ReleasedAt, refreshes, sameData ? ReleaseState.Current : ReleaseState.DataChanged),
                    winner, null, false);
            case ReleaseStatus.BudgetExhausted:
                return new CellRelease(Show(cell, latest, new ReleaseDecision.Exhausted(period.End), settings), latest, null, false);
        }
        if (spend is not null)
            await uow.Audit.AppendAsync(new AuditEntry(now, owner, Actor, BudgetSpentAction, view.Partnership.Id, new
            {
                // The owner's log names the owner's population only: the viewer's may be hidden from it.
                myPopulationId = cell.Theirs.Id,
                epsilon = spend.Amount.ToDecimal(),
                spent = outcome.SpentInPeriod.ToDecimal(),
                budget = settings.PerPeriod.ToDecimal(),
                periodStart = period.Start,
                periodEnd = period.End,
            }), ct);
        var refreshesAt = now + settings.RefreshInterval;
        return new CellRelease(CountRelease.Show(cell.Sharing, value, now, refreshesAt, ReleaseState.Current), release, latest, true);
    }

    private static ReleasedCount Show(DisclosedCell cell, StoredRelease? latest, ReleaseDecision decision, PrivacySettings settings)
    {
        var (refreshesAt, state) = decision switch
        {
            ReleaseDecision.Reuse r => (r.RefreshesAt, ReleaseState.Current),
            ReleaseDecision.Wait w => (w.RefreshesAt, ReleaseState.DataChanged),
            ReleaseDecision.Exhausted e => (e.RefreshesAt, ReleaseState.BudgetExhausted),
            _ => throw new ArgumentOutOfRangeException(nameof(decision)),
        };
        return latest is null
            ? CountRelease.NotYetReleased(settings.PerRelease, refreshesAt)
            : CountRelease.Show(cell.Sharing, latest.Draw, latest.ReleasedAt, refreshesAt, state);
    }

    /// <summary>The time of a release to the millisecond, as it is stored: the first answer reads exactly like every later one.</summary>
    private DateTimeOffset Now()
    {
        var now = time.GetUtcNow();
        return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
    }

    /// <summary>
    /// The latest release if it is of the kind the settings ask for now: an exact value stops being shown the moment the
    /// owner switches exact counts off (and a noised one is replaced at once when it switches them on).
    /// </summary>
    private static StoredRelease? Usable(StoredRelease? latest, PrivacySettings settings) =>
        latest is not null && latest.Draw.IsExact == settings.ExactCounts ? latest : null;

    /// <summary>The version a population's data is at, as releases name it ("none" before its first upload, like the version cache).</summary>
    private static string VersionOf(PopulationSummary population) => population.CurrentVersionId ?? NoData;

    private const string NoData = "none";

    /// <summary>
    /// A cell one side of which has no data yet: nothing can overlap, and both sides know it (the viewer its own
    /// population, and when the partner's was last updated), so it reads withheld without a release: no budget is
    /// spent and the refresh interval does not start before there is something to count.
    /// </summary>
    private static ReleasedCount Unreleased(DisclosedCell cell, PrivacySettings settings) =>
        CountRelease.Empty(cell.Sharing) with { Protection = new CountProtection(!settings.ExactCounts, settings.MarginOfError, null, null, ReleaseState.Current) };
}
