using System.Text.Json;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Data.Signals;

internal sealed class DataRequestRepository(IDbScope scope) : IDataRequestRepository
{
    public async Task<bool> CreateAsync(DataRequest request, SealedValue message, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // message stays NOT NULL for rows written before texts were sealed: '' here, the text is in message_sealed.
        var n = await db.ExecuteAsync(
            """
            INSERT INTO data_requests (id, partnership_id, requester_organization_id, owner_organization_id, requester_population_id,
                                       owner_population_id, message, message_nonce, message_sealed, message_key_version, status, created_at, created_by,
                                       answered_fields)
            VALUES (@Id, @PartnershipId, @RequesterOrganizationId, @OwnerOrganizationId, @RequesterPopulationId,
                    @OwnerPopulationId, '', @nonce, @sealed, @keyVersion, 'open', @CreatedAt, @CreatedBy, '[]')
            ON CONFLICT DO NOTHING
            """,
            new
            {
                request.Id, request.PartnershipId, request.RequesterOrganizationId, request.OwnerOrganizationId, request.RequesterPopulationId,
                request.OwnerPopulationId, nonce = message.Nonce, @sealed = message.Ciphertext, keyVersion = message.KeyVersion,
                CreatedAt = Time.ToUnixMs(request.CreatedAt), request.CreatedBy,
            });
        return n == 1;
    }

    public async Task<int> CountMadeSinceAsync(string requesterOrganizationId, string partnershipId, DateTimeOffset since, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (int)await db.ScalarAsync<long>(
            """
            SELECT COUNT(*) FROM data_requests
            WHERE requester_organization_id = @requesterOrganizationId AND partnership_id = @partnershipId AND created_at >= @since
            """, new { requesterOrganizationId, partnershipId, since = Time.ToUnixMs(since) });
    }

    public async Task<StoredDataRequest?> GetAsync(string organizationId, string requestId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<DataRequestRow>(
            """
            SELECT * FROM data_requests
            WHERE id = @requestId AND (requester_organization_id = @organizationId OR owner_organization_id = @organizationId)
            """, new { organizationId, requestId }))?.ToStored();
    }

    public async Task<IReadOnlyList<StoredDataRequest>> ListAsync(string organizationId, string? partnershipId, ListPosition? after, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<DataRequestRow>(
            """
            SELECT * FROM data_requests
            WHERE (requester_organization_id = @organizationId OR owner_organization_id = @organizationId)
              AND (@partnershipId IS NULL OR partnership_id = @partnershipId)
              AND (@afterAt IS NULL OR created_at < @afterAt OR (created_at = @afterAt AND id < @afterId))
            ORDER BY created_at DESC, id DESC
            LIMIT @limit
            """, new { organizationId, partnershipId, afterAt = after is null ? (long?)null : Time.ToUnixMs(after.At), afterId = after?.Id ?? "", limit }))
            .Select(r => r.ToStored()).ToList();
    }

    public async Task<bool> ResolveAsync(DataRequest resolved, SealedValue? reason, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var n = await db.ExecuteAsync(
            """
            UPDATE data_requests
            SET status = @status, resolved_at = @resolvedAt, resolved_by = @ResolvedBy, answered_level = @level, answered_fields = @fields,
                reason = NULL, reason_nonce = @nonce, reason_sealed = @sealed, reason_key_version = @keyVersion
            WHERE id = @Id AND status = 'open'
            """,
            new
            {
                resolved.Id, status = DataRequestRow.Text(resolved.Status), resolvedAt = Time.ToUnixMs(resolved.ResolvedAt), resolved.ResolvedBy,
                level = resolved.AnsweredLevel?.ToString().ToLowerInvariant(), fields = JsonSerializer.Serialize(resolved.AnsweredFields),
                nonce = reason?.Nonce, @sealed = reason?.Ciphertext, keyVersion = reason?.KeyVersion,
            });
        return n == 1;
    }

    public async Task<IReadOnlyList<DataRequest>> ListUnsealedAsync(int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<DataRequestRow>(
            """
            SELECT * FROM data_requests
            WHERE (message <> '' AND message_sealed IS NULL) OR (reason IS NOT NULL AND reason_sealed IS NULL)
            ORDER BY id LIMIT @limit
            """, new { limit })).Select(r => r.ToStored().Request).ToList();
    }

    public async Task SealLegacyAsync(string requestId, bool message, SealedValue? messageSeal, bool reason, SealedValue? reasonSeal, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        if (message)
            await db.ExecuteAsync(
                """
                UPDATE data_requests SET message = '', message_nonce = @nonce, message_sealed = @sealed, message_key_version = @keyVersion
                WHERE id = @requestId AND message <> '' AND message_sealed IS NULL
                """, new { requestId, nonce = messageSeal?.Nonce, @sealed = messageSeal?.Ciphertext, keyVersion = messageSeal?.KeyVersion });
        if (reason)
            await db.ExecuteAsync(
                """
                UPDATE data_requests SET reason = NULL, reason_nonce = @nonce, reason_sealed = @sealed, reason_key_version = @keyVersion
                WHERE id = @requestId AND reason IS NOT NULL AND reason_sealed IS NULL
                """, new { requestId, nonce = reasonSeal?.Nonce, @sealed = reasonSeal?.Ciphertext, keyVersion = reasonSeal?.KeyVersion });
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
    public byte[]? MessageNonce { get; init; }
    public byte[]? MessageSealed { get; init; }
    public long? MessageKeyVersion { get; init; }
    public string Status { get; init; } = "";
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public long? ResolvedAt { get; init; }
    public string? ResolvedBy { get; init; }
    public string? AnsweredLevel { get; init; }
    public string AnsweredFields { get; init; } = "[]";
    public string? Reason { get; init; }
    public byte[]? ReasonNonce { get; init; }
    public byte[]? ReasonSealed { get; init; }
    public long? ReasonKeyVersion { get; init; }

    public static string Text(DataRequestStatus status) => status.ToString().ToLowerInvariant();

    public StoredDataRequest ToStored() => new(
        new DataRequest(Id, PartnershipId, RequesterOrganizationId, OwnerOrganizationId, RequesterPopulationId, OwnerPopulationId,
            Message, Enum.Parse<DataRequestStatus>(Status, ignoreCase: true), Time.FromUnixMs(CreatedAt), CreatedBy, Time.FromUnixMs(ResolvedAt), ResolvedBy,
            AnsweredLevel is null ? null : Enum.Parse<SharingLevel>(AnsweredLevel, ignoreCase: true),
            JsonSerializer.Deserialize<List<string>>(AnsweredFields) ?? [], Reason),
        Seal(MessageNonce, MessageSealed, MessageKeyVersion), Seal(ReasonNonce, ReasonSealed, ReasonKeyVersion));

    internal static SealedValue? Seal(byte[]? nonce, byte[]? data, long? keyVersion) =>
        nonce is null || data is null ? null : new SealedValue(nonce, data, (int)(keyVersion ?? 1));
}
