using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Storage;

/// <summary>A sealed batch of records of a version, in order (<see cref="Seq"/> from 0).</summary>
public sealed record Segment(string VersionId, long Seq, int RecordCount, SealedValue Data);

/// <summary>A committed version with its segments, as read for materialization.</summary>
public sealed record VersionSegments(PopulationVersion Version, IReadOnlyList<Segment> Segments);

/// <summary>The stored outcome of a completed upload, replayed for a retry with the same idempotency key.</summary>
public sealed record IdempotentResponse(int StatusCode, string Body);

public enum ClaimOutcome { Claimed, Completed, InProgress, Mismatch }

/// <summary>The result of claiming a key; <see cref="ClaimToken"/> identifies the holder when claimed.</summary>
public sealed record IdempotencyClaim(ClaimOutcome Outcome, IdempotentResponse? Response = null, string? ClaimToken = null);

/// <summary>A key held by one upload: the organization, the key, and the holder's claim token.</summary>
public sealed record IdempotencyHold(string OrganizationId, string Key, string ClaimToken);

public sealed record IdempotencyCompletion(IdempotencyHold Hold, IdempotentResponse Response);

/// <summary>
/// Populations and their versions. A version is written as pending segment by segment, then made current in one
/// transaction (<see cref="CommitAsync"/>): readers see the previous version until that commit, and a crash
/// leaves only a pending version that <see cref="DeleteAbandonedAsync"/> removes.
/// </summary>
public interface IPopulationRepository
{
    /// <summary>False when the organization already has a population of that name.</summary>
    Task<bool> CreateAsync(PopulationSummary population, CancellationToken ct);
    Task<IReadOnlyList<PopulationSummary>> ListAsync(string organizationId, CancellationToken ct);

    /// <summary>
    /// <see cref="ListAsync"/> of two organizations in one statement (each list as <see cref="ListAsync"/> orders it): a
    /// partner view loads both sides of a partnership on every matrix and list read.
    /// </summary>
    Task<(IReadOnlyList<PopulationSummary> First, IReadOnlyList<PopulationSummary> Second)> ListBothAsync(string firstOrganizationId,
        string secondOrganizationId, CancellationToken ct);

    /// <summary>The population if it belongs to the organization; null otherwise (callers answer 404).</summary>
    Task<PopulationSummary?> GetAsync(string organizationId, string populationId, CancellationToken ct);

    /// <param name="hashingSpec">The hashing specification version the upload was hashed under (<see cref="Domain.Matching.HashingSpecs"/>).</param>
    Task BeginVersionAsync(string versionId, string populationId, VersionKind kind, DateTimeOffset at, CancellationToken ct, int hashingSpec = Domain.Matching.HashingSpecs.Oldest);

    /// <summary>Records the token keys (versions) a pending version's own records are keyed under (a token-key change keys each upload under every key in use).</summary>
    Task RecordTokenKeysAsync(string versionId, IReadOnlyList<int> tokenKeyVersions, CancellationToken ct);

    /// <summary>The token keys every version of the chain ending at <paramref name="versionId"/> is keyed under (a compaction's snapshot inherits them).</summary>
    Task<IReadOnlyList<int>> TokenKeysOfChainAsync(string versionId, CancellationToken ct);

    /// <summary>
    /// Populations whose current version (with its whole chain) is not keyed under <paramref name="tokenKeyVersion"/>:
    /// while there are any, an older token key cannot be retired without their partners losing matches.
    /// </summary>
    Task<IReadOnlyList<(string OrganizationId, string PopulationId)>> PopulationsNotKeyedUnderAsync(int tokenKeyVersion, CancellationToken ct);

