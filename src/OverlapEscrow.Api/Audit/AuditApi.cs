using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Audit;

namespace OverlapEscrow.Api.Audit;

public static class AuditApi
{
    public static RouteGroupBuilder MapAudit(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(Policies.Admin);
        group.MapGet("", List).WithName("ListAuditEvents")
            .WithSummary("Audit events of my organization and of the partnerships it is part of (partner data releases included)")
            .WithDescription("Admins only. Oldest first; page with limit (1-1000, default 100) and after (the nextAfter of the previous page). A partner's events show only what concerns my populations.");
        group.MapGet("/verify", Verify).WithName("VerifyAuditLog")
            .WithSummary("Recompute the whole hash chain and say whether it is intact")
            .WithDescription("Returns the event count and head hash: record them outside the escrow to detect later truncation of the tail.");
        return group;
    }

    private static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> List(
        [FromQuery] long? after, [FromQuery] int? limit, CurrentUser user, AuditTrail audit, CancellationToken ct)
    {
        var size = limit ?? 100;
        var outcome = await audit.ListAsync(user.Caller, after, size, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var items = outcome.Value!.Select(e => new AuditEventResponse(e.Seq, e.At, e.ByMyOrganization, e.Actor, e.Action, e.PartnershipId, e.Detail,
            Convert.ToHexStringLower(e.Hash))).ToList();
        return TypedResults.Ok(new AuditPage(items, items.Count == size ? items[^1].Seq : null));
    }

    private static async Task<Ok<AuditVerificationResponse>> Verify(AuditTrail audit, CancellationToken ct)
    {
        var result = await audit.VerifyAsync(ct);
        return TypedResults.Ok(new AuditVerificationResponse(result.Valid, result.FirstBrokenSeq, result.EventCount, Convert.ToHexStringLower(result.HeadHash)));
    }
}

/// <summary>An audit event; <see cref="ByMyOrganization"/> is false for a partner's action in a shared partnership.</summary>
public sealed record AuditEventResponse(long Seq, DateTimeOffset At, bool ByMyOrganization, string Actor, string Action, string? PartnershipId, JsonElement Detail, string Hash);

public sealed record AuditPage(IReadOnlyList<AuditEventResponse> Items, long? NextAfter);

/// <summary>Whether the whole chain verifies; the count and head hash of the verified prefix, to record elsewhere.</summary>
public sealed record AuditVerificationResponse(bool Valid, long? FirstBrokenSeq, long EventCount, string HeadHash);
