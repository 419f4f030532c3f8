using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Signals;

/// <summary>One of my records in a signal cell: my own opportunity fields (when it is an opportunity) and the partner's matches as its rule projects them.</summary>
public sealed record SignalItem(string RecordId, Opportunity? Opportunity, IReadOnlyList<PartnerMatch> Matches);

/// <summary>
/// A cell that carries a co-selling signal. At the overlaps level, <see cref="Items"/> are my records that count for
/// the signal; at the counts level there are none (the cell's privacy-protected count is the matrix's).
/// </summary>
public sealed record SignalCell(SignalKind Kind, PopulationSummary Mine, PartnerPopulationView Theirs, SharingLevel Level, IReadOnlyList<SignalItem> Items);

public sealed record PartnershipSignals(string PartnershipId, PartnerOrganization Partner, IReadOnlyList<SignalCell> Cells);

/// <summary>An open mid/late-stage opportunity of mine that overlaps a partner and has no attribution recorded with any partner.</summary>
public sealed record UnattachedOpportunity(PopulationSummary Population, Opportunity Opportunity, IReadOnlyList<(PartnerOrganization Partner, string PartnershipId, PartnerPopulationView Population)> Overlaps);

/// <summary>
/// Item 4 of docs/health.md: co-selling signals. Each cell's records come through OverlapReports.SignalItemsAsync — the
/// cell's list as ExportAsync reads it (the partner's rule applied, its fields projected), narrowed to what the signal
/// shows and audited as that signal's read (coselling.signal_read, visible to the partner) — so a signal never shows
/// more than the cell's list would.
/// </summary>
public sealed class CoSelling(PartnerViews views, IPartnershipRepository partnerships, IAttributionRepository ledger, OverlapReports reports, IKeyring keyring)
{
    public async Task<Outcome<PartnershipSignals>> ForPartnershipAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (!view.Partnership.SharesData) return new Failure.Conflict("The partnership is not active; it has no signals.");
        var cells = new List<SignalCell>();
        foreach (var cell in PartnerVisibility.Cells(view))
        {
            if (CoSellingRules.KindOf(cell.Mine.Type, cell.Theirs.Type) is not { } kind) continue;
            var items = new List<SignalItem>();
            if (cell.Sharing.Level == SharingLevel.Overlaps)
            {
                var isOpportunities = OpportunityFields.IsOpportunities(cell.Mine.Type);
                var shown = await reports.SignalItemsAsync(caller, partnershipId, cell.Mine.Id, cell.Theirs.Id, Wire(kind),
                    item => CoSellingRules.Counts(kind, isOpportunities ? Read(item) : null), ct);
                if (shown.Failure is not null) continue; // changed meanwhile: left out, as if read a moment later
                foreach (var item in shown.Value!)
                    items.Add(new SignalItem(item.RecordId, isOpportunities ? Read(item) : null, item.Matches));
            }
            cells.Add(new SignalCell(kind, cell.Mine, PartnerPopulationView.Of(cell.Theirs), cell.Sharing.Level, items));
        }
        return new PartnershipSignals(partnershipId, view.Partner, cells);
    }

    /// <summary>
    /// My open mid/late-stage opportunities that overlap at least one partner population shared with me at the overlaps
    /// level (any active partnership), and that have no attribution claim with any partner.
    /// </summary>
    public async Task<IReadOnlyList<UnattachedOpportunity>> UnattachedAsync(Caller caller, IReadOnlyList<string>? midOrLateStages, CancellationToken ct)
    {
        var claimed = new HashSet<(string, string)>();
        using (var reader = new SignalSeals.Reader(keyring))
            foreach (var stored in await ledger.ListMadeAsync(caller.OrganizationId, null, null, ct))
            {
                var claim = await reader.OpenAsync(stored, ct);
                claimed.Add((claim.PopulationId, claim.RecordId));
            }
        var found = new Dictionary<(string Population, string Record), (PopulationSummary Population, Opportunity Opportunity, List<(PartnerOrganization, string, PartnerPopulationView)> Overlaps)>();
        foreach (var partnership in await partnerships.ListAsync(caller.OrganizationId, ct))
        {
            if (partnership.Status != PartnershipStatus.Active) continue;
            var view = await views.LoadAsync(caller.OrganizationId, partnership.Id, ct);
            if (view is null) continue;
            foreach (var cell in PartnerVisibility.Cells(view))
            {
                if (!OpportunityFields.IsOpportunities(cell.Mine.Type) || cell.Sharing.Level != SharingLevel.Overlaps) continue;
                var shown = await reports.SignalItemsAsync(caller, partnership.Id, cell.Mine.Id, cell.Theirs.Id, "unattached",
                    item => CoSellingRules.IsMidOrLate(Read(item), midOrLateStages) && !claimed.Contains((cell.Mine.Id, item.RecordId)), ct);
                if (shown.Failure is not null) continue;
                foreach (var item in shown.Value!)
                {
                    var opportunity = Read(item);
                    if (!found.TryGetValue((cell.Mine.Id, item.RecordId), out var entry))
                        found[(cell.Mine.Id, item.RecordId)] = entry = (cell.Mine, opportunity, []);
                    entry.Overlaps.Add((view.Partner, partnership.Id, PartnerPopulationView.Of(cell.Theirs)));
                }
            }
        }
        return found.Values.OrderBy(f => f.Population.Name, StringComparer.Ordinal).ThenByDescending(f => f.Opportunity.Amount ?? 0m)
            .ThenBy(f => f.Opportunity.RecordId, StringComparer.Ordinal)
            .Select(f => new UnattachedOpportunity(f.Population, f.Opportunity, f.Overlaps)).ToList();
    }

    private static string Wire(SignalKind kind) => kind.ToString().ToLowerInvariant();

    private static Opportunity Read(OverlapItem item) =>
        OpportunityFields.Read(new EscrowRecord(item.RecordId, [], item.Attributes.Select(a => new RecordAttribute(a.Key, a.Value)).ToArray()));
}
