using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Storage;

/// <summary>The attribution ledger (docs/health.md), readable by the claimant and the partner named only.</summary>
public interface IAttributionRepository
{
    /// <summary>Stores a new claim; false when the opportunity already has a claim in this partnership.</summary>
    Task<bool> CreateAsync(AttributionClaim claim, CancellationToken ct);

    /// <summary>The claim if the organization is its claimant or the partner it names; null otherwise (callers answer 404).</summary>
    Task<AttributionClaim?> GetAsync(string organizationId, string claimId, CancellationToken ct);

    /// <summary>Claims the organization made or that name it, newest first; optionally one partnership's only.</summary>
    Task<IReadOnlyList<AttributionClaim>> ListAsync(string organizationId, string? partnershipId, int limit, CancellationToken ct);

    /// <summary>Records the partner's answer (a compare-and-set on status claimed); false when it was answered already.</summary>
    Task<bool> RespondAsync(AttributionClaim answered, CancellationToken ct);

    /// <summary>
    /// The organization's own history points of every cell of its population in the partnership (its side only), by
    /// cell and time, with the sealed record ids: the evidence attribution is computed from.
    /// </summary>
    Task<IReadOnlyList<HistoryPoint>> ListMembershipPointsAsync(string organizationId, string partnershipId, string populationId, CancellationToken ct);
}
