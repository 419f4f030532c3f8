using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;

namespace OverlapEscrow.Data.Audit;

public sealed class AuditEventRow
{
    public long Seq { get; init; }
    public long At { get; init; }
    public string OrganizationId { get; init; } = "";
    public string Actor { get; init; } = "";
    public string Action { get; init; } = "";
    public string? PartnershipId { get; init; }
    public string Detail { get; init; } = "{}";
    public byte[] PrevHash { get; init; } = [];
    public byte[] Hash { get; init; } = [];
}

/// <summary>
/// The outcome of recomputing the chain. <see cref="HeadHash"/> is the last event's hash: recorded outside the
/// escrow (a ticket, a signed note), it lets a later verification show that no event was cut from the end.
/// </summary>
public sealed record AuditVerification(bool Valid, long EventCount, long? FirstBrokenSeq, byte[] HeadHash);

/// <summary>
/// The append-only, hash-chained audit log. Each event's hash is SHA-256(previous hash || canonical JSON of the
/// event), the first event chaining from 32 zero bytes; changing, removing or reordering any stored event breaks
/// every hash after it. The database refuses UPDATE and DELETE on the table (triggers), and
/// <see cref="VerifyAsync"/> recomputes the chain.
/// </summary>
public interface IAuditRepository
{
    Task AppendAsync(long at, string organizationId, string actor, string action, string? partnershipId, object detail, CancellationToken ct = default);
    /// <summary>
    /// Events of the organization, and its partners' partnership and data-release events in partnerships it is
    /// part of (so an owner sees who read its data). Callers must strip a partner's event details to what
    /// concerns the organization.
    /// </summary>
    Task<IReadOnlyList<AuditEventRow>> ListAsync(string organizationId, long afterSeq, int limit, CancellationToken ct = default);
    Task<AuditVerification> VerifyAsync(CancellationToken ct = default);
}

public sealed class AuditRepository(IDbConnectionFactory db) : IAuditRepository
{
    public async Task AppendAsync(long at, string organizationId, string actor, string action, string? partnershipId, object detail, CancellationToken ct = default)
    {
        var detailJson = JsonSerializer.Serialize(detail, SerializerOptions);
        await using var connection = await db.OpenAsync(ct);
        // The write transaction serializes appenders, so two events never chain from the same predecessor.
        await using var tx = await connection.BeginTransactionAsync(ct);
        var last = await connection.QuerySingleOrDefaultAsync<(long Seq, byte[] Hash)>(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", transaction: tx);
        var prev = last.Hash ?? new byte[32];
        var seq = last.Seq + 1;
        var hash = Chain(prev, seq, at, organizationId, actor, action, partnershipId, detailJson);
        await connection.ExecuteAsync(
            """
            INSERT INTO audit_events (seq, at, organization_id, actor, action, partnership_id, detail, prev_hash, hash)
            VALUES (@seq, @at, @organizationId, @actor, @action, @partnershipId, @detailJson, @prev, @hash)
            """, new { seq, at, organizationId, actor, action, partnershipId, detailJson, prev, hash }, tx);
        await tx.CommitAsync(ct);
    }

    public async Task<IReadOnlyList<AuditEventRow>> ListAsync(string organizationId, long afterSeq, int limit, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<AuditEventRow>(
            """
            SELECT * FROM audit_events
            WHERE seq > @afterSeq AND (organization_id = @organizationId OR (
                action IN ('partnership.invited', 'partnership.accepted', 'partnership.declined', 'partnership.terminated',
                           'overlaps.released', 'overlaps.matrix_read', 'overlaps.history_read')
                AND partnership_id IN (SELECT id FROM partnerships
                    WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)))
            ORDER BY seq LIMIT @limit
            """,
            new { organizationId, afterSeq, limit })).AsList();
    }

    public async Task<AuditVerification> VerifyAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var prev = new byte[32];
        long count = 0, expectedSeq = 1;
        await using var reader = await connection.ExecuteReaderAsync("SELECT * FROM audit_events ORDER BY seq");
        var parser = reader.GetRowParser<AuditEventRow>();
        while (await reader.ReadAsync(ct))
        {
            var e = parser(reader);
            var expected = Chain(prev, e.Seq, e.At, e.OrganizationId, e.Actor, e.Action, e.PartnershipId, e.Detail);
            if (e.Seq != expectedSeq || !e.PrevHash.AsSpan().SequenceEqual(prev) || !e.Hash.AsSpan().SequenceEqual(expected))
                return new AuditVerification(false, count, e.Seq, prev);
            prev = e.Hash;
            count++;
            expectedSeq++;
        }
        return new AuditVerification(true, count, null, prev);
    }

    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    private static byte[] Chain(byte[] prev, long seq, long at, string organizationId, string actor, string action, string? partnershipId, string detailJson)
    {
        var canonical = JsonSerializer.Serialize(new object?[] { seq, at, organizationId, actor, action, partnershipId, detailJson });
        var bytes = new byte[prev.Length + Encoding.UTF8.GetByteCount(canonical)];
        prev.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(canonical, bytes.AsSpan(prev.Length));
        return SHA256.HashData(bytes);
    }
}
