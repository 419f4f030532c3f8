using System.Text.Json;

namespace OverlapEscrow.Application.Storage;

/// <summary>An event of the audit log as stored, with its place in the hash chain.</summary>
public sealed record AuditEvent(long Seq, DateTimeOffset At, string OrganizationId, string Actor, string Action, string? PartnershipId,
    JsonElement Detail, byte[] PrevHash, byte[] Hash);

/// <summary>
/// The outcome of recomputing the chain. <see cref="HeadHash"/> is the last event's hash: recorded outside the
/// escrow (a ticket, a signed note), it lets a later verification show that no event was cut from the end.
/// </summary>
public sealed record AuditVerification(bool Valid, long EventCount, long? FirstBrokenSeq, byte[] HeadHash);

/// <summary>
/// The append-only, hash-chained audit log. Each event's hash is SHA-256(previous hash || canonical JSON of the
/// event), the first event chaining from 32 zero bytes; changing, removing or reordering any stored event breaks
/// every hash after it. Appends lock the head of the chain, so two events never chain from the same predecessor.
/// </summary>
public interface IAuditRepository
{
    Task AppendAsync(AuditEntry entry, CancellationToken ct);

    /// <summary>
    /// Events of the organization, and its partners' events of <paramref name="partnerActions"/> in partnerships it is
    /// part of (so an owner sees who read its data). Callers render a partner's event details through the disclosure
    /// rule before showing them.
    /// </summary>
    Task<IReadOnlyList<AuditEvent>> ListAsync(string organizationId, IReadOnlyList<string> partnerActions, long afterSeq, int limit, CancellationToken ct);

    /// <summary>
    /// The organization's own latest events of <paramref name="actions"/> whose detail names <paramref name="populationId"/>
    /// as its "populationId", newest first (a population's recent uploads, committed and refused).
    /// </summary>
    Task<IReadOnlyList<AuditEvent>> ListLatestForPopulationAsync(string organizationId, IReadOnlyList<string> actions, string populationId, int limit,
        CancellationToken ct);

    /// <summary>
    /// The partnerships whose data was read through <paramref name="actions"/> at or after <paramref name="since"/>, with
    /// the reading organization, most recently read first, one entry per (organization, partnership). Walks the log
    /// backwards from its newest event and stops at the first event older than <paramref name="since"/> or after
    /// <paramref name="maxEvents"/> events, so its cost is bounded whatever the log's length (the caches' warm-up at start).
    /// </summary>
    Task<IReadOnlyList<(string OrganizationId, string PartnershipId)>> RecentReadsAsync(IReadOnlyList<string> actions, DateTimeOffset since,
        int maxEvents, CancellationToken ct);

    Task<AuditVerification> VerifyAsync(CancellationToken ct);

    /// <summary>
    /// Verifies the chain from the event <paramref name="afterSeq"/> on, given that event's hash as a checkpoint recorded
    /// it (0 and 32 zero bytes: from the start). Fails at <paramref name="afterSeq"/> itself when the stored event there
    /// no longer has that hash (the log was rewritten or cut before it). Only the events after it are recomputed.
    /// </summary>
    Task<AuditVerification> VerifyFromAsync(long afterSeq, byte[] expectedHashAtSeq, CancellationToken ct);
}
