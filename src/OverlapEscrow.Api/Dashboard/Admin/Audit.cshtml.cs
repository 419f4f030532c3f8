using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Audit;

namespace OverlapEscrow.Api.Dashboard.Admin;

/// <summary>
/// The audit log as my organization reads it (AuditTrail.ListAsync: my events, and partners' releases of my data shown
/// through PartnerAuditView), with the verification of my organization's hash chain against its signed checkpoints
/// (AuditTrail.VerifyAsync, as GET /v1/audit/verify).
/// </summary>
[DashboardAuthorize(Policies.Admin)]
public sealed class AuditModel(AuditTrail audit) : DashboardPage
{
    public const int PageSize = 100;

    [BindProperty(SupportsGet = true, Name = "after")] public long? After { get; set; }

    public IReadOnlyList<AuditEntryView> Events { get; private set; } = [];
    public ChainVerification? Verification { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (UnboundQuery() is { } unbound) return Fail(unbound);
        var outcome = await audit.ListAsync(Caller, After, PageSize, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Events = outcome.Value!;
        Verification = await audit.VerifyAsync(Caller, ct);
        return Page();
    }
}
