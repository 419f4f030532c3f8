using System.Text.Json;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Data.Signals;

internal sealed class DataRequestRepository(IDbScope scope) : IDataRequestRepository
{
    public async Task<bool> CreateAsync(DataRequest request, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            INSERT INTO data_requests (id, partnership_id, requester_organization_id, owner_organization_id, requester_population_id,
                                       owner_population_id, message, status, created_at, created_by, answered_fields)
            VALUES (@Id, @PartnershipId, @RequesterOrganizationId, @OwnerOrganizationId, @RequesterPopulationId,
                    @OwnerPopulationId, @Message, 'open', @CreatedAt, @CreatedBy, '[]')
            ON CONFLICT DO NOTHING
            """,
            new
            {
                request.Id, request.PartnershipId, request.RequesterOrganizationId, request.OwnerOrganizationId, request.RequesterPopulationId,
                request.OwnerPopulationId, request.Message, CreatedAt = Time.ToUnixMs(request.CreatedAt), request.CreatedBy,
            });
        return n == 1;
    }

    public async Task<int> CountMadeSinceAsync(string requesterOrganizationId, string partnershipId, DateTimeOffset since, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await db.ScalarAsync<string?>($"SELECT id FROM partnerships WHERE id = @partnershipId{db.Dialect.ForUpdate}", new { partnershipId });
        return (int)await db.ScalarAsync<long>(
            """
            SELECT COUNT(*) FROM data_requests
            WHERE requester_organization_id = @requesterOrganizationId AND partnership_id = @partnershipId AND created_at >= @since
            """, new { requesterOrganizationId, partnershipId, since = Time.ToUnixMs(since) });
    }

    public async Task<DataRequest?> GetAsync(string organizationId, string requestId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<DataRequestRow>(
            """
            SELECT * FROM data_requests
            WHERE id = @requestId AND (requester_organization_id = @organizationId OR owner_organization_id = @organizationId)
            """, new { organizationId, requestId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<DataRequest>> ListAsync(string organizationId, string? partnershipId, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<DataRequestRow>(
            """
            SELECT * FROM data_requests
            WHERE (requester_organization_id = @organizationId OR owner_organization_id = @organizationId)
              AND (@partnershipId IS NULL OR partnership_id = @partnershipId)
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """, new { organizationId, partnershipId, limit })).Select(r => r.ToDomain()).ToList();
    }

    public async Task<bool> ResolveAsync(DataRequest resolved, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            UPDATE data_requests
            SET status = @status, resolved_at = @resolvedAt, resolved_by = @ResolvedBy, answered_level = @level, answered_fields = @fields, reason = @Reason
            WHERE id = @Id AND status = 'open'
            """,
            new
            {
                resolved.Id, status = DataRequestRow.Text(resolved.Status), resolvedAt = Time.ToUnixMs(resolved.ResolvedAt), resolved.ResolvedBy,
                level = resolved.AnsweredLevel?.ToString().ToLowerInvariant(), fields = JsonSerializer.Serialize(resolved.AnsweredFields), resolved.Reason,
            });
        return n == 1;
    }
}

internal sealed class DataRequestRow
{
    public string Id { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string RequesterOrganizationId { get; init; } = "";
    public string OwnerOrganizationId { get; init; } = "";
    public string RequesterPopulationId { get; init; } = "";
    public string OwnerPopulationId { get; init; } = "";
    public string Message { get; init; } = "";
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? ResolvedAt { get; init; }
    public string? ResolvedBy { get; init; }
    public string? AnsweredLevel { get; init; }
    public string AnsweredFields { get; init; } = "[]";
    public string? Reason { get; init; }

    public static string Text(DataRequestStatus status) => status.ToString().ToLowerInvariant();

    public DataRequest ToDomain() => new(Id, PartnershipId, RequesterOrganizationId, OwnerOrganizationId, RequesterPopulationId, OwnerPopulationId,
        Message, Enum.Parse<DataRequestStatus>(Status, ignoreCase: true), Time.FromUnixMs(CreatedAt), CreatedBy, Time.FromUnixMs(ResolvedAt), ResolvedBy,
        AnsweredLevel is null ? null : Enum.Parse<SharingLevel>(AnsweredLevel, ignoreCase: true),
        JsonSerializer.Deserialize<List<string>>(AnsweredFields) ?? [], Reason);
}
