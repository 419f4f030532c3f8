using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Data.Signals;

internal sealed class AttributionRepository(IDbScope scope) : IAttributionRepository
{
    public async Task CreateAsync(AttributionClaim claim, SealedValue claimText, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // record_id, evidence and note are the legacy plaintext columns: NULL here, the text is in claim_sealed.
        await db.ExecuteAsync(
            """
            INSERT INTO attributions (id, partnership_id, claimant_organization_id, partner_organization_id, population_id, role, status,
                                      claim_nonce, claim_sealed, claim_key_version, created_at, created_by)
            VALUES (@Id, @PartnershipId, @ClaimantOrganizationId, @PartnerOrganizationId, @PopulationId, @role, @status,
                    @nonce, @sealed, @keyVersion, @createdAt, @CreatedBy)
            """,
            new
            {
                claim.Id, claim.PartnershipId, claim.ClaimantOrganizationId, claim.PartnerOrganizationId, claim.PopulationId,
                role = AttributionRow.Text(claim.Role), status = AttributionRow.Text(claim.Status),
                nonce = claimText.Nonce, @sealed = claimText.Ciphertext, keyVersion = claimText.KeyVersion,
                createdAt = Time.ToUnixMs(claim.CreatedAt), claim.CreatedBy,
            });
    }

    public async Task<StoredAttribution?> GetAsync(string organizationId, string claimId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE id = @claimId AND (claimant_organization_id = @organizationId OR partner_organization_id = @organizationId)
            """, new { organizationId, claimId }))?.ToStored();
    }

    public async Task<IReadOnlyList<StoredAttribution>> ListAsync(string organizationId, string? partnershipId, ListPosition? after, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE (claimant_organization_id = @organizationId OR partner_organization_id = @organizationId)
              AND (@partnershipId IS NULL OR partnership_id = @partnershipId)
              AND (@afterAt IS NULL OR created_at < @afterAt OR (created_at = @afterAt AND id < @afterId))
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """, new { organizationId, partnershipId, afterAt = after is null ? (long?)null : Time.ToUnixMs(after.At), afterId = after?.Id ?? "", limit }))
            .Select(r => r.ToStored()).ToList();
    }

    public async Task<IReadOnlyList<StoredAttribution>> ListMadeAsync(string claimantOrganizationId, string? populationId, string? partnershipId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE claimant_organization_id = @claimantOrganizationId
              AND (@populationId IS NULL OR population_id = @populationId)
              AND (@partnershipId IS NULL OR partnership_id = @partnershipId)
            ORDER BY created_at, id
            """, new { claimantOrganizationId, populationId, partnershipId })).Select(r => r.ToStored()).ToList();
    }

    public async Task<bool> RespondAsync(AttributionClaim answered, SealedValue? responseNote, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            UPDATE attributions SET status = @status, responded_at = @respondedAt, responded_by = @RespondedBy,
                   response_nonce = @nonce, response_sealed = @sealed, response_key_version = @keyVersion
            WHERE id = @Id AND status = 'claimed'
            """,
            new
            {
                answered.Id, status = AttributionRow.Text(answered.Status), respondedAt = Time.ToUnixMs(answered.RespondedAt), answered.RespondedBy,
                nonce = responseNote?.Nonce, @sealed = responseNote?.Ciphertext, keyVersion = responseNote?.KeyVersion,
            });
        return n == 1;
    }

    public async Task<IReadOnlyList<AttributionClaim>> ListUnsealedAsync(int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE record_id IS NOT NULL OR evidence IS NOT NULL OR note IS NOT NULL OR response_note IS NOT NULL
            ORDER BY id LIMIT @limit
            """, new { limit })).Select(r => r.ToStored().Claim).ToList();
    }

    public async Task SealLegacyAsync(string claimId, bool claim, SealedValue? claimSeal, bool response, SealedValue? responseSeal, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        if (claim)
            await db.ExecuteAsync(
                """
                UPDATE attributions SET record_id = NULL, evidence = NULL, note = NULL, claim_nonce = @nonce, claim_sealed = @sealed, claim_key_version = @keyVersion
                WHERE id = @claimId AND claim_sealed IS NULL AND (record_id IS NOT NULL OR evidence IS NOT NULL OR note IS NOT NULL)
                """, new { claimId, nonce = claimSeal?.Nonce, @sealed = claimSeal?.Ciphertext, keyVersion = claimSeal?.KeyVersion });
        if (response)
            await db.ExecuteAsync(
                """
                UPDATE attributions SET response_note = NULL, response_nonce = @nonce, response_sealed = @sealed, response_key_version = @keyVersion
                WHERE id = @claimId AND response_sealed IS NULL AND response_note IS NOT NULL
                """, new { claimId, nonce = responseSeal?.Nonce, @sealed = responseSeal?.Ciphertext, keyVersion = responseSeal?.KeyVersion });
    }

    public async Task<IReadOnlyList<HistoryPoint>> ListMembershipPointsAsync(string organizationId, string partnershipId, string populationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<OverlapPointRow>(
            """
            SELECT * FROM overlap_history
            WHERE partnership_id = @partnershipId AND organization_id = @organizationId AND population_id = @populationId
            ORDER BY partner_population_id, at, id
            """, new { organizationId, partnershipId, populationId })).Select(r => r.ToDomain()).ToList();
    }
}

internal sealed class AttributionRow
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Id { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string ClaimantOrganizationId { get; init; } = "";
    public string PartnerOrganizationId { get; init; } = "";
    public string PopulationId { get; init; } = "";
    public string? RecordId { get; init; }
    public string Role { get; init; } = "";
    public string Status { get; init; } = "";
    public string? Evidence { get; init; }
    public string? Note { get; init; }
    public byte[]? ClaimNonce { get; init; }
    public byte[]? ClaimSealed { get; init; }
    public long? ClaimKeyVersion { get; init; }
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? RespondedAt { get; init; }
    public string? RespondedBy { get; init; }
    public string? ResponseNote { get; init; }
    public byte[]? ResponseNonce { get; init; }
    public byte[]? ResponseSealed { get; init; }
    public long? ResponseKeyVersion { get; init; }

    public static string Text<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();

    /// <summary>The stored claim; a sealed row's record id, evidence and notes are empty here (they are in the seals).</summary>
    public StoredAttribution ToStored() => new(
        new AttributionClaim(Id, PartnershipId, ClaimantOrganizationId, PartnerOrganizationId, PopulationId, RecordId ?? "",
            Enum.Parse<AttributionRole>(Role, ignoreCase: true), Enum.Parse<AttributionStatus>(Status, ignoreCase: true),
            Evidence is null ? [] : JsonSerializer.Deserialize<List<AttributionEvidence>>(Evidence, Json) ?? [], Note, Time.FromUnixMs(CreatedAt), CreatedBy,
            Time.FromUnixMs(RespondedAt), RespondedBy, ResponseNote),
        DataRequestRow.Seal(ClaimNonce, ClaimSealed, ClaimKeyVersion), DataRequestRow.Seal(ResponseNonce, ResponseSealed, ResponseKeyVersion));
}
