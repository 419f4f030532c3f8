using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Storage;

/// <summary>Requests for more than counts (docs/health.md), readable by their two sides only.</summary>
public interface IDataRequestRepository
{
    /// <summary>
    /// Stores a new open request; false when the cell already has an open request from the same requester (the
    /// storage's unique index decides, so two racing requests cannot both open).
    /// </summary>
    Task<bool> CreateAsync(DataRequest request, CancellationToken ct);

    /// <summary>
    /// How many requests the organization made in the partnership since <paramref name="since"/>, with the partnership's
    /// row locked, so two requests counted against one limit take turns.
    /// </summary>
    Task<int> CountMadeSinceAsync(string requesterOrganizationId, string partnershipId, DateTimeOffset since, CancellationToken ct);

    /// <summary>The request if the organization is one of its two sides; null otherwise (callers answer 404).</summary>
    Task<DataRequest?> GetAsync(string organizationId, string requestId, CancellationToken ct);

    /// <summary>Requests the organization made or received, newest first; optionally one partnership's only.</summary>
    Task<IReadOnlyList<DataRequest>> ListAsync(string organizationId, string? partnershipId, int limit, CancellationToken ct);

    /// <summary>Closes an open request (a compare-and-set on its status); false when it was no longer open.</summary>
    Task<bool> ResolveAsync(DataRequest resolved, CancellationToken ct);
}
