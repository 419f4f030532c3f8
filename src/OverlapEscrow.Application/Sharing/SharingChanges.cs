using OverlapEscrow.Domain;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Sharing;

/// <summary>
/// A rule as its owner sees it, with the minimum in force: inherited from a less specific rule (or the default 5) when
/// the rule sets none, which <see cref="MinimumInherited"/> says — a form or a client that writes the rule back leaves
/// the minimum out then, so that a later change of the less specific rule still reaches it.
/// </summary>
public sealed record SharingSetting(SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount, bool MinimumInherited = false);

public sealed record SharingOverride(string PartnerPopulationId, SharingSetting Setting);

/// <summary>My rules for one of my populations in one partnership: the default, my override for the partner (if any), per partner population.</summary>
public sealed record MySharing(string PopulationId, string PopulationName, string PopulationType, SharingSetting Default, SharingSetting? Partnership,
    IReadOnlyList<SharingOverride> Overrides);

/// <summary>What the partner shares with one of my populations, for one of its populations.</summary>
public sealed record SharedCell(string MyPopulationId, SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount);

/// <summary>A partner population visible to me, and what the partner shares of it with each of my populations.</summary>
public sealed record TheirSharing(PartnerPopulationView Population, IReadOnlyList<SharedCell> Cells);

public sealed record PartnershipSharing(string PartnershipId, IReadOnlyList<MySharing> Mine, IReadOnlyList<TheirSharing> Theirs);

