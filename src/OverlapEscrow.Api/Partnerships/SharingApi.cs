using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Populations.Uploads;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Partnerships;

public static class SharingApi
{
    public static RouteGroupBuilder MapSharing(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/partnerships/{partnershipId}/sharing").WithTags("Sharing");
        group.MapGet("", Get).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("GetPartnershipSharing")
            .WithSummary("What I share with this partner (defaults and overrides) and what it shares with me")
            .WithDescription("'theirs' lists only the partner populations not hidden from me, with the level and fields per cell, and only while the partnership is active.");
        group.MapPut("", Put).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("SetPartnershipSharing")
            .WithSummary("Replace my overrides for this partner: per population, and per partner population")
            .WithDescription("Populations left out fall back to their default rule. Takes effect on the next request; derived overlap results of the partnership are dropped.")
            .ProducesProblem(409);
        return group;
    }

    private static async Task<Results<Ok<PartnershipSharingResponse>, ProblemHttpResult>> Get(
        string partnershipId, CurrentUser user, OverlapService service, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        return TypedResults.Ok(Describe(view));
    }

    private static async Task<Results<Ok<PartnershipSharingResponse>, ProblemHttpResult>> Put(
        string partnershipId, PartnershipSharingRequest request, CurrentUser user, OverlapService service,
        IPartnershipRepository partnerships, OverlapCache overlaps, OverlapRefresher refresher, OverlapHistory history, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        var view = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        if (view is null) return Problems.NotFound("partnership");
        if (view.Partnership.Status is not (PartnershipStatus.Invited or PartnershipStatus.Active))
            return Problems.Conflict($"The partnership is {view.Partnership.Status.ToWire()}; its sharing can no longer change.");

        var now = Time.ToUnixMs(time.GetUtcNow());
        var errors = new FieldErrors();
        var rows = new List<SharingRuleRow>();
        var visiblePartner = view.Partnership.SharesData ? view.VisiblePartnerPopulations.Select(p => p.Id).ToHashSet() : [];
        var seen = new HashSet<string>();
        var items = request.Populations ?? [];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var path = $"populations[{i}]";
            if (item.PopulationId is null || view.MyPopulations.All(p => p.Id != item.PopulationId))
            {
                errors.Add(path + ".populationId", "Not one of your populations.");
                continue;
            }
            if (!seen.Add(item.PopulationId)) { errors.Add(path + ".populationId", "The population is listed twice."); continue; }
            if (item.Level is not null && SharingRules.ToRow(user.OrganizationId, item.PopulationId, partnershipId, "", item, now, path, errors) is { } rule)
                rows.Add(rule);
            var overridden = new HashSet<string>();
            var overrides = item.Overrides ?? [];
            for (var j = 0; j < overrides.Count; j++)
            {
                var o = overrides[j];
                var opath = $"{path}.overrides[{j}]";
                // A partner population hidden from me is indistinguishable from one that does not exist.
                if (o.PartnerPopulationId is null || !visiblePartner.Contains(o.PartnerPopulationId))
                {
                    errors.Add(opath + ".partnerPopulationId", "Not a partner population visible to you.");
                    continue;
                }
                if (!overridden.Add(o.PartnerPopulationId)) { errors.Add(opath + ".partnerPopulationId", "Listed twice."); continue; }
                if (o.Level is null) { errors.Add(opath + ".level", "level is required."); continue; }
                if (SharingRules.ToRow(user.OrganizationId, item.PopulationId, partnershipId, o.PartnerPopulationId,
                        new SharingSettingRequest(o.Level, o.Fields, o.MinimumCount), now, opath, errors) is { } orow)
                    rows.Add(orow);
            }
        }
        if (errors.Any) return errors.ToProblem();

        await partnerships.ReplacePartnershipRulesAsync(user.OrganizationId, partnershipId, rows, ct);
        overlaps.Evict(partnershipId);
        // What the partner derived from a cell hidden now goes with the permission, at once.
        if (await service.LoadAsync(view.Partner.Id, partnershipId, ct) is { } partnerView) await history.ForgetHiddenCellsAsync(partnerView, ct);
        // History and overlaps.changed follow the new rules.
        refresher.PartnershipChanged(user.OrganizationId, partnershipId);
        await audit.AppendAsync(now, user.OrganizationId, user.Actor, "sharing.updated", partnershipId,
            new { rules = rows.Select(r => new { r.PopulationId, r.PartnerPopulationId, r.Level, r.Fields, r.MinimumCount }) }, ct);
        var updated = await service.LoadAsync(user.OrganizationId, partnershipId, ct);
        return TypedResults.Ok(Describe(updated!));
    }

    private static PartnershipSharingResponse Describe(PartnerView view)
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
            var overrides = rules.Where(r => r.PartnershipId == partnershipId && r.PartnerPopulationId is not null)
                .Select(r => new SharingOverride(r.PartnerPopulationId!, r.Level.ToWire(), r.Fields, r.MinimumCount ?? partnershipMinimum))
                .ToList();
            return new MySharing(p.Id, p.Name, p.Type,
                SharingRules.Setting(def, defaultMinimum) ?? new SharingSetting(SharingLevel.Hidden.ToWire(), [], defaultMinimum),
                SharingRules.Setting(forPartner, partnershipMinimum), overrides);
        }).ToList();

        // Before acceptance and after the end, the partner's populations are none of my business.
        var theirs = !view.Partnership.SharesData ? [] : view.VisiblePartnerPopulations.Select(p => new TheirSharing(p.Id, p.Name, p.Type, Time.FromUnixMs(p.CommittedAt),
            view.MyPopulations
                .Select(m => (m, s: view.PartnerShares(m.Id, p.Id)))
                .Where(x => x.s.Level != SharingLevel.Hidden)
                .Select(x => new SharingCell(x.m.Id, x.s.Level.ToWire(), x.s.Fields, x.s.MinimumCount))
                .ToList())).ToList();
        return new PartnershipSharingResponse(partnershipId, mine, theirs);
    }
}

