using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Domain.Disclosure;
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
        string partnershipId, CurrentUser user, SharingChanges sharing, CancellationToken ct)
    {
        var outcome = await sharing.GetForPartnershipAsync(user.Caller, partnershipId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PartnershipSharingResponse.From(outcome.Value!));
    }

    private static async Task<Results<Ok<PartnershipSharingResponse>, ProblemHttpResult>> Put(
        string partnershipId, PartnershipSharingRequest request, CurrentUser user, SharingChanges sharing, CancellationToken ct)
    {
        // A null entry stays null, for the rules to name it (JSON's null where an object belongs).
        var items = (request.Populations ?? []).Select(i => i is null ? null : new PopulationSharingInput(i.PopulationId, new SharingSettingInput(i.Level, i.Fields, i.MinimumCount),
            i.Overrides?.Select(o => o is null ? null : new OverrideInput(o.PartnerPopulationId, new SharingSettingInput(o.Level, o.Fields, o.MinimumCount))).ToList())).ToList();
        var outcome = await sharing.SetForPartnershipAsync(user.Caller, partnershipId, items, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PartnershipSharingResponse.From(outcome.Value!));
    }
}

public sealed record SharingSettingRequest(string? Level, IReadOnlyList<string?>? Fields, int? MinimumCount)
{
    public SharingSettingInput ToInput() => new(Level, Fields, MinimumCount);
}

public sealed record SharingOverrideRequest(string? PartnerPopulationId, string? Level, IReadOnlyList<string?>? Fields, int? MinimumCount);

/// <summary>My rules for one population in one partnership: level null means "no override, the default applies".</summary>
public sealed record PopulationSharingRequest(string? PopulationId, string? Level, IReadOnlyList<string?>? Fields, int? MinimumCount,
    IReadOnlyList<SharingOverrideRequest>? Overrides);

public sealed record PartnershipSharingRequest(IReadOnlyList<PopulationSharingRequest>? Populations);

/// <summary>A rule as stored, with the minimum in force; <see cref="MinimumCountInherited"/> when the rule sets none (leave it out to keep inheriting).</summary>
public sealed record SharingSettingResponse(SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount, bool MinimumCountInherited)
{
    public static SharingSettingResponse From(SharingSetting s) => new(s.Level, s.Fields, s.MinimumCount, s.MinimumInherited);
}

public sealed record SharingOverrideResponse(string PartnerPopulationId, SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount, bool MinimumCountInherited);

public sealed record MySharingResponse(string PopulationId, string PopulationName, string PopulationType,
    SharingSettingResponse Default, SharingSettingResponse? Partnership, IReadOnlyList<SharingOverrideResponse> Overrides);

public sealed record SharingCellResponse(string MyPopulationId, SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount);

/// <summary>A partner population visible to me; <see cref="DataUpdatedAt"/> is when its current version was committed (its last upload).</summary>
public sealed record TheirSharingResponse(string PopulationId, string PopulationName, string PopulationType, DateTimeOffset? DataUpdatedAt, IReadOnlyList<SharingCellResponse> Cells);

public sealed record PartnershipSharingResponse(string PartnershipId, IReadOnlyList<MySharingResponse> Mine, IReadOnlyList<TheirSharingResponse> Theirs)
{
    public static PartnershipSharingResponse From(PartnershipSharing s) => new(s.PartnershipId,
        s.Mine.Select(m => new MySharingResponse(m.PopulationId, m.PopulationName, m.PopulationType, SharingSettingResponse.From(m.Default),
            m.Partnership is null ? null : SharingSettingResponse.From(m.Partnership),
            m.Overrides.Select(o => new SharingOverrideResponse(o.PartnerPopulationId, o.Setting.Level, o.Setting.Fields, o.Setting.MinimumCount, o.Setting.MinimumInherited)).ToList())).ToList(),
        s.Theirs.Select(t => new TheirSharingResponse(t.Population.Id, t.Population.Name, t.Population.Type, t.Population.DataUpdatedAt,
            t.Cells.Select(c => new SharingCellResponse(c.MyPopulationId, c.Level, c.Fields, c.MinimumCount)).ToList())).ToList());
}
