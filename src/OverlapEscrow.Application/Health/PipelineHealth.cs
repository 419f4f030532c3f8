using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Health;

/// <summary>
/// How a partner's figures may be computed: <see cref="Exact"/> when every cell they rest on (one of my opportunities
/// populations × one of the partner's customer populations) is shared with me at the overlaps level, where I could list
/// the accounts anyway; <see cref="CountsOnly"/> when at least one with data is shared at the counts level only, and the
/// figures are then released through the private-counts mechanism (docs/health.md, "What crosses the boundary");
/// <see cref="NoCells"/> when the partner shares no customer population with me.
/// </summary>
public enum FigureAccess { Exact, CountsOnly, NoCells }

/// <summary>
/// How a partner's figures over a counts-only cell were released: the bounds (contribution bound, clipping) in force, the
/// number of the partner's counts-only customer populations they rest on, each figure's release, and the noise range of
/// each value (null while a figure is withheld: nothing released for this period and currency and the budget spent).
/// <see cref="OpenAboveBound"/>/<see cref="OpenExcess"/>: my open opportunities in the currency whose amount is above the
/// bound, and their excess over it in all (the most clipping lowers a released sum of open amounts; my own data).
/// </summary>
public sealed record ReleasedPipeline(FigureBounds Bounds, int CountsPopulations, IReadOnlyList<HealthFigureRelease> Releases, ReleasedFigures.FigureNoise? Noise)
{
    public long OpenAboveBound { get; init; }
    public decimal OpenExcess { get; init; }

    /// <summary>Why the figures are withheld (<see cref="CountsOnlyFigures"/>): budget unless said otherwise.</summary>
    public string? WithheldBecause { get; init; }

    public bool Withheld => Noise is null;
}

/// <summary>
/// One partner's pipeline figures: exact when <see cref="Access"/> is exact; released through the private-counts
/// mechanism (<see cref="Released"/>) when it is counts-only, and then null while withheld; null without cells.
/// </summary>
public sealed record PartnerPipeline(string PartnershipId, PartnerOrganization Partner, FigureAccess Access, int CustomerPopulations, PipelineFigureSet? Figures,
    ReleasedPipeline? Released = null);

/// <summary>
/// My pipeline against my partners' customers: the overall coverage (an open opportunity overlapping at least one
/// partner, counted once) and each active partner's figures.
/// </summary>
public sealed record PipelineReport(
    string Currency,
    FigurePeriod Period,
    int Opportunities,
    IReadOnlyList<PopulationSummary> OpportunityPopulations,
    Coverage Overall,
    int PartnersLeftOut,
    IReadOnlyList<PartnerPipeline> Partners,
    DateTimeOffset ComputedAt)
{
    /// <summary>My opportunities the figures were computed from (each once): the leadership report's attribution figures use them too. Never serialized.</summary>
    public IReadOnlyList<Opportunity> MyOpportunities { get; init; } = [];

    /// <summary>How <see cref="Overall"/> was released when it rests on partners with counts-only customers (noised); null when it is exact.</summary>
    public OverallReleased? OverallRelease { get; init; }

    /// <summary>Partners with counts-only customers left out of <see cref="Overall"/>, and why (<see cref="PartnersLeftOut"/> is their number).</summary>
    public IReadOnlyList<LeftOutPartner> LeftOut { get; init; } = [];
}

/// <summary>
/// The all-partner coverage as released (docs/health.md): the bounds, the most counts-only populations of one partner it
/// rests on, its release (ε, margins, dates, state), the 95 % noise ranges, and the partnerships whose budgets paid.
/// </summary>
public sealed record OverallReleased(FigureBounds Bounds, int CountsPopulations, HealthFigureRelease Release, ReleasedFigures.CoverageNoise Noise,
    IReadOnlyList<string> ChargedPartnershipIds);

/// <summary>A partner left out of the all-partner coverage, and why (<see cref="BudgetExhausted"/>: its budget with me could not pay for the release).</summary>
public sealed record LeftOutPartner(string PartnershipId, PartnerOrganization Partner, string Reason)
{
    public const string BudgetExhausted = "budget_exhausted";

