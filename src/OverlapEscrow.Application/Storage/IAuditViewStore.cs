using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// One event as one organization sees it, at its position in that organization's own chain: <see cref="Record"/> is
/// the exact text hashed, <see cref="Hash"/> = SHA-256(<see cref="PrevHash"/> || UTF-8(<see cref="Record"/>)).
/// </summary>
public sealed record AuditViewEntry(string OrganizationId, long Position, long Seq, string Record, byte[] PrevHash, byte[] Hash);

/// <summary>The last entry of an organization's chain: its position (how many events it holds) and hash.</summary>
public sealed record AuditViewHead(string OrganizationId, long Position, byte[] Hash);

/// <summary>A signed checkpoint: a chain's size and head at a moment. <see cref="OrganizationId"/> is null for the whole log's chain.</summary>
public sealed record AuditCheckpoint(long Id, string? OrganizationId, DateTimeOffset At, long Size, byte[] Head, SignedStatement Signed);

/// <summary>Where two organizations stand in a partnership (also after one of them was deleted).</summary>
public sealed record PartnershipSides(string PartnershipId, string InviterOrganizationId, string InviteeOrganizationId);

/// <summary>
/// Each organization's own chain over the audit events it may see (its own, and its partners' releases of its data),
/// and the escrow's signed checkpoints of those chains and of the whole log.
/// </summary>
public interface IAuditViewStore
{
    /// <summary>The seq of the last audit event already in the organizations' chains.</summary>
    Task<long> ViewProgressAsync(CancellationToken ct);

    /// <summary>Audit events after <paramref name="seq"/>, in order.</summary>
    Task<IReadOnlyList<AuditEvent>> EventsAfterAsync(long seq, int limit, CancellationToken ct);

    /// <summary>Audit events by seq.</summary>
    Task<IReadOnlyList<AuditEvent>> EventsAsync(IReadOnlyList<long> seqs, CancellationToken ct);

    /// <summary>The sides of the given partnerships, tombstones included.</summary>
    Task<IReadOnlyList<PartnershipSides>> PartnershipSidesAsync(IReadOnlyList<string> partnershipIds, CancellationToken ct);

    /// <summary>Which of the given organizations exist.</summary>
    Task<IReadOnlyList<string>> ExistingOrganizationsAsync(IReadOnlyList<string> organizationIds, CancellationToken ct);

    Task<IReadOnlyList<AuditViewHead>> HeadsAsync(IReadOnlyList<string> organizationIds, CancellationToken ct);

    /// <summary>
    /// Appends entries to the chains and moves the progress from <paramref name="expectedProgress"/> to
    /// <paramref name="newProgress"/>, in one transaction with the progress row locked; false (nothing written) when
    /// another indexer moved the progress first.
    /// </summary>
    Task<bool> AppendViewsAsync(long expectedProgress, long newProgress, IReadOnlyList<AuditViewEntry> entries, CancellationToken ct);

    /// <summary>An organization's entries after a position, in order.</summary>
    Task<IReadOnlyList<AuditViewEntry>> ListViewAsync(string organizationId, long afterPosition, int limit, CancellationToken ct);

    Task<AuditViewEntry?> GetViewEntryAsync(string organizationId, long position, CancellationToken ct);

    Task AddCheckpointAsync(AuditCheckpoint checkpoint, CancellationToken ct);

    /// <summary>Checkpoints of one organization's chain (or of the whole log, for null), oldest first, after <paramref name="afterId"/>.</summary>
    Task<IReadOnlyList<AuditCheckpoint>> ListCheckpointsAsync(string? organizationId, long afterId, int limit, CancellationToken ct);

    Task<AuditCheckpoint?> LatestCheckpointAsync(string? organizationId, CancellationToken ct);
}
