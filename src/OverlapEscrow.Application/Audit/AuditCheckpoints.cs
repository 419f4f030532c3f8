using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Audit;

/// <summary>Settings under Escrow:Audit.</summary>
public sealed class AuditOptions
{
    /// <summary>How often the escrow signs a checkpoint of every chain that grew (0: only on demand).</summary>
    [Range(0, 10_080)]
    public int CheckpointMinutes { get; set; } = 60;
}

/// <summary>What a signed checkpoint states: a chain's size and head at a moment.</summary>
/// <param name="Scope">"organization" (one organization's chain) or "escrow" (the whole log, for the operator).</param>
public sealed record CheckpointStatement(string Type, string Scope, string? OrganizationId, long Size, string Head, DateTimeOffset At, string KeyId)
{
    public const string TypeName = "oe-audit-checkpoint-v1";
}

/// <summary>
/// Signed checkpoints of the audit log: periodically (<see cref="AuditOptions.CheckpointMinutes"/>) and on demand the
/// escrow signs, with its Ed25519 key kept outside the database (<see cref="EscrowSigner"/>), the size and head hash
/// of each organization's chain and of the whole log. A checkpoint is signed only after the chain verified from the
/// previous checkpoint to its head, so each one attests a verified extension of the one before.
/// </summary>
/// <remarks>
/// What this buys: whoever holds a checkpoint — the organization that fetched it, the operator who exported it —
/// can later tell that the chain was rewritten (the entry at the checkpoint's size has another hash) or cut (the chain
/// is shorter than the checkpoint's size), even if whoever did it recomputed every hash and removed the stored
/// checkpoints: without the signing key, no new checkpoint over the forged chain can be made to match the old ones.
/// An organization's checkpoint holds its own chain's size only, so it tells nothing of other organizations' volume.
/// </remarks>
public sealed class AuditCheckpoints(
    AuditViews views,
    IAuditViewStore store,
    IAuditRepository audit,
    IOrganizationErasureStore organizations,
    EscrowSigner signer,
    TimeProvider time,
    ILogger<AuditCheckpoints> logger)
{
    private static readonly JsonSerializerOptions StatementJson = new(JsonSerializerDefaults.Web);

    /// <summary>Signs a checkpoint of one organization's chain now; a failure when its chain no longer verifies from its last checkpoint.</summary>
    public async Task<Outcome<AuditCheckpoint>> CreateForOrganizationAsync(string organizationId, CancellationToken ct)
    {
        await views.CatchUpAsync(ct);
        var latest = await store.LatestCheckpointAsync(organizationId, ct);
        var check = await views.CheckAsync(organizationId, latest?.Size ?? 0, latest?.Head ?? AuditChain.Genesis, ct);
        if (!check.Valid)
        {
            logger.LogError("The audit chain of organization {OrganizationId} broke at position {Position}; no checkpoint signed", organizationId, check.FirstBrokenPosition);
            return new Failure.Conflict($"Your audit chain does not verify from your last checkpoint (it breaks at position {check.FirstBrokenPosition}); no checkpoint was signed.");
        }
        return await SignAsync(organizationId, check.Size, check.Head, ct);
    }

    /// <summary>
    /// Signs the whole log's chain and every organization's chain that grew since its last checkpoint (the periodic run,
    /// and the operator's `admin audit checkpoint`). Returns how many checkpoints were signed and the chains that did not
    /// verify (none signed for those).
    /// </summary>
    public async Task<(int Signed, IReadOnlyList<string> Broken)> CreateAllAsync(CancellationToken ct)
    {
        await views.CatchUpAsync(ct);
        var broken = new List<string>();
        var signed = 0;
        var latest = await store.LatestCheckpointAsync(null, ct);
        var whole = await audit.VerifyFromAsync(latest?.Size ?? 0, latest?.Head ?? AuditChain.Genesis, ct);
        if (!whole.Valid)
        {
            broken.Add("escrow");
            logger.LogError("The audit log's chain broke at seq {Seq}; no checkpoint signed", whole.FirstBrokenSeq);
        }
        else if (latest is null || latest.Size != whole.EventCount)
        {
            await SignAsync(null, whole.EventCount, whole.HeadHash, ct);
            signed++;
        }
        var ids = await organizations.ListOrganizationIdsAsync(ct);
        foreach (var head in await store.HeadsAsync(ids, ct))
        {
            var last = await store.LatestCheckpointAsync(head.OrganizationId, ct);
            if (last is not null && last.Size == head.Position) continue;
            var created = await CreateForOrganizationAsync(head.OrganizationId, ct);
            if (created.Succeeded) signed++;
            else broken.Add(head.OrganizationId);
        }
        return (signed, broken);
    }

    public Task<IReadOnlyList<AuditCheckpoint>> ListAsync(string? organizationId, long afterId, int limit, CancellationToken ct) =>
        store.ListCheckpointsAsync(organizationId, afterId, limit, ct);

    /// <summary>The statement of a checkpoint, when <paramref name="signed"/> is a valid signature of this escrow over it; null otherwise.</summary>
    public CheckpointStatement? Open(SignedStatement signed)
    {
        // Any of the escrow's audit signing keys, retired ones included: a checkpoint signed before a rotation still holds.
        if (!signer.Verify(signed)) return null;
        try
        {
            var statement = JsonSerializer.Deserialize<CheckpointStatement>(signed.Statement, StatementJson);
            return statement?.Type == CheckpointStatement.TypeName && statement.KeyId == signed.KeyId ? statement : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<AuditCheckpoint> SignAsync(string? organizationId, long size, byte[] head, CancellationToken ct)
    {
        var at = time.GetUtcNow();
        var signed = signer.Sign(keyId => JsonSerializer.Serialize(new CheckpointStatement(CheckpointStatement.TypeName,
            organizationId is null ? "escrow" : "organization", organizationId, size, Convert.ToHexStringLower(head), at, keyId), StatementJson));
        var checkpoint = new AuditCheckpoint(0, organizationId, at, size, head, signed);
        await store.AddCheckpointAsync(checkpoint, ct);
        return checkpoint;
    }
}