/// <summary>Validation and mapping of sharing settings, shared by population defaults and partnership overrides.</summary>
public static class SharingRules
{
    public const int MaxMinimumCount = 1_000_000;

    public static SharingRuleRow? ToRow(string organizationId, string populationId, string partnershipId, string partnerPopulationId,
        SharingSettingRequest setting, long now, string path, FieldErrors errors)
    {
        if (!Enum.TryParse<SharingLevel>(setting.Level, ignoreCase: true, out var level) || !Enum.IsDefined(level) || int.TryParse(setting.Level, out _))
        {
            errors.Add(path + ".level", "level is hidden, counts or overlaps.");
            return null;
        }
        var fields = setting.Fields ?? [];
        if (level != SharingLevel.Overlaps && fields.Count > 0)
            errors.Add(path + ".fields", "fields are shared only at the overlaps level.");
        if (fields.Count > SharingPolicy.MaxFields)
            errors.Add(path + ".fields", $"At most {SharingPolicy.MaxFields} fields.");
        foreach (var f in fields)
            if (f is null || !RowRules.IsValidAttributeName(f)) { errors.Add(path + ".fields", "Field names are attribute names: 1-64 letters, digits or underscores, starting with a letter."); break; }
        if (fields.Distinct().Count() != fields.Count) errors.Add(path + ".fields", "A field is listed twice.");
        if (setting.MinimumCount is { } min && (min < 1 || min > MaxMinimumCount))
            errors.Add(path + ".minimumCount", $"minimumCount is between 1 and {MaxMinimumCount}.");
        return new SharingRuleRow
        {
            OrganizationId = organizationId,
            PopulationId = populationId,
            PartnershipId = partnershipId,
            PartnerPopulationId = partnerPopulationId,
            Level = level.ToWire(),
            Fields = JsonSerializer.Serialize(fields),
            MinimumCount = setting.MinimumCount,
            UpdatedAt = now,
        };
    }

    public static SharingSetting? Setting(SharingRule? rule, int? inheritedMinimum = null) =>
        rule is null ? null : new SharingSetting(rule.Level.ToWire(), rule.Fields, rule.MinimumCount ?? inheritedMinimum ?? SharingPolicy.DefaultMinimumCount);
}

public sealed record SharingSettingRequest(string? Level, IReadOnlyList<string>? Fields, int? MinimumCount);

public sealed record SharingOverrideRequest(string? PartnerPopulationId, string? Level, IReadOnlyList<string>? Fields, int? MinimumCount);

/// <summary>My rules for one population in one partnership: level null means "no override, the default applies".</summary>
public sealed record PopulationSharingRequest(string? PopulationId, string? Level, IReadOnlyList<string>? Fields, int? MinimumCount,
    IReadOnlyList<SharingOverrideRequest>? Overrides)
{
    public static implicit operator SharingSettingRequest(PopulationSharingRequest r) => new(r.Level, r.Fields, r.MinimumCount);
}

public sealed record PartnershipSharingRequest(IReadOnlyList<PopulationSharingRequest>? Populations);

public sealed record SharingSetting(string Level, IReadOnlyList<string> Fields, int MinimumCount);

public sealed record SharingOverride(string PartnerPopulationId, string Level, IReadOnlyList<string> Fields, int MinimumCount);

public sealed record MySharing(string PopulationId, string PopulationName, string PopulationType,
    SharingSetting Default, SharingSetting? Partnership, IReadOnlyList<SharingOverride> Overrides);

public sealed record SharingCell(string MyPopulationId, string Level, IReadOnlyList<string> Fields, int MinimumCount);

/// <summary>A partner population visible to me; <see cref="DataUpdatedAt"/> is when its current version was committed (its last upload).</summary>
public sealed record TheirSharing(string PopulationId, string PopulationName, string PopulationType, DateTimeOffset? DataUpdatedAt, IReadOnlyList<SharingCell> Cells);

public sealed record PartnershipSharingResponse(string PartnershipId, IReadOnlyList<MySharing> Mine, IReadOnlyList<TheirSharing> Theirs);
