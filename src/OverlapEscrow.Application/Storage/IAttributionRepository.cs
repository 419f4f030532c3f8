using OverlapEscrow.Application.Keys;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Storage;

/// <summary>
/// A claim as stored: its plain fields, the claimant's text (record id, evidence, note) sealed under the claimant's data
/// key in <see cref="ClaimText"/>, and the partner's response note under the partner's in <see cref="Response"/>. A row
/// written before texts were sealed carries them in <see cref="Claim"/> in plaintext until <c>SignalSealing</c> seals it.
/// </summary>
public sealed record StoredAttribution(AttributionClaim Claim, SealedValue? ClaimText, SealedValue? Response);

/// <summary>The attribution ledger (docs/health.md), readable by the claimant and the partner named only.</summary>
public interface IAttributionRepository
{
    /// <summary>Stores a new claim with its sealed text (one claim per opportunity and partnership is the caller's to check, holding the partnership's lock: <see cref="IPartnershipRepository.LockAsync"/>).</summary>
    Task CreateAsync(AttributionClaim claim, SealedValue claimText, CancellationToken ct);

    /// <summary>The claim if the organization is its claimant or the partner it names; null otherwise (callers answer 404).</summary>
    Task<StoredAttribution?> GetAsync(string organizationId, string claimId, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> claims the organization made or that name it, newest first (created_at, id), after
    /// <paramref name="after"/> when given; optionally one partnership's only.
    /// </summary>
    Task<IReadOnlyList<StoredAttribution>> ListAsync(string organizationId, string? partnershipId, ListPosition? after, int limit, CancellationToken ct);

    /// <summary>
    /// Every claim the organization made, of one population when given, of one partnership when given.
    /// </summary>
    Task<IReadOnlyList<StoredAttribution>> ListMadeAsync(string claimantOrganizationId, string? populationId, string? partnershipId, CancellationToken ct);

    /// <summary>Records the partner's answer with its sealed note (a compare-and-set on status claimed); false when it was answered already.</summary>
    Task<bool> RespondAsync(AttributionClaim answered, SealedValue? responseNote, CancellationToken ct);

    /// <summary>Up to <paramref name="limit"/> claims that still hold a record id, evidence, note or response note in plaintext.</summary>
    Task<IReadOnlyList<AttributionClaim>> ListUnsealedAsync(int limit, CancellationToken ct);

    /// <summary>Replaces a row's plaintext claim text and/or response note by its sealed value (null: the author was erased, the text is cleared).</summary>
    Task SealLegacyAsync(string claimId, bool claim, SealedValue? claimSeal, bool response, SealedValue? responseSeal, CancellationToken ct);

    /// <summary>
    /// The organization's own history points of every cell of its population in the partnership (its side only), by
    /// cell and time, with the sealed record ids: the evidence attribution is computed from.
    /// </summary>
    Task<IReadOnlyList<HistoryPoint>> ListMembershipPointsAsync(string organizationId, string partnershipId, string populationId, CancellationToken ct);
}
