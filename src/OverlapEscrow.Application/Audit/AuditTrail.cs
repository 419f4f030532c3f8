using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Audit;

/// <summary>
/// An audit event as an organization reads it, at its position in the organization's own chain, with the exact
/// <see cref="Record"/> that chain hashes (<see cref="Hash"/> = SHA-256(<see cref="PrevHash"/> || UTF-8(Record))).
/// </summary>
public sealed record AuditEntryView(long Position, DateTimeOffset At, bool ByMyOrganization, string Actor, string Action, string? PartnershipId,
    JsonElement Detail, string Record, byte[] PrevHash, byte[] Hash);

/// <summary>What verifying an organization's chain found; <see cref="CheckpointsChecked"/> counts the checkpoints it was held against.</summary>
public sealed record ChainVerification(bool Valid, long? FirstBrokenPosition, long EventCount, byte[] HeadHash, int CheckpointsChecked, string? Problem);

/// <summary>What verifying the whole log found (the operator's check).</summary>
public sealed record LogVerification(bool Valid, long EventCount, byte[] HeadHash, long? FirstBrokenSeq, int CheckpointsChecked, IReadOnlyList<string> Problems);

/// <summary>The audit log as an organization reads and verifies it, and the operator's verification of the whole log.</summary>
public sealed class AuditTrail(IAuditRepository audit, AuditViews views, IAuditViewStore store, AuditCheckpoints checkpoints, IOrganizationErasureStore organizations)
{
    public const int MaxPageSize = 1000;

    public async Task<Outcome<IReadOnlyList<AuditEntryView>>> ListAsync(Caller caller, long? after, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        if (after is < 0) return Failure.Invalid.Of("after", "after is a position in the chain (0 or more): the nextAfter of the previous page.");
        await views.CatchUpAsync(ct);
        var entries = await store.ListViewAsync(caller.OrganizationId, after ?? 0, limit, ct);
        return entries.Select(e =>
        {
            var r = AuditViews.Parse(e.Record);
            return new AuditEntryView(e.Position, r.At, r.ByMyOrganization, r.Actor, r.Action, r.PartnershipId, r.Detail, e.Record, e.PrevHash, e.Hash);
        }).ToList();
    }

    /// <summary>
    /// Verifies the caller's chain: every stored checkpoint of it still matches (the entry at its size has its head),
    /// and the chain verifies from the latest checkpoint to its end — only the events since then are recomputed.
    /// </summary>
    public async Task<ChainVerification> VerifyAsync(Caller caller, CancellationToken ct)
    {
        await views.CatchUpAsync(ct);
        var held = new List<AuditCheckpoint>();
        for (long after = 0; ;)
        {
            var page = await store.ListCheckpointsAsync(caller.OrganizationId, after, 1000, ct);
            if (page.Count == 0) break;
            held.AddRange(page);
            after = page[^1].Id;
        }
        foreach (var c in held)
        {
            var statement = checkpoints.Open(c.Signed);
            if (statement is null || statement.OrganizationId != caller.OrganizationId)
                return new ChainVerification(false, c.Size, 0, [], held.Count, $"A stored checkpoint (size {c.Size}) does not carry a valid signature of this escrow.");
            var at = c.Size == 0 ? null : await store.GetViewEntryAsync(caller.OrganizationId, c.Size, ct);
            if (c.Size > 0 && (at is null || !at.Hash.AsSpan().SequenceEqual(Convert.FromHexString(statement.Head))))
                return new ChainVerification(false, c.Size, 0, [], held.Count, $"The chain no longer has the head signed at size {c.Size}: it was rewritten or cut.");
        }
        var latest = held.LastOrDefault();
        var check = await views.CheckAsync(caller.OrganizationId, latest?.Size ?? 0, latest?.Head ?? AuditChain.Genesis, ct);
        return new ChainVerification(check.Valid, check.FirstBrokenPosition, check.Size, check.Head, held.Count,
            check.Valid ? null : $"The chain breaks at position {check.FirstBrokenPosition}.");
    }