    /// <summary>Adds a segment to a pending version; false when the version is no longer pending (swept as abandoned).</summary>
    Task<bool> AppendSegmentAsync(Segment segment, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>
    /// <see cref="AppendSegmentAsync(Segment, DateTimeOffset, CancellationToken)"/> of a segment sealed into a buffer of the
    /// caller's, which it reuses once this has returned (an upload's segments: no large array per segment).
    /// </summary>
    Task<bool> AppendSegmentAsync(string versionId, long seq, int recordCount, SealedMemory data, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>
    /// Several segments of a pending version in one transaction (all or none), from buffers of the caller's: an upload
    /// stores a few MiB of segments per commit instead of one segment per commit (each commit waits for the disk).
    /// False, storing none, when the version is no longer pending.
    /// </summary>
    Task<bool> AppendSegmentsAsync(string versionId, IReadOnlyList<PendingSegment> segments, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>Marks a pending version as alive (a slow upload between segments); false when it is no longer pending.</summary>
    Task<bool> TouchAsync(string versionId, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>
    /// Makes a pending version current, atomically with the completion of its idempotency key, locking the population's
    /// row. A delta is based on whatever is current at this moment, so concurrent deltas apply in commit order. Versions
    /// that the new current one no longer needs are deleted in the same transaction. With
    /// <paramref name="expectedCurrentVersionId"/>, commits only if the population still has that current version.
    /// Returns null, committing nothing, when that check fails, when the idempotency key is no longer held by this
    /// upload, or when the version is no longer pending (an idle upload swept as abandoned).
    /// </summary>
    Task<PopulationVersion?> CommitAsync(string versionId, long recordCount, DateTimeOffset committedAt, IdempotencyCompletion? idempotency,
        string? expectedCurrentVersionId, CancellationToken ct);

    Task SetRecordCountAsync(string versionId, long recordCount, CancellationToken ct);

    /// <summary>Deletes a pending version and its segments (a failed or rejected upload).</summary>
    Task AbandonAsync(string versionId, CancellationToken ct);

    /// <summary>Deletes pending versions not touched since the cutoff (uploads cut off by a crash); returns how many.</summary>
    Task<int> DeleteAbandonedAsync(DateTimeOffset touchedBefore, CancellationToken ct);

    /// <summary>The version and its bases, root snapshot first, with their segments, read in one snapshot transaction.</summary>
    Task<IReadOnlyList<VersionSegments>> ReadChainAsync(string versionId, CancellationToken ct);

    /// <summary>One version's row (pending or committed), without its segments; null when it does not exist.</summary>
    Task<PopulationVersion?> GetVersionAsync(string versionId, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> segments of one version (pending or committed), in order, from sequence number
    /// <paramref name="fromSeq"/> on: a version read a few segments at a time, never all of them in memory at once.
    /// </summary>
    Task<IReadOnlyList<Segment>> ReadSegmentsAsync(string versionId, long fromSeq, int limit, CancellationToken ct);

    /// <summary>
    /// Claims a key for an upload, locking its row: claimed (with a claim token) when new or when the previous holder's
    /// lease ran out; completed (with the stored response) when an upload with it committed; in progress or mismatch
    /// otherwise.
    /// </summary>
    Task<IdempotencyClaim> ClaimIdempotencyKeyAsync(string organizationId, string key, string populationId, VersionKind mode,
        DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken ct);

    /// <summary>Extends the holder's lease while its upload is alive; false when the key is no longer held by it.</summary>
    Task<bool> RenewIdempotencyLeaseAsync(IdempotencyHold hold, DateTimeOffset leaseUntil, CancellationToken ct);

    /// <summary>Replaces the stored response of a completed key (figures known only after commit, such as a delta's record count).</summary>
    Task SetIdempotentResponseAsync(IdempotencyHold hold, IdempotentResponse response, CancellationToken ct);

    /// <summary>Frees a key its holder did not complete (the upload failed), so a corrected retry can use it.</summary>
    Task ReleaseIdempotencyKeyAsync(IdempotencyHold hold, CancellationToken ct);
}

/// <summary>A segment to append (<see cref="IPopulationRepository.AppendSegmentsAsync"/>): its number, record count and sealed bytes.</summary>
public readonly record struct PendingSegment(long Seq, int RecordCount, SealedMemory Data);
