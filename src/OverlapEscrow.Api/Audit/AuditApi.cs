using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Organizations;
using OverlapEscrow.Application.Audit;

namespace OverlapEscrow.Api.Audit;

public static class AuditApi
{
    public static RouteGroupBuilder MapAudit(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/audit").WithTags("Audit").RequireAuthorization(Policies.Admin);
        group.MapGet("", List).WithName("ListAuditEvents")
            .WithSummary("Audit events of my organization and of the partnerships it is part of (partner data releases included), in my organization's own hash chain")
            .WithDescription("Admins only. Oldest first; page with limit (1-1000, default 100) and after (the nextAfter of the previous page). position counts my organization's events only; hash = SHA-256(previousHash || UTF-8(record)), record being the exact text hashed. A partner's events show only what concerns my populations.");
        group.MapGet("/verify", Verify).WithName("VerifyAuditLog")
            .WithSummary("Verify my organization's audit chain against its signed checkpoints")
            .WithDescription("Every stored checkpoint of my chain must still match it, and the chain is recomputed from the latest checkpoint to its end (not from the beginning). eventCount and headHash are my chain's, never the whole log's.");
        group.MapPost("/verify", VerifyAgainst).WithName("VerifyAuditLogAgainstCheckpoint")
            .WithSummary("Verify my organization's audit chain against a checkpoint I kept")
            .WithDescription("The body is a checkpoint as received (statement, signature, keyId). valid is false when the chain no longer has the head that checkpoint signed at its size: the log was rewritten or cut since.");
        group.MapPost("/checkpoints", CreateCheckpoint).WithName("CreateAuditCheckpoint")
            .WithSummary("Have the escrow sign a checkpoint of my organization's audit chain now")
            .WithDescription("A signed statement of my chain's size and head (Ed25519, verifiable offline against " + OrganizationsApi.KeysPath + "). Keep it outside the escrow: any later rewrite or truncation of my chain fails against it. 409 when my chain no longer verifies from my last checkpoint.")
            .ProducesProblem(409);
        group.MapGet("/checkpoints", ListCheckpoints).WithName("ListAuditCheckpoints")
            .WithSummary("My organization's signed audit checkpoints, oldest first")
            .WithDescription("Signed periodically (Escrow:Audit:CheckpointMinutes) and on demand. Page with after (the nextAfter of the previous page).");
        return group;
    }

    private static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> List(
        [FromQuery] long? after, [FromQuery] int? limit, CurrentUser user, AuditTrail audit, CancellationToken ct)
    {
        var size = limit ?? 100;
        var outcome = await audit.ListAsync(user.Caller, after, size, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var items = outcome.Value!.Select(e => new AuditEventResponse(e.Position, e.At, e.ByMyOrganization, e.Actor, e.Action, e.PartnershipId, e.Detail,
            e.Record, Convert.ToHexStringLower(e.PrevHash), Convert.ToHexStringLower(e.Hash))).ToList();
        return TypedResults.Ok(new AuditPage(items, items.Count == size ? items[^1].Position : null));
    }

    private static async Task<Ok<AuditVerificationResponse>> Verify(CurrentUser user, AuditTrail audit, CancellationToken ct) =>
        TypedResults.Ok(AuditVerificationResponse.From(await audit.VerifyAsync(user.Caller, ct)));

    private static async Task<Results<Ok<AuditVerificationResponse>, ProblemHttpResult>> VerifyAgainst(SignedStatementResponse checkpoint, CurrentUser user, AuditTrail audit,
        CancellationToken ct)
    {
        var outcome = await audit.VerifyAgainstAsync(user.Caller, checkpoint.ToSigned(), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(AuditVerificationResponse.From(outcome.Value!));
    }

    private static async Task<Results<Ok<SignedStatementResponse>, ProblemHttpResult>> CreateCheckpoint(CurrentUser user, AuditCheckpoints checkpoints, CancellationToken ct)
    {
        var outcome = await checkpoints.CreateForOrganizationAsync(user.OrganizationId, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(SignedStatementResponse.From(outcome.Value!.Signed));
    }

    private static async Task<Ok<CheckpointPage>> ListCheckpoints([FromQuery] long? after, CurrentUser user, AuditCheckpoints checkpoints, CancellationToken ct)
    {
        const int size = 100;
        var page = await checkpoints.ListAsync(user.OrganizationId, after ?? 0, size, ct);
        return TypedResults.Ok(new CheckpointPage(page.Select(c => SignedStatementResponse.From(c.Signed)).ToList(), page.Count == size ? page[^1].Id : null));
    }
}

/// <summary>
/// An audit event in my organization's chain; <see cref="ByMyOrganization"/> is false for a partner's action in a shared
/// partnership. <see cref="Record"/> is the exact text hashed: <see cref="Hash"/> = SHA-256(<see cref="PreviousHash"/> || UTF-8(Record)).
/// </summary>
public sealed record AuditEventResponse(long Position, DateTimeOffset At, bool ByMyOrganization, string Actor, string Action, string? PartnershipId, JsonElement Detail,
    string Record, string PreviousHash, string Hash);

public sealed record AuditPage(IReadOnlyList<AuditEventResponse> Items, long? NextAfter);

public sealed record CheckpointPage(IReadOnlyList<SignedStatementResponse> Items, long? NextAfter);

/// <summary>Whether my chain verifies; its event count and head hash; the first broken position; how many checkpoints it was held against.</summary>
public sealed record AuditVerificationResponse(bool Valid, long? FirstBrokenPosition, long EventCount, string HeadHash, int CheckpointsChecked, string? Problem)
{
    public static AuditVerificationResponse From(ChainVerification v) =>
        new(v.Valid, v.FirstBrokenPosition, v.EventCount, Convert.ToHexStringLower(v.HeadHash), v.CheckpointsChecked, v.Problem);
}