    /// <summary>Verifies the caller's chain against a checkpoint it kept (signed by this escrow, of its own chain): the chain must still have that head at that size, and verify from there to its end.</summary>
    public async Task<Outcome<ChainVerification>> VerifyAgainstAsync(Caller caller, SignedStatement kept, CancellationToken ct)
    {
        var statement = checkpoints.Open(kept);
        if (statement is null) return Failure.Invalid.Of("signature", "Not a checkpoint signed by this escrow's key (statement, signature and keyId as received).");
        if (statement.Scope != "organization" || statement.OrganizationId != caller.OrganizationId)
            return Failure.Invalid.Of("statement", "The checkpoint is not of your organization's chain.");
        await views.CatchUpAsync(ct);
        var check = await views.CheckAsync(caller.OrganizationId, statement.Size, Convert.FromHexString(statement.Head), ct);
        return new ChainVerification(check.Valid, check.FirstBrokenPosition, check.Size, check.Head, 1,
            check.Valid ? null : check.FirstBrokenPosition == statement.Size
                ? $"The chain no longer has the head signed at size {statement.Size}: it was rewritten or cut."
                : $"The chain breaks at position {check.FirstBrokenPosition}.");
    }

    /// <summary>
    /// The operator's check of the whole log: recomputes the whole chain, holds it against every stored checkpoint of the
    /// log and any <paramref name="kept"/> ones (exported earlier), and verifies every organization's chain against its checkpoints.
    /// </summary>
    public async Task<LogVerification> VerifyLogAsync(IReadOnlyList<SignedStatement> kept, CancellationToken ct)
    {
        var problems = new List<string>();
        var whole = await audit.VerifyAsync(ct);
        if (!whole.Valid) problems.Add($"The log's chain breaks at seq {whole.FirstBrokenSeq}.");
        var held = new List<CheckpointStatement>();
        for (long after = 0; ;)
        {
            var page = await store.ListCheckpointsAsync(null, after, 1000, ct);
            if (page.Count == 0) break;
            foreach (var c in page)
            {
                if (checkpoints.Open(c.Signed) is { } s) held.Add(s);
                else problems.Add($"Stored checkpoint {c.Id} does not carry a valid signature of this escrow.");
            }
            after = page[^1].Id;
        }
        foreach (var k in kept)
        {
            if (checkpoints.Open(k) is { } s) held.Add(s);
            else problems.Add("A checkpoint given does not carry a valid signature of this escrow.");
        }
        var checkedCount = 0;
        foreach (var s in held.Where(s => s.Scope == "escrow"))
        {
            checkedCount++;
            var from = await audit.VerifyFromAsync(s.Size, Convert.FromHexString(s.Head), ct);
            if (!from.Valid && from.FirstBrokenSeq == s.Size) problems.Add($"The log no longer has the head signed at {s.At:u} at seq {s.Size}: it was rewritten or cut.");
        }
        await views.CatchUpAsync(ct);
        foreach (var id in await organizations.ListOrganizationIdsAsync(ct))
        {
            var mine = await VerifyAsync(new Caller(id, "system:verify"), ct);
            checkedCount += mine.CheckpointsChecked;
            if (!mine.Valid) problems.Add($"Organization {id}: {mine.Problem}");
        }
        foreach (var s in held.Where(s => s.Scope == "organization" && s.OrganizationId is not null))
        {
            var check = await views.CheckAsync(s.OrganizationId!, s.Size, Convert.FromHexString(s.Head), ct);
            if (!check.Valid && check.FirstBrokenPosition == s.Size) problems.Add($"Organization {s.OrganizationId}: the chain no longer has the head signed at size {s.Size}.");
        }
        return new LogVerification(problems.Count == 0, whole.EventCount, whole.HeadHash, whole.FirstBrokenSeq, checkedCount, problems);
    }
}
