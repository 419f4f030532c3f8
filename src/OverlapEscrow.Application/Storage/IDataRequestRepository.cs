using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A data request as stored: its plain fields, and its texts sealed under their author's data key (<see cref="Message"/>
/// under the requester's, <see cref="Reason"/> under the owner's). A row written before texts were sealed carries them in
/// <see cref="Request"/> in plaintext until <c>SignalSealing</c> seals it (then the seals are null).
/// </summary>
public sealed record StoredDataRequest(DataRequest Request, SealedValue? Message, SealedValue? Reason);

/// <summary>A position in a list ordered newest first: the (time, id) of the last item of a page.</summary>
public sealed record ListPosition(DateTimeOffset At, string Id);

/// <summary>Requests for more than counts (docs/health.md), readable by their two sides only.</summary>
public interface IDataRequestRepository
{
    /// <summary>
    /// Stores a new open request with its sealed message; false when the cell already has an open request from the same
    /// requester (the storage's unique index decides, so two racing requests cannot both open).
    /// </summary>
    Task<bool> CreateAsync(DataRequest request, SealedValue message, CancellationToken ct);

    /// <summary>
    /// How many requests the organization made in the partnership since <paramref name="since"/>. Two requests counted
    /// against one limit take turns when the caller holds the partnership's lock (<see cref="IPartnershipRepository.LockAsync"/>).
    /// </summary>
    Task<int> CountMadeSinceAsync(string requesterOrganizationId, string partnershipId, DateTimeOffset since, CancellationToken ct);

    /// <summary>The request if the organization is one of its two sides; null otherwise (callers answer 404).</summary>
    Task<StoredDataRequest?> GetAsync(string organizationId, string requestId, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> requests the organization made or received, newest first (created_at, id), after
    /// <paramref name="after"/> when given; optionally one partnership's only.
    /// </summary>
    Task<IReadOnlyList<StoredDataRequest>> ListAsync(string organizationId, string? partnershipId, ListPosition? after, int limit, CancellationToken ct);

    /// <summary>Closes an open request (a compare-and-set on its status), with its sealed reason if any; false when it was no longer open.</summary>
    Task<bool> ResolveAsync(DataRequest resolved, SealedValue? reason, CancellationToken ct);

    /// <summary>Up to <paramref name="limit"/> requests that still hold a message or reason in plaintext (written before texts were sealed).</summary>
    Task<IReadOnlyList<DataRequest>> ListUnsealedAsync(int limit, CancellationToken ct);

    /// <summary>
    /// Replaces a row's plaintext message and/or reason by its sealed value (or clears it when the author was erased and
    /// the seal is null); a compare-and-set on the plaintext still being there.
    /// </summary>
    Task SealLegacyAsync(string requestId, bool message, SealedValue? messageSeal, bool reason, SealedValue? reasonSeal, CancellationToken ct);
}
