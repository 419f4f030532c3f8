using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Sharing;

/// <summary>
/// What a partner would see of one of my populations under a proposed rule: when it compares its population
/// <see cref="Theirs"/> (null: any of its populations I do not see or that has no rule of its own) with
/// <see cref="MyPopulationId"/>, the rule in force and, at the overlaps level, the fields it would receive for a few
/// of my records (<see cref="Examples"/>).
/// </summary>
public sealed record PreviewCell(string MyPopulationId, string MyPopulationName, PartnerPopulationView? Theirs, EffectiveSharing Sharing,
    IReadOnlyList<IReadOnlyDictionary<string, string>> Examples);

public sealed record PartnerPreview(string PartnershipId, Domain.Organizations.PartnerOrganization Partner, PartnershipStatus Status, IReadOnlyList<PreviewCell> Cells);

/// <summary>A proposed change's effect on each partner, computed by the same rules that will apply once it is saved.</summary>
public sealed record SharingPreview(IReadOnlyList<PartnerPreview> Partners);

/// <summary>
/// Previews a sharing change before it is saved. The proposed rules replace mine in a copy of each partner view, and
/// the domain's own rules decide: <see cref="SharingPolicy.Resolve"/> (through <see cref="PartnerView.IShare"/>) the
/// rule in force, <see cref="FieldProjection.Project"/> the fields. Only what I may know appears: my rules, my
/// records, and the partner populations that exist for me (<see cref="PartnerVisibility"/>) — never a partner's counts
/// or records. Validation is the save's own (<see cref="SharingSettings"/>), so a preview that passes saves.
/// </summary>
public sealed class SharingPreviews(IPopulationRepository populations, IPartnershipRepository partnerships, PartnerViews views, PopulationDataCache data)
{
    public const int ExampleRecords = 3;

    /// <summary>What each partner (open partnerships) would see of a population if its default rule were <paramref name="input"/>.</summary>
    public async Task<Outcome<SharingPreview>> DefaultAsync(Caller caller, string populationId, SharingSettingInput input, CancellationToken ct)
    {
        var population = await populations.GetAsync(caller.OrganizationId, populationId, ct);
        if (population is null) return new Failure.NotFound("population");
        var errors = new FieldErrors();
        var rule = SharingSettings.Parse(input, populationId, null, null, "$", errors);
        if (rule is null) return new Failure.Invalid(errors.All);

        var partners = new List<PartnerPreview>();
        var examples = new Examples(caller.OrganizationId, data);
        foreach (var partnership in await partnerships.ListAsync(caller.OrganizationId, ct))
        {
            if (partnership.Status is not (PartnershipStatus.Invited or PartnershipStatus.Active)) continue;
            var view = await views.LoadAsync(caller.OrganizationId, partnership.Id, ct);
            if (view is null) continue;
            var rules = view.MyRules.Where(r => !(r.PopulationId == populationId && r.PartnershipId is null && r.PartnerPopulationId is null)).Append(rule).ToList();
            partners.Add(await PreviewAsync(view, view with { MyRules = rules }, [population], examples, ct));
        }
        return new SharingPreview(partners);
    }

    /// <summary>What the partner would see of each of my populations if my overrides for this partnership were <paramref name="items"/>.</summary>
    public async Task<Outcome<SharingPreview>> PartnershipAsync(Caller caller, string partnershipId, IReadOnlyList<PopulationSharingInput?> items, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        var errors = new FieldErrors();
        var proposed = SharingSettings.PartnershipOverrides(view, items, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);
        var rules = view.MyRules.Where(r => r.PartnershipId != partnershipId).Concat(proposed).ToList();
        return new SharingPreview([await PreviewAsync(view, view with { MyRules = rules }, view.MyPopulations, new Examples(caller.OrganizationId, data), ct)]);
    }

    private static async Task<PartnerPreview> PreviewAsync(PartnerView current, PartnerView proposed, IReadOnlyList<PopulationSummary> mine, Examples examples,
        CancellationToken ct)
    {
        // The partner populations I may know of: those that exist for me now (none before acceptance or after the end).
        var theirs = PartnerVisibility.VisiblePopulations(current);
        var cells = new List<PreviewCell>();
        foreach (var population in mine)
        {
            foreach (var partnerPopulation in theirs)
            {
                var sharing = proposed.IShare(population.Id, partnerPopulation.Id);
                cells.Add(new PreviewCell(population.Id, population.Name, PartnerPopulationView.Of(partnerPopulation), sharing,
                    await examples.ForAsync(population, sharing, ct)));
            }
            // Any other partner population: the rule that names no partner population.
            var general = proposed.IShare(population.Id, "");
            cells.Add(new PreviewCell(population.Id, population.Name, null, general, await examples.ForAsync(population, general, ct)));
        }
        return new PartnerPreview(current.Partnership.Id, current.Partner, current.Partnership.Status, cells);
    }

    /// <summary>The first records of my populations (by record id), projected as a partner would receive them.</summary>
    private sealed class Examples(string organizationId, PopulationDataCache data)
    {
        private readonly Dictionary<string, IReadOnlyList<Domain.Records.EscrowRecord>> _records = [];

        public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> ForAsync(PopulationSummary population, EffectiveSharing sharing, CancellationToken ct)
        {
            if (sharing.Level != SharingLevel.Overlaps || sharing.Fields.Count == 0 || population.CurrentVersionId is null) return [];
            if (!_records.TryGetValue(population.Id, out var records))
            {
                PopulationData version;
                try { version = await data.GetAsync(organizationId, population.Id, population.CurrentVersionId, ct); }
                catch (VersionGoneException) { return []; }
                var first = Enumerable.Range(0, Math.Min(ExampleRecords, version.RecordCount)).ToList();
                var read = await data.RecordsAsync(organizationId, population.Id, version, first, ct);
                _records[population.Id] = records = first.Select(o => read[o]).ToList();
            }
            return records.Select(r => FieldProjection.Project(r, sharing, population.Type)).ToList();
        }
    }
}