/// <summary>
/// An owner reads and changes what it shares: a population's default rule for every partner, and its overrides for
/// one partnership. A change takes effect on the partners' very next request; what they derived from what is withdrawn
/// goes with it (<see cref="PermissionWithdrawal"/>), and the change is audited in the same transaction.
/// </summary>
public sealed class SharingChanges(
    IPopulationRepository populations,
    IPartnershipRepository partnerships,
    PartnerViews views,
    ITransactions transactions,
    PermissionWithdrawal withdrawal,
    TimeProvider time)
{
    public async Task<Outcome<SharingSetting>> GetDefaultAsync(Caller caller, string populationId, CancellationToken ct)
    {
        if (await populations.GetAsync(caller.OrganizationId, populationId, ct) is null) return new Failure.NotFound("population");
        var rule = (await partnerships.ListRulesAsync(caller.OrganizationId, ct))
            .FirstOrDefault(r => r.PopulationId == populationId && r.PartnershipId is null && r.PartnerPopulationId is null);
        return Setting(rule) ?? new SharingSetting(SharingLevel.Hidden, [], SharingPolicy.DefaultMinimumCount, MinimumInherited: true);
    }

    public async Task<Outcome<SharingSetting>> SetDefaultAsync(Caller caller, string populationId, SharingSettingInput input, CancellationToken ct)
    {
        if (await populations.GetAsync(caller.OrganizationId, populationId, ct) is null) return new Failure.NotFound("population");
        var errors = new FieldErrors();
        var rule = SharingSettings.Parse(input, populationId, null, null, "$", errors);
        if (rule is null) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        await uow.Partnerships.ReplaceDefaultRulesAsync(caller.OrganizationId, [rule], now, ct);
        // In the order of their ids, as every change that takes several partnerships' locks (IPartnershipRepository.LockAsync).
        foreach (var partnership in (await uow.Partnerships.ListAsync(caller.OrganizationId, ct)).OrderBy(p => p.Id, StringComparer.Ordinal))
            if (partnership.Status is PartnershipStatus.Invited or PartnershipStatus.Active)
                await withdrawal.ApplyAsync(uow, caller.OrganizationId, partnership.Id, populationId, ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "sharing.default_updated", null,
            new { populationId, Level = Wire(rule.Level), rule.Fields, rule.MinimumCount }), ct);
        await uow.CommitAsync(ct);
        return Setting(rule)!;
    }

    public async Task<Outcome<PartnershipSharing>> GetForPartnershipAsync(Caller caller, string partnershipId, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        return view is null ? new Failure.NotFound("partnership") : Describe(view);
    }

    /// <summary>
    /// Replaces my overrides for one partner: per population, and per partner population; populations left out fall back
    /// to their default. My overrides for a partner population hidden from me now are kept unless the save lists them (a
    /// form shows only the partner populations visible now, and a save must not drop a restriction I set while I could
    /// see it: SharingSettings.PartnershipOverrides).
    /// </summary>
    public async Task<Outcome<PartnershipSharing>> SetForPartnershipAsync(Caller caller, string partnershipId, IReadOnlyList<PopulationSharingInput?> items, CancellationToken ct)
    {
        var view = await views.LoadAsync(caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (view.Partnership.Status is not (PartnershipStatus.Invited or PartnershipStatus.Active))
            return new Failure.Conflict($"The partnership is {Wire(view.Partnership.Status)}; its sharing can no longer change.");
        var errors = new FieldErrors();
        var rules = SharingSettings.PartnershipOverrides(view, items, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        await uow.Partnerships.ReplacePartnershipRulesAsync(caller.OrganizationId, partnershipId, rules, now, ct);
        await withdrawal.ApplyAsync(uow, caller.OrganizationId, partnershipId, null, ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "sharing.updated", partnershipId,
            new { rules = rules.Select(r => new { r.PopulationId, PartnerPopulationId = r.PartnerPopulationId ?? "", Level = Wire(r.Level), r.Fields, r.MinimumCount }) }), ct);
        // Gone meanwhile (the partner erased itself, ending the partnership): nothing to share with, the change is dropped.
        if (await PartnerViews.LoadAsync(uow, caller.OrganizationId, partnershipId, ct) is not { } updated) return new Failure.NotFound("partnership");
        await uow.CommitAsync(ct);
        return Describe(updated);
    }

    private static PartnershipSharing Describe(PartnerView view)
    {
        var partnershipId = view.Partnership.Id;
        var mine = view.MyPopulations.Select(p =>
        {
            var rules = view.MyRules.Where(r => r.PopulationId == p.Id).ToList();
            var def = rules.FirstOrDefault(r => r.PartnershipId is null && r.PartnerPopulationId is null);
            var forPartner = rules.FirstOrDefault(r => r.PartnershipId == partnershipId && r.PartnerPopulationId is null);
            // Minimums as in force: a rule without one inherits it from the less specific rule (SharingPolicy.Resolve).
            var defaultMinimum = def?.MinimumCount ?? SharingPolicy.DefaultMinimumCount;
            var partnershipMinimum = forPartner?.MinimumCount ?? defaultMinimum;
            // Every override I set, also for a partner population hidden from me now: I named it when I set the rule (or
            // its requester named it to me in a data request), and a save keeps it (SharingSettings.PartnershipOverrides).
            var overrides = rules.Where(r => r.PartnershipId == partnershipId && r.PartnerPopulationId is not null)
                .Select(r => new SharingOverride(r.PartnerPopulationId!, Setting(r, partnershipMinimum)!))
                .ToList();
            return new MySharing(p.Id, p.Name, p.Type,
                Setting(def, defaultMinimum) ?? new SharingSetting(SharingLevel.Hidden, [], defaultMinimum, MinimumInherited: true),
                Setting(forPartner, partnershipMinimum), overrides);
        }).ToList();

        // Before acceptance and after the end, no partner population is visible: none of my business.
        var theirs = PartnerVisibility.VisiblePopulations(view).Select(p => new TheirSharing(PartnerPopulationView.Of(p),
            view.MyPopulations
                .Select(m => (m, s: view.PartnerShares(m.Id, p.Id)))
                .Where(x => x.s.Level != SharingLevel.Hidden)
                .Select(x => new SharedCell(x.m.Id, x.s.Level, x.s.Fields, x.s.MinimumCount))
                .ToList())).ToList();
        return new PartnershipSharing(partnershipId, mine, theirs);
    }

    private static SharingSetting? Setting(SharingRule? rule, int? inheritedMinimum = null) =>
        rule is null ? null : new SharingSetting(rule.Level, rule.Fields, rule.MinimumCount ?? inheritedMinimum ?? SharingPolicy.DefaultMinimumCount,
            MinimumInherited: rule.MinimumCount is null);

    private static string Wire<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();
}
