using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Api.Partnerships;

/// <summary>
/// The owner's side of privacy-protected counts with one partner: its budget and settings (docs/privacy.md). The viewer
/// side needs no endpoint: every counts-level value it reads carries its own protection.
/// </summary>
public static class PrivacyApi
{
    public static RouteGroupBuilder MapPrivacy(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/partnerships/{partnershipId}/privacy").WithTags("Privacy");
        group.MapGet("", Get).RequireAuthorization(Policies.PartnershipsRead)
            .WithName("GetPartnershipPrivacy")
            .WithSummary("My privacy-protected counts with this partner: budget spent and remaining in the current period, and the settings in force")
            .WithDescription("Every counts-level value this partner reads of my populations is noised and spends from my budget with its organization; the guarantee, the defaults and what they mean are in docs/privacy.md.");
        group.MapPut("", Put).RequireAuthorization(Policies.PartnershipsWrite)
            .WithName("SetPartnershipPrivacy")
            .WithSummary("Replace my privacy settings for this partner (left out: the escrow's default)")
            .WithDescription("epsilonPerPeriod (0.01–100; above 0.6 the answer warns how weak the guarantee becomes), epsilonPerRelease (0.001–epsilonPerPeriod), refreshIntervalMinutes (0–129600). exactCounts=true gives up the guarantee and needs confirmExactCounts=true; the answer then carries a warning. Takes effect on the next release; turning exact counts off withdraws exact values at once. 409 when the partnership has ended.")
            .ProducesProblem(409);
        return group;
    }

    private static async Task<Results<Ok<PrivacyResponse>, ProblemHttpResult>> Get(string partnershipId, CurrentUser user, PrivacyBudgets budgets, CancellationToken ct)
    {
        var outcome = await budgets.GetAsync(user.Caller, partnershipId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PrivacyResponse.From(outcome.Value!));
    }

    private static async Task<Results<Ok<PrivacyResponse>, ProblemHttpResult>> Put(string partnershipId, PrivacySettingsRequest request, CurrentUser user,
        PrivacyBudgets budgets, CancellationToken ct)
    {
        var outcome = await budgets.SetAsync(user.Caller, partnershipId, new PrivacySettingsInput(request.EpsilonPerPeriod, request.EpsilonPerRelease,
            request.RefreshIntervalMinutes, request.ExactCounts, request.ConfirmExactCounts), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(PrivacyResponse.From(outcome.Value!));
    }
}

/// <summary>My settings for one partner; a field left out (or null) returns to the escrow's default.</summary>
public sealed record PrivacySettingsRequest(decimal? EpsilonPerPeriod, decimal? EpsilonPerRelease, int? RefreshIntervalMinutes, bool? ExactCounts,
    bool? ConfirmExactCounts);

/// <summary>
/// Privacy settings with what they imply: <see cref="AdvantageBound"/> bounds the membership advantage of an attacker who
/// spends a whole period's budget on one account (tanh(ε/2)); a released count is within ± <see cref="MarginOfError"/>
/// of the true one with probability <see cref="Confidence"/>, and within ± <see cref="MedianError"/> half of the time.
/// </summary>
public sealed record PrivacySettingsResponse(decimal EpsilonPerPeriod, decimal EpsilonPerRelease, long RefreshIntervalMinutes, bool ExactCounts,
    long ReleasesPerPeriod, double AdvantageBound, int MarginOfError, int MedianError, double Confidence)
{
    public static PrivacySettingsResponse From(PrivacySettings s) => new(s.PerPeriod.ToDecimal(), s.PerRelease.ToDecimal(), (long)s.RefreshInterval.TotalMinutes,
        s.ExactCounts, s.ExactCounts ? 0 : s.ReleasesPerPeriod, Math.Round(s.AdvantageBound, 4), s.MarginOfError,
        s.ExactCounts ? 0 : DiscreteLaplaceFacts.MedianError(s.PerRelease), PrivacySettings.Confidence);
}

/// <summary>What I set myself for this partner (null: the default applies).</summary>
public sealed record PrivacyOverridesResponse(decimal? EpsilonPerPeriod, decimal? EpsilonPerRelease, long? RefreshIntervalMinutes, bool ExactCounts);

/// <summary>The current period of my budget with this partner (periods run from the Unix epoch, PeriodDays long).</summary>
public sealed record PrivacyBudgetResponse(DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, decimal Spent, decimal Remaining, int Releases, long ReleasesRemaining);

public sealed record PrivacyResponse(
    string PartnershipId,
    PartnerSummary Partner,
    PrivacySettingsResponse Settings,
    PrivacyOverridesResponse Overrides,
    PrivacySettingsResponse Defaults,
    PrivacyBudgetResponse Budget,
    IReadOnlyList<string> CountsPopulationIds,
    DateTimeOffset? UpdatedAt,
    string? UpdatedBy,
    IReadOnlyList<string> Warnings)
{
    public static PrivacyResponse From(PrivacyReport r) => new(r.PartnershipId, new PartnerSummary(r.Partner.Id, r.Partner.Slug, r.Partner.Name),
        PrivacySettingsResponse.From(r.InForce),
        new PrivacyOverridesResponse(r.Overrides.PerPeriod?.ToDecimal(), r.Overrides.PerRelease?.ToDecimal(),
            r.Overrides.RefreshInterval is { } i ? (long)i.TotalMinutes : null, r.Overrides.ExactCounts),
        PrivacySettingsResponse.From(r.Defaults),
        new PrivacyBudgetResponse(r.Period.Start, r.Period.End, r.Spent.ToDecimal(), r.Remaining.ToDecimal(), r.ReleasesThisPeriod, r.ReleasesRemaining),
        r.CountsPopulations, r.UpdatedAt, r.UpdatedBy, r.Warnings);
}
