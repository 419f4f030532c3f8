using System.Text.Json;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Overlaps;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Data.Signals;

internal sealed class AttributionRepository(IDbScope scope) : IAttributionRepository
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<bool> CreateAsync(AttributionClaim claim, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            INSERT INTO attributions (id, partnership_id, claimant_organization_id, partner_organization_id, population_id, record_id, role, status,
                                      evidence, note, created_at, created_by)
            VALUES (@Id, @PartnershipId, @ClaimantOrganizationId, @PartnerOrganizationId, @PopulationId, @RecordId, @role, @status,
                    @evidence, @Note, @createdAt, @CreatedBy)
            ON CONFLICT DO NOTHING
            """,
            new
            {
                claim.Id, claim.PartnershipId, claim.ClaimantOrganizationId, claim.PartnerOrganizationId, claim.PopulationId, claim.RecordId,
                role = AttributionRow.Text(claim.Role), status = AttributionRow.Text(claim.Status), evidence = JsonSerializer.Serialize(claim.Evidence, Json),
                claim.Note, createdAt = Time.ToUnixMs(claim.CreatedAt), claim.CreatedBy,
            });
        return n == 1;
    }

    public async Task<AttributionClaim?> GetAsync(string organizationId, string claimId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE id = @claimId AND (claimant_organization_id = @organizationId OR partner_organization_id = @organizationId)
            """, new { organizationId, claimId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<AttributionClaim>> ListAsync(string organizationId, string? partnershipId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AttributionRow>(
            """
            SELECT * FROM attributions
            WHERE (claimant_organization_id = @organizationId OR partner_organization_id = @organizationId)
              AND (@partnershipId IS NULL OR partnership_id = @partnershipId)
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """, new { organizationId, partnershipId, limit })).Select(r => r.ToDomain()).ToList();
    }

    public async Task<bool> RespondAsync(AttributionClaim answered, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            UPDATE attributions SET status = @status, responded_at = @respondedAt, responded_by = @RespondedBy, response_note = @ResponseNote
            WHERE id = @Id AND status = 'claimed'
            """,
            new { answered.Id, status = AttributionRow.Text(answered.Status), respondedAt = Time.ToUnixMs(answered.RespondedAt), answered.RespondedBy, answered.ResponseNote });
        return n == 1;
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
    public string RecordId { get; init; } = "";
    public string Role { get; init; } = "";
    public string Status { get; init; } = "";
    public string Evidence { get; init; } = "[]";
    public string? Note { get; init; }
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? RespondedAt { get; init; }
    public string? RespondedBy { get; init; }
    public string? ResponseNote { get; init; }

    public static string Text<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();

    public AttributionClaim ToDomain() => new(Id, PartnershipId, ClaimantOrganizationId, PartnerOrganizationId, PopulationId, RecordId,
        Enum.Parse<AttributionRole>(Role, ignoreCase: true), Enum.Parse<AttributionStatus>(Status, ignoreCase: true),
        JsonSerializer.Deserialize<List<AttributionEvidence>>(Evidence, Json) ?? [], Note, Time.FromUnixMs(CreatedAt), CreatedBy,
        Time.FromUnixMs(RespondedAt), RespondedBy, ResponseNote);
}
