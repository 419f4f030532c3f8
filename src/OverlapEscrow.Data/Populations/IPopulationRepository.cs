namespace OverlapEscrow.Data.Populations;

/// <summary>
/// Populations and their versions. A version is written as pending segment by segment, then made current in one
/// transaction (<see cref="CommitAsync"/>): readers see the previous version until that commit, and a crash
/// leaves only a pending version that <see cref="DeleteAbandonedAsync"/> removes.
/// </summary>
public interface IPopulationRepository
{
    /// <summary>False when the organization already has a population of that name.</summary>
    Task<bool> CreateAsync(PopulationRow population, CancellationToken ct = default);
    Task<IReadOnlyList<PopulationSummaryRow>> ListAsync(string organizationId, CancellationToken ct = default);

    /// <summary>The population if it belongs to the organization; null otherwise (callers answer 404).</summary>
    Task<PopulationSummaryRow?> GetAsync(string organizationId, string populationId, CancellationToken ct = default);

    Task BeginVersionAsync(VersionRow pending, CancellationToken ct = default);
    /// <summary>Adds a segment to a pending version; false when the version is no longer pending (swept as abandoned).</summary>
    Task<bool> AppendSegmentAsync(SegmentRow segment, long touchedAt, CancellationToken ct = default);

    /// <summary>Marks a pending version as alive (a slow upload between segments); false when it is no longer pending.</summary>
    Task<bool> TouchAsync(string versionId, long touchedAt, CancellationToken ct = default);

    /// <summary>
    /// Makes a pending version current, atomically with the completion of its idempotency key. A delta is based
    /// on whatever is current at this moment, so concurrent deltas apply in commit order. Versions that the new
    /// current one no longer needs are deleted in the same transaction. With <paramref name="expectedCurrentVersionId"/>,
    /// commits only if the population still has that current version. Returns null, committing nothing, when
    /// that check fails, when the idempotency key is no longer held by this upload, or when the version is no
    /// longer pending (an idle upload swept as abandoned).
    /// </summary>
    Task<VersionRow?> CommitAsync(string versionId, long recordCount, long committedAt, IdempotencyCompletion? idempotency,
        string? expectedCurrentVersionId = null, CancellationToken ct = default);

    Task SetRecordCountAsync(string versionId, long recordCount, CancellationToken ct = default);

    /// <summary>Deletes a pending version and its segments (a failed or rejected upload).</summary>
    Task AbandonAsync(string versionId, CancellationToken ct = default);

    /// <summary>Deletes pending versions not touched since the cutoff (uploads cut off by a crash); returns how many.</summary>
    Task<int> DeleteAbandonedAsync(long touchedBefore, CancellationToken ct = default);

    /// <summary>The version and its bases, root snapshot first, with their segments, read in one transaction.</summary>
    Task<IReadOnlyList<VersionSegments>> ReadChainAsync(string versionId, CancellationToken ct = default);

    /// <summary>
    /// Claims a key for an upload: claimed (with a claim token) when new or when the previous holder's lease ran
    /// out; completed (with the stored response) when an upload with it committed; in progress or mismatch otherwise.
    /// </summary>
    Task<IdempotencyClaim> ClaimIdempotencyKeyAsync(string organizationId, string key, string populationId, string mode,
        long now, long leaseUntil, CancellationToken ct = default);

    /// <summary>Extends the holder's lease while its upload makes progress; false when the key is no longer held by it.</summary>
    Task<bool> RenewIdempotencyLeaseAsync(IdempotencyHold hold, long leaseUntil, CancellationToken ct = default);
    /// <summary>Replaces the stored response of a completed key (figures known only after commit, such as a delta's record count).</summary>
    Task SetIdempotentResponseAsync(IdempotencyHold hold, IdempotentResponse response, CancellationToken ct = default);

    /// <summary>Frees a key its holder did not complete (the upload failed), so a corrected retry can use it.</summary>
    Task ReleaseIdempotencyKeyAsync(IdempotencyHold hold, CancellationToken ct = default);
}
