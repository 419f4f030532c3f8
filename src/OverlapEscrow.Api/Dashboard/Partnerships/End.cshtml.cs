using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>Ending a partnership (or withdrawing an invitation): a confirmation that says what stops, then PartnershipLifecycle.TerminateAsync.</summary>
[DashboardAuthorize(Policies.PartnershipsWrite)]
public sealed class EndModel(PartnershipLifecycle partnerships) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public bool Ended { get; private set; }

    public async Task<IActionResult> OnGetAsync(string partnershipId, CancellationToken ct)
    {
        var outcome = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Partnership = outcome.Value;
        Ended = Partnership!.Partnership.Status is PartnershipStatus.Declined or PartnershipStatus.Terminated;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string partnershipId, CancellationToken ct)
    {
        var outcome = await partnerships.TerminateAsync(Caller, partnershipId, ct);
        if (outcome.Failure is { } failure)
        {
            var current = await partnerships.GetAsync(Caller, partnershipId, ct);
            if (current.Failure is { } missing) return Fail(missing);
            Partnership = current.Value;
            Ended = true;
            return Fail(failure);
        }
        Partnership = outcome.Value;
        Ended = true;
        Notice = $"The partnership with {Partnership!.Partner.Name} has ended.";
        return Page();
    }
}
