using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>A sharing setting as an owner asks for it: a level, the fields shared at the overlaps level, a minimum.</summary>
public sealed record SharingSettingInput(string? Level, IReadOnlyList<string?>? Fields, int? MinimumCount);

/// <summary>An owner's rules for one of its populations in one partnership: <see cref="Setting"/> with a null level means "no override".</summary>
public sealed record PopulationSharingInput(string? PopulationId, SharingSettingInput Setting, IReadOnlyList<OverrideInput?>? Overrides);

/// <summary>An owner's rule for one of its populations as seen from one partner population.</summary>
public sealed record OverrideInput(string? PartnerPopulationId, SharingSettingInput Setting);

/// <summary>Which sharing rules an owner may set.</summary>
public static class SharingSettings
{
    public const int MaxMinimumCount = 1_000_000;

    /// <summary>
    /// The rule an owner asks for, or null with the errors under <paramref name="path"/>: a level of hidden, counts or
    /// overlaps; fields only at the overlaps level, at most <see cref="SharingPolicy.MaxFields"/>, each an attribute name,
    /// none twice; a minimum reportable count between 1 and <see cref="MaxMinimumCount"/> (or none: the less specific
    /// rule's, else the default).
    /// </summary>
    public static SharingRule? Parse(SharingSettingInput input, string populationId, string? partnershipId, string? partnerPopulationId,
        string path, FieldErrors errors)
    {
        var before = errors.All.Count;
        if (!Enum.TryParse<SharingLevel>(input.Level, ignoreCase: true, out var level) || !Enum.IsDefined(level) || int.TryParse(input.Level, out _))
        {
            errors.Add(path + ".level", "level is hidden, counts or overlaps.");
            return null;
        }
        var fields = input.Fields ?? [];
        if (level != SharingLevel.Overlaps && fields.Count > 0)
            errors.Add(path + ".fields", "fields are shared only at the overlaps level.");
        if (fields.Count > SharingPolicy.MaxFields)
            errors.Add(path + ".fields", $"At most {SharingPolicy.MaxFields} fields.");
        if (fields.Any(f => f is null || !AttributeNames.IsValid(f)))
            errors.Add(path + ".fields", $"Field names are attribute names: {AttributeNames.Rule}.");
        else if (fields.Distinct(StringComparer.Ordinal).Count() != fields.Count)
            errors.Add(path + ".fields", "A field is listed twice.");
        if (input.MinimumCount is { } min && (min < 1 || min > MaxMinimumCount))
            errors.Add(path + ".minimumCount", $"minimumCount is between 1 and {MaxMinimumCount}.");
        return errors.All.Count > before ? null
            : new SharingRule(populationId, partnershipId, partnerPopulationId, level, fields.Select(f => f!).ToList(), input.MinimumCount);
    }

    /// <summary>
    /// The overrides an owner (the viewer of <paramref name="view"/>) asks for in one partnership, or the errors: each
    /// population one of the owner's, listed once; each override naming a partner population that exists for the owner
    /// (a hidden one answers exactly like one that does not exist, and before the partnership is active none does),
    /// listed once, with a level — or one the owner already has an override for in this partnership (it named that
    /// population when it set the rule, or the partner named it in a data request: nothing new is learnt by naming it
    /// again). The owner's stored overrides for partner populations hidden from it now that the save does not list are
    /// carried over as they are: a form shows only the partner populations visible now, and a save that replaces
    /// everything else must not drop a restriction set while the population was visible (a partner hiding a
    /// population, then waiting for the owner's next save, would otherwise lift it).
    /// </summary>
    public static IReadOnlyList<SharingRule> PartnershipOverrides(PartnerView view, IReadOnlyList<PopulationSharingInput?> items, FieldErrors errors)
    {
        var rules = new List<SharingRule>();
        var visible = PartnerVisibility.VisiblePopulations(view).Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var stored = view.MyRules.Where(r => r.PartnershipId == view.Partnership.Id && r.PartnerPopulationId is not null).ToList();
        var nameable = visible.Union(stored.Select(r => r.PartnerPopulationId!)).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var path = $"populations[{i}]";
            // JSON's null where an object belongs (the binder lets it through): an error naming it, not a failure.
            if (item is null) { errors.Add(path, "Each entry is an object with populationId."); continue; }
            if (item.PopulationId is null || view.MyPopulations.All(p => p.Id != item.PopulationId))
            {
                errors.Add(path + ".populationId", "Not one of your populations.");
                continue;
            }
            if (!seen.Add(item.PopulationId)) { errors.Add(path + ".populationId", "The population is listed twice."); continue; }
            if (item.Setting.Level is not null && Parse(item.Setting, item.PopulationId, view.Partnership.Id, null, path, errors) is { } rule)
                rules.Add(rule);
            var overridden = new HashSet<string>(StringComparer.Ordinal);
            var overrides = item.Overrides ?? [];
            for (var j = 0; j < overrides.Count; j++)
            {
                var o = overrides[j];
                var opath = $"{path}.overrides[{j}]";
                if (o is null) { errors.Add(opath, "Each override is an object with partnerPopulationId and level."); continue; }
                if (o.PartnerPopulationId is null || !nameable.Contains(o.PartnerPopulationId))
                {
                    errors.Add(opath + ".partnerPopulationId", "Not a partner population visible to you.");
                    continue;
                }
                if (!overridden.Add(o.PartnerPopulationId)) { errors.Add(opath + ".partnerPopulationId", "Listed twice."); continue; }
                if (o.Setting.Level is null) { errors.Add(opath + ".level", "level is required."); continue; }
                if (Parse(o.Setting, item.PopulationId, view.Partnership.Id, o.PartnerPopulationId, opath, errors) is { } orule)
                    rules.Add(orule);
            }
        }
        rules.AddRange(stored.Where(r => !visible.Contains(r.PartnerPopulationId!)
            && !rules.Any(n => n.PopulationId == r.PopulationId && n.PartnerPopulationId == r.PartnerPopulationId)));
        return rules;
    }
}
