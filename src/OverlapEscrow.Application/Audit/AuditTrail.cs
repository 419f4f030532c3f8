using System.Text.Json;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Audit;

/// <summary>An audit event as an organization may read it: a partner's event carries only what <see cref="PartnerAuditView"/> allows.</summary>
public sealed record AuditEntryView(long Seq, DateTimeOffset At, bool ByMyOrganization, string Actor, string Action, string? PartnershipId, JsonElement Detail, byte[] Hash);

/// <summary>The audit log as an organization reads it, and the verification of the whole chain.</summary>
public sealed class AuditTrail(IAuditRepository audit)
{
    public const int MaxPageSize = 1000;

    public async Task<Outcome<IReadOnlyList<AuditEntryView>>> ListAsync(Caller caller, long? after, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        var events = await audit.ListAsync(caller.OrganizationId, PartnerAuditView.VisibleActions, after ?? 0, limit, ct);
        return events.Select(e =>
        {
            var mine = e.OrganizationId == caller.OrganizationId;
            return new AuditEntryView(e.Seq, e.At, mine, e.Actor, e.Action, e.PartnershipId, mine ? e.Detail : PartnerAuditView.Detail(e.Detail), e.Hash);
        }).ToList();
    }

    public Task<AuditVerification> VerifyAsync(CancellationToken ct) => audit.VerifyAsync(ct);
}
