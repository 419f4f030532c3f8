using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Health;

/// <summary>
/// How a partner's figures may be computed: <see cref="Exact"/> when every cell they rest on (one of my opportunities
/// populations × one of the partner's customer populations) is shared with me at the overlaps level, where I could list
/// the accounts anyway; <see cref="CountsOnly"/> when at least one is shared at the counts level only (docs/health.md,
/// "What crosses the boundary"); <see cref="NoCells"/> when the partner shares no customer population with me.
/// </summary>
public enum FigureAccess { Exact, CountsOnly, NoCells }

/// <summary>One partner's pipeline figures; <see cref="Figures"/> is null unless <see cref="Access"/> is exact.</summary>
public sealed record PartnerPipeline(string PartnershipId, PartnerOrganization Partner, FigureAccess Access, int CustomerPopulations, PipelineFigureSet? Figures);

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
    DateTimeOffset ComputedAt);

/// <summary>The leaderboard: the report it is computed from, the scores (best first) and the concentration.</summary>
public sealed record Leaderboard(PipelineReport Report, IReadOnlyList<PartnerScore> Scores, Concentration Concentration);

/// <summary>
/// The pipeline figures of docs/health.md: loads my opportunities (every opportunities population of mine, each
/// opportunity once) and, per active partnership, which of them overlap a customer population the partner does not hide
/// from me, and hands both to <see cref="PipelineFigures"/>. Visibility is decided by <see cref="CellAccess"/>, as for
/// the lists: a hidden population or an inactive partnership contributes nothing. Figures resting on a counts-only
/// cell are not computed: they would let me read the partner's membership off my own amounts.
/// </summary>
public sealed class PipelineHealth(
    IPopulationRepository populations,
    IPartnershipRepository partnerships,
    PartnerViews views,
    PopulationDataCache data,
    OverlapComputation overlaps,
    IAuditRepository audit,
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
            var one = await partnerships.GetAsync(caller.OrganizationId, partnershipId, ct);
            if (one is null) return new Failure.NotFound("partnership");
            chosen = [one];
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
        var anyPartner = new HashSet<string>(StringComparer.Ordinal);
        var leftOut = 0;
        foreach (var partnership in chosen.Where(p => p.Status == PartnershipStatus.Active))
        {
            var view = await views.LoadAsync(caller.OrganizationId, partnership.Id, ct);
            if (view is null || !view.Partnership.SharesData) continue;
            var (access, customerPopulations, overlapping) = await OverlappingAsync(view, mine, ct);
            PipelineFigureSet? figures = null;
            if (access == FigureAccess.Exact)
            {
                figures = PipelineFigures.For(opportunities, overlapping, money, range!);
                anyPartner.UnionWith(overlapping);
            }
            else if (access == FigureAccess.CountsOnly) leftOut++;
            partners.Add(new PartnerPipeline(partnership.Id, view.Partner, access, customerPopulations, figures));
        }

        await audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, ReadAction, partnershipId,
            new { period = range!.ToString(), currency = money, partners = partners.Count }), ct);
        return new PipelineReport(money, range!, opportunities.Count, mine, PipelineFigures.CoverageOf(opportunities, anyPartner, money), leftOut,
            partners.OrderBy(p => p.Partner.Name, StringComparer.OrdinalIgnoreCase).ToList(), now);
    }

    /// <summary>
    /// The leaderboard (docs/health.md): the partners with exact figures, scored and tiered, and the concentration of
    /// their potential revenue. Partners without exact figures are in the report, unscored.
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
        return board.Failure is { } failure ? failure : LeadershipReport.From(board.Value!);
    }

    /// <summary>
    /// The record ids of my opportunities that overlap any customer population of the partner that the partner shares
    /// with me at the overlaps level, and how the partner's cells are shared. A cell the partner hides does not exist here.
    /// </summary>
    private async Task<(FigureAccess Access, int CustomerPopulations, HashSet<string> Overlapping)> OverlappingAsync(
        PartnerView view, IReadOnlyList<PopulationSummary> mine, CancellationToken ct)
    {
        var overlapping = new HashSet<string>(StringComparer.Ordinal);
        var countsOnly = false;
        var customerPopulations = new HashSet<string>(StringComparer.Ordinal);
        foreach (var theirs in view.PartnerPopulations.Where(p => p.Type == "customers"))
            foreach (var population in mine)
            {
                switch (CellAccess.Decide(view, population.Id, theirs.Id))
                {
                    case CellAccess.Records cell:
                        customerPopulations.Add(theirs.Id);
                        if (cell.Theirs.CurrentVersionId is null) break;
                        var ids = await overlaps.WithRecordsAsync(view, cell.Mine, cell.Theirs, async overlap =>
                        {
                            var records = await overlaps.MyRecordsAsync(overlap, overlap.Result.MyOrdinals, ct);
                            return overlap.Result.MyOrdinals.Select(o => records[o].RecordId).ToList();
                        }, ct);
                        foreach (var id in ids) overlapping.Add(id);
                        break;
                    case CellAccess.CountsOnly:
                        customerPopulations.Add(theirs.Id);
                        countsOnly = true;
                        break;
                }
            }
        var access = countsOnly ? FigureAccess.CountsOnly : customerPopulations.Count == 0 ? FigureAccess.NoCells : FigureAccess.Exact;
        return (access, customerPopulations.Count, overlapping);
    }
}