    /// <summary>The partner gives me exact counts: its counts-only customers are in no figure (<see cref="CountsOnlyFigures.ExactCounts"/>).</summary>
    public const string ExactCounts = "exact_counts";

    /// <summary>The partner's released covered count is below its minimum reportable count: its figures are withheld (<see cref="CountsOnlyFigures.Minimum"/>).</summary>
    public const string Minimum = "minimum";
}

/// <summary>The leaderboard: the report it is computed from, the scores (best first) and the concentration.</summary>
public sealed record Leaderboard(PipelineReport Report, IReadOnlyList<PartnerScore> Scores, Concentration Concentration);

/// <summary>
/// The pipeline figures of docs/health.md: loads my opportunities (every opportunities population of mine, each
/// opportunity once) and, per active partnership, which of them overlap a customer population the partner does not hide
/// from me, and hands both to <see cref="PipelineFigures"/>. Visibility is decided by <see cref="CellAccess"/>, as for
/// the lists: a hidden population or an inactive partnership contributes nothing. Figures resting on a counts-only
/// cell are released through <see cref="HealthReleases"/> (noised, once per data, paid from the partner's budget):
/// computed exactly, they would let me read the partner's membership off my own amounts.
/// </summary>
public sealed class PipelineHealth(
    IPopulationRepository populations,
    IPartnershipRepository partnerships,
    PartnerViews views,
    PopulationDataCache data,
    OverlapComputation overlaps,
    IAuditRepository audit,
    HealthReleases releases,
    Attributions ledger,
    IOptions<HealthPrivacyOptions> privacy,
    TimeProvider time)
{
    public const string ReadAction = "health.pipeline_read";

    /// <summary>The report over all my active partnerships, or one (404 when it is not mine).</summary>
    public async Task<Outcome<PipelineReport>> ReportAsync(Caller caller, string? period, string? currency, CancellationToken ct, string? partnershipId = null)
    {
        var errors = new FieldErrors();
        var now = time.GetUtcNow();
        FigurePeriod? range = period is null ? FigurePeriod.LastTwelveMonths(DateOnly.FromDateTime(now.UtcDateTime)) : FigurePeriod.Parse(period);
        errors.Check(range is not null, "period", $"period is {FigurePeriod.Syntax}.");
        errors.Check(currency is null || OpportunityFields.IsCurrency(currency), "currency", "currency is an ISO 4217 code: three capital letters (e.g. USD).");
        if (errors.Any) return new Failure.Invalid(errors.All);

        IReadOnlyList<Partnership> chosen;
        if (partnershipId is not null)
        {
            // No view also for a partnership whose partner was deleted (a tombstone): 404, as its sharing and overlaps answer.
            var one = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
            if (one is null) return new Failure.NotFound("partnership");
            chosen = [one.Partnership];
        }
        else chosen = await partnerships.ListAsync(caller.OrganizationId, ct);

        var mine = (await populations.ListAsync(caller.OrganizationId, ct))
            .Where(p => OpportunityFields.IsOpportunities(p.Type) && p.CurrentVersionId is not null).OrderBy(p => p.CreatedAt).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
        var loaded = new List<IEnumerable<Opportunity>>();
        foreach (var population in mine)
        {
            var version = await data.GetAsync(caller.OrganizationId, population.Id, population.CurrentVersionId, ct);
            loaded.Add((await data.AllRecordsAsync(caller.OrganizationId, population.Id, version, ct)).Select(OpportunityFields.Read));
        }
        var opportunities = PipelineFigures.Distinct(loaded);
        var money = currency ?? PipelineFigures.DefaultCurrency(opportunities) ?? "USD";

        var partners = new List<PartnerPipeline>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        var bounds = privacy.Value.BoundsFor(money, opportunities);
        var keys = new List<(string, string)>();
        var noised = new List<(OverallShare Share, Lazy<Task<HashSet<string>>> Set, PartnerOrganization Partner)>();
        var exactLeftOut = new List<LeftOutPartner>();
        foreach (var partnership in chosen.Where(p => p.Status == PartnershipStatus.Active))
        {
            var view = await views.LoadAsync(caller.OrganizationId, partnership.Id, ct);
            if (view is null || !view.Partnership.SharesData) continue;
            var cells = await OverlappingAsync(view, mine, ct);
            keys.AddRange(cells.Keys.Select(k => ($"{partnership.Id}/{k.Item1}", k.Item2)));
            PipelineFigureSet? figures = null;
            ReleasedPipeline? released = null;
            if (cells.Access == FigureAccess.Exact)
            {
                figures = PipelineFigures.For(opportunities, cells.Exact, money, range!);
                known.UnionWith(cells.Exact);
            }
            else if (cells.Access == FigureAccess.CountsOnly)
            {
                // The bounded set only if a draw is due: computing it costs more the more of my records the partner's
                // counts-only customers match, and a read that shows a stored release must not time that (trial 7 retest).
                var set = new Lazy<Task<HashSet<string>>>(() => BoundedSetAsync(view, cells, bounds.OpportunitiesPerAccount, ct));
                known.UnionWith(cells.Exact); // its overlaps-level cells, if any: listed anyway
                if (CountsOnlyFigures.BeforeDraw((await releases.SettingsAsync(view, ct)).ExactCounts) is { } because)
                {
                    // Exact counts: nothing drawn, and its counts-only cells in no figure, the all-partner coverage included.
                    released = new ReleasedPipeline(bounds, cells.CountsPopulations.Count, [], null) { WithheldBecause = because };
                    exactLeftOut.Add(new LeftOutPartner(partnership.Id, view.Partner, LeftOutPartner.ExactCounts));
                }
                else
                {
                    (figures, released) = await ReleaseAsync(view, mine, opportunities, cells, set, bounds, money, range!, ct);
                    // Below the partner's minimum its figures are withheld, and so is its part of the all-partner coverage: with
                    // one partner that figure would be the withheld covered count again (decided on the released value: free).
                    if (released.WithheldBecause == CountsOnlyFigures.Minimum)
                        exactLeftOut.Add(new LeftOutPartner(partnership.Id, view.Partner, LeftOutPartner.Minimum));
                    // Else in the all-partner coverage through one more release, paid by each such partner.
                    else noised.Add((new OverallShare(view, [.. cells.CountsPopulations.Order(StringComparer.Ordinal)]), set, view.Partner));
                }
            }
            partners.Add(new PartnerPipeline(partnership.Id, view.Partner, cells.Access, cells.CustomerPopulations.Count, figures, released));
        }

        var overall = PipelineFigures.CoverageOf(opportunities, known, money);
        OverallReleased? overallReleased = null;
        IReadOnlyList<LeftOutPartner> leftOut = [];
        if (noised.Count > 0 && partnershipId is not null)
        {
            // One partnership asked for: its coverage is the partner's own released figures (post-processing, free), not
            // one more release of the same thing.
            if (partners.Single().Figures is { } own) overall = own.Coverage;
        }
        else if (noised.Count > 0)
        {
            async Task<HashSet<string>> UnionAsync(IReadOnlySet<string> included)
            {
                var union = new HashSet<string>(known, StringComparer.Ordinal);
                foreach (var n in noised.Where(n => included.Contains(n.Share.View.Partnership.Id))) union.UnionWith(await n.Set.Value);
                return union;
            }
            var viewerKey = ReleasedFigures.DataKey([.. mine.Select(p => (p.Id, p.CurrentVersionId ?? "none")), ("bounds", BoundsKey(bounds))]);
            var release = await releases.ReadOverallAsync(caller.OrganizationId, [.. noised.Select(n => n.Share)], range!.ToString(), money, viewerKey,
                included => ReleasedFigures.DataKey([.. keys, ("included", string.Join(",", included.Order(StringComparer.Ordinal)))]),
                async included => ReleasedFigures.Components(HealthFigure.OverallCoverage, opportunities, await UnionAsync(included), money, range!, bounds), bounds, ct);
            leftOut = [.. noised.Where(n => release.LeftOut.Contains(n.Share.View.Partnership.Id))
                .Select(n => new LeftOutPartner(n.Share.View.Partnership.Id, n.Partner, LeftOutPartner.BudgetExhausted))];
            if (release.Draw is { } draw)
            {
                var charged = release.Charged.ToHashSet(StringComparer.Ordinal);
                // My totals (their Total parts are the same over any set: nothing of the union is computed for them).
                var (coverage, noise) = ReleasedFigures.AssembleOverall(ReleasedFigures.Totals(opportunities, NoneOfMine, money, range!, bounds),
                    ReleasedFigures.Totals(opportunities, known, money, range!, bounds), draw);
                overall = coverage;
                overallReleased = new OverallReleased(bounds, noised.Where(n => charged.Contains(n.Share.View.Partnership.Id)).Max(n => n.Share.CountsPopulationIds.Count),
                    new HealthFigureRelease(HealthFigure.OverallCoverage, draw, release.ReleasedAt, release.State, release.RefreshesAt), noise, release.Charged);
            }
        }

        leftOut = [.. exactLeftOut, .. leftOut];
        await audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, ReadAction, partnershipId,
            new { period = range!.ToString(), currency = money, partners = partners.Count }), ct);
        return new PipelineReport(money, range!, opportunities.Count, mine, overall, leftOut.Count,
            partners.OrderBy(p => p.Partner.Name, StringComparer.OrdinalIgnoreCase).ToList(), now)
        {
            MyOpportunities = opportunities, OverallRelease = overallReleased, LeftOut = leftOut,
        };
    }

    /// <summary>
    /// The leaderboard (docs/health.md): the partners with pipeline figures — exact, or released for counts-only
    /// customers — scored and tiered, and the concentration of their potential revenue. Partners whose figures are
    /// withheld are in the report, unscored.
    /// </summary>
    public async Task<Outcome<Leaderboard>> LeaderboardAsync(Caller caller, string? period, string? currency, CancellationToken ct)
    {
        var report = await ReportAsync(caller, period, currency, ct);
        if (report.Failure is { } failure) return failure;
        var scored = report.Value!.Partners.Where(p => p.Figures is not null).Select(p => (p.PartnershipId, p.Figures!)).ToList();
        return new Leaderboard(report.Value, PartnerScores.Rank(scored), PartnerScores.ConcentrationOf([.. scored.Select(p => p.Item2.PotentialRevenue)]));
    }

    /// <summary>The leadership report for a period: the leaderboard's figures as lines (JSON, CSV and the printable page).</summary>
    public async Task<Outcome<LeadershipReport>> LeadershipReportAsync(Caller caller, string? period, string? currency, CancellationToken ct)
    {
        var board = await LeaderboardAsync(caller, period, currency, ct);
        if (board.Failure is { } failure) return failure;
        var report = board.Value!.Report;
        // My own claims only: what my organization recorded about its pipeline, with the partner's answer.
        var claims = (await ledger.MadeByAsync(caller.OrganizationId, ct))
            .Select(c => new AttributionFiguresOf.Claim(c.RecordId, c.PartnershipId, c.Role, c.Status)).ToList();
        return LeadershipReport.From(board.Value!, AttributionFiguresOf.Compute(report.MyOpportunities, claims, report.Currency, report.Period));
    }

    /// <summary>
    /// The figures of a partner with at least one counts-only customer cell, released (docs/privacy.md, "Health
    /// figures"): over the bounded set (the exact cells' opportunities, and at most k per partner record of a counts-only
    /// cell), one release per figure through <see cref="HealthReleases"/>, assembled by post-processing.
    /// </summary>
    private async Task<(PipelineFigureSet?, ReleasedPipeline)> ReleaseAsync(PartnerView view, IReadOnlyList<PopulationSummary> mine,
        IReadOnlyList<Opportunity> opportunities, PartnerCells cells, Lazy<Task<HashSet<string>>> set, FigureBounds bounds, string currency, FigurePeriod period,
        CancellationToken ct)
    {
        // My totals: assembling and the clipping note read only their Total parts, the same over any set.
        var totals = ReleasedFigures.Totals(opportunities, NoneOfMine, currency, period, bounds);
        // The bounds are part of what a figure is drawn for: another bound (another operator setting) is another release.
        var request = new HealthFigureRequest(period.ToString(), currency,
            ReleasedFigures.DataKey([.. mine.Select(p => (p.Id, p.CurrentVersionId ?? "none")), ("bounds", BoundsKey(bounds))]),
            ReleasedFigures.DataKey(cells.Keys),
            [.. cells.CustomerPopulations.Order(StringComparer.Ordinal)], [.. cells.CountsPopulations.Order(StringComparer.Ordinal)]);
        var list = new List<HealthFigureRelease>();
        foreach (var figure in ReleasedFigures.All)
            list.Add(await releases.ReadAsync(view, figure, request, async () => ReleasedFigures.Components(figure, opportunities, await set.Value, currency, period, bounds),
                ReleasedFigures.Sensitivities(figure, bounds, cells.CountsPopulations.Count), ct));
        // The minimum first: a covered count drawn below it withholds everything, whether or not the budget paid for the
        // other figures (a partner so withheld is also left out of the all-partner coverage, whose reason it names).
        if (list.Single(r => r.Figure == HealthFigure.OverlappingOpportunities).Draw is { } coveredDraw
            && CountsOnlyFigures.AfterDraw(coveredDraw.Values[0], cells.CountsMinimum) is { } below)
            return (null, new ReleasedPipeline(bounds, cells.CountsPopulations.Count, list, null)
                { OpenAboveBound = totals.OpenAboveBound, OpenExcess = totals.OpenExcess, WithheldBecause = below });
        if (list.Any(r => r.Draw is null))
            return (null, new ReleasedPipeline(bounds, cells.CountsPopulations.Count, list, null)
                { OpenAboveBound = totals.OpenAboveBound, OpenExcess = totals.OpenExcess, WithheldBecause = CountsOnlyFigures.Budget });
        var (figures, noise) = ReleasedFigures.Assemble(totals, list.ToDictionary(r => r.Figure, r => r.Draw!));
        return (figures, new ReleasedPipeline(bounds, cells.CountsPopulations.Count, list, noise) { OpenAboveBound = totals.OpenAboveBound, OpenExcess = totals.OpenExcess });
    }

    private static string BoundsKey(FigureBounds b) => $"{b.OpportunitiesPerAccount}/{b.AmountPerOpportunity}/{b.DaysPerOpportunity}";

    /// <summary>
    /// A partner's customer cells as the figures see them: how they are shared, the partner's customer populations with a
    /// cell, my opportunities in its overlaps-level cells (<see cref="Exact"/>), its counts-only cells with data
    /// (<see cref="CountsCells"/>: their matches are the input of the bounded set, computed only for a draw,
    /// <see cref="BoundedSetAsync"/>), the counts-only populations with data, and each cell's population, version and level
    /// (the data key).
    /// </summary>
    private sealed record PartnerCells(FigureAccess Access, HashSet<string> CustomerPopulations, HashSet<string> Exact,
        List<(PopulationSummary Mine, PopulationSummary Theirs)> CountsCells, HashSet<string> CountsPopulations, List<(string, string)> Keys, int CountsMinimum);

    /// <summary>NoneOfMine: an empty set, for my totals (whose Total parts do not depend on the set).</summary>
    private static readonly IReadOnlySet<string> NoneOfMine = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The set a partner's released figures are over (<see cref="ReleasedFigures.BoundedSet"/>): my opportunities in its
    /// overlaps-level cells, and per partner record of a counts-only cell at most <paramref name="perAccount"/> of those it
    /// matched, on the graph where each partner record's matches depend on it alone (the lists' rules weigh a record against
    /// the partner's others, and one record could move the set by many). Computed only for a draw.
    /// </summary>
    private async Task<HashSet<string>> BoundedSetAsync(PartnerView view, PartnerCells cells, int perAccount, CancellationToken ct)
    {
        var neighbors = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        foreach (var (mine, theirs) in cells.CountsCells)
        {
            var pairs = await overlaps.WithRecordsAsync(view, mine, theirs, async overlap =>
            {
                var result = await overlaps.OwnerLocalAsync(overlap, ct);
                var records = await overlaps.MyRecordsAsync(overlap, result.MyOrdinals, ct);
                var found = new List<(string Partner, string Mine)>();
                for (var i = 0; i < result.MyOrdinals.Length; i++)
                    for (var p = result.PairStart[i]; p < result.PairStart[i + 1]; p++)
                        found.Add(($"{theirs.Id}/{result.TheirOrdinals[p]}", records[result.MyOrdinals[i]].RecordId));
                return found;
            }, ct);
            foreach (var (partner, id) in pairs)
            {
                if (!neighbors.TryGetValue(partner, out var set)) neighbors[partner] = set = new HashSet<string>(StringComparer.Ordinal);
                ((HashSet<string>)set).Add(id);
            }
        }
        return ReleasedFigures.BoundedSet(cells.Exact, neighbors, perAccount);
    }

    /// <summary>
    /// The record ids of my opportunities that overlap any customer population of the partner that the partner shares
    /// with me at the overlaps level, the matches of its counts-only cells, and how the partner's cells are shared. A
    /// cell the partner hides does not exist here; a counts-only cell of a population without data has nothing to count.
    /// </summary>
    private async Task<PartnerCells> OverlappingAsync(PartnerView view, IReadOnlyList<PopulationSummary> mine, CancellationToken ct)
    {
        var overlapping = new HashSet<string>(StringComparer.Ordinal);
        var countsCells = new List<(PopulationSummary, PopulationSummary)>();
        var countsPopulations = new HashSet<string>(StringComparer.Ordinal);
        var customerPopulations = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<(string, string)>();
        var minimum = 0; // the largest minimum reportable count of the counts-only cells with data
        foreach (var theirs in view.PartnerPopulations.Where(p => p.Type == "customers"))
            foreach (var population in mine)
            {
                switch (CellAccess.Decide(view, population.Id, theirs.Id))
                {
                    case CellAccess.Records cell:
                        customerPopulations.Add(theirs.Id);
                        keys.Add(($"{theirs.Id}/{population.Id}/overlaps", cell.Theirs.CurrentVersionId ?? "none"));
                        if (cell.Theirs.CurrentVersionId is null) break;
                        var ids = await overlaps.WithRecordsAsync(view, cell.Mine, cell.Theirs, async overlap =>
                        {
                            var records = await overlaps.MyRecordsAsync(overlap, overlap.Result.MyOrdinals, ct);
                            return overlap.Result.MyOrdinals.Select(o => records[o].RecordId).ToList();
                        }, ct);
                        foreach (var id in ids) overlapping.Add(id);
                        break;
                    case CellAccess.CountsOnly cell:
                        customerPopulations.Add(theirs.Id);
                        keys.Add(($"{theirs.Id}/{population.Id}/counts", cell.Theirs.CurrentVersionId ?? "none"));
                        if (cell.Theirs.CurrentVersionId is null) break;
                        countsPopulations.Add(theirs.Id);
                        minimum = Math.Max(minimum, cell.Sharing.MinimumCount);
                        // Nothing computed here: what a counts-only cell costs to compute depends on the partner's data.
                        countsCells.Add((cell.Mine, cell.Theirs));
                        break;
                }
            }
        var access = countsPopulations.Count > 0 ? FigureAccess.CountsOnly : customerPopulations.Count == 0 ? FigureAccess.NoCells : FigureAccess.Exact;
        return new PartnerCells(access, customerPopulations, overlapping, countsCells, countsPopulations, keys, minimum);
    }
}
