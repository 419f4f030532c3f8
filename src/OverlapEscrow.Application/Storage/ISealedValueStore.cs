using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Storage;

/// <summary>The kinds of value sealed under an organization's data key, each with the associated data that binds it to its row.</summary>
public enum SealKind
{
    /// <summary>A segment of a population version (row id: the version id; seq: its position).</summary>
    Segment,

    /// <summary>The viewer's record ids behind a history point (row id: the point id).</summary>
    HistoryRecordIds,

    /// <summary>A webhook's signing secret (row id: the webhook id).</summary>
    WebhookSecret,

    /// <summary>A webhook's previous signing secret, during the overlap after a rotation (row id: the webhook id).</summary>
    WebhookPreviousSecret,

    /// <summary>A pull schedule's secret header value (row id: the schedule id).</summary>
    ScheduleSecret,

    /// <summary>A part of a version's stored columns: header, token column chunk or record block (row id: the version id; seq: the part number).</summary>
    VersionColumns,

    /// <summary>A data request's message, under the requester's key (row id: the request id).</summary>
    DataRequestMessage,

    /// <summary>A data request's decline reason, under the owner's key (row id: the request id).</summary>
    DataRequestReason,

    /// <summary>An attribution claim's record id, evidence and note, under the claimant's key (row id: the claim id).</summary>
    AttributionClaim,

    /// <summary>An attribution claim's response note, under the key of the partner it names (row id: the claim id).</summary>
    AttributionResponse,

    /// <summary>A pending webhook delivery's body, under the receiving organization's key (row id: the delivery id).</summary>
    WebhookPayload,

    /// <summary>A webhook's URL and description, under its organization's key (row id: the webhook id).</summary>
    WebhookTarget,

    /// <summary>A pull schedule's source URL, under its organization's key (row id: the schedule id).</summary>
    ScheduleSourceUrl,

    /// <summary>A member's email, display name and password hash, under its organization's key (row id: the member id).</summary>
    MemberIdentity,
}

/// <summary>One stored sealed value, with what locates it.</summary>
public sealed record StoredSeal(SealKind Kind, string RowId, long Seq, SealedValue Value);

/// <summary>
/// Every value sealed under an organization's data key, whatever table holds it: what a data-key rotation re-seals.
/// Generic over "the sealed values of an organization" so that a change in how versions are stored changes only the
/// queries here, not the rotation.
/// </summary>
public interface ISealedValueStore
{
    /// <summary>
    /// Up to <paramref name="limit"/> values of the organization of one kind that are sealed with a key version other than
    /// <paramref name="keyVersion"/>, in (row id, seq) order after the given position.
    /// </summary>
    Task<IReadOnlyList<StoredSeal>> ListNotUnderAsync(string organizationId, SealKind kind, int keyVersion, string afterRowId, long afterSeq, int limit,
        CancellationToken ct);

    /// <summary>Replaces a sealed value only if it is still exactly <paramref name="old"/> (a concurrent change wins); false otherwise.</summary>
    Task<bool> ReplaceAsync(string organizationId, StoredSeal old, SealedValue replacement, CancellationToken ct);

    /// <summary>
    /// How many of the organization's uploads (pending versions) started before <paramref name="before"/> are still
    /// being written: they may hold a cipher opened before a rotation began and still seal under the older key.
    /// </summary>
    Task<int> PendingVersionsStartedBeforeAsync(string organizationId, DateTimeOffset before, CancellationToken ct);

    /// <summary>How many values of the organization each data key version seals now.</summary>
    Task<IReadOnlyDictionary<int, long>> CountByKeyVersionAsync(string organizationId, CancellationToken ct);
}
