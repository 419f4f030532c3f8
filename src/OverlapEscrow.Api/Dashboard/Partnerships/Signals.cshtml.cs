using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Signals;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// Co-selling signals with one partner (CoSelling.ForPartnershipAsync: joint, reference and reciprocal cells within
/// what the partner shares) and my opportunities with no partner attached (CoSelling.UnattachedAsync), the same use
/// cases as /v1/partnerships/{id}/signals and /v1/signals/unattached.
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class SignalsModel(CoSelling signals, PartnershipLifecycle partnerships) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public PartnershipSignals? Signals { get; private set; }
    public IReadOnlyList<UnattachedOpportunity> Unattached { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var outcome = await signals.ForPartnershipAsync(Caller, partnershipId, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Signals = outcome.Value;
        Unattached = (await signals.UnattachedAsync(Caller, null, ct)).Where(u => u.Overlaps.Any(o => o.PartnershipId == partnershipId)).ToList();
        return Page();
    }
}
