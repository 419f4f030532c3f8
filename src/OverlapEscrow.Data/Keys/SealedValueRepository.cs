using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Keys;

/// <summary>
/// Every value an organization's data key seals, by kind: where each kind is stored (table, key columns, sealed
/// columns) is written once here, and a data-key rotation walks them all through one interface.
/// </summary>
internal sealed class SealedValueRepository(IDbScope scope) : ISealedValueStore
{
    /// <summary>Where one kind of sealed value lives: a query yielding (row_id, seq, nonce, data, key_version) of the organization, and its update.</summary>
    private sealed record Place(string Select, string Update);

    private static readonly IReadOnlyDictionary<SealKind, Place> Places = new Dictionary<SealKind, Place>
    {
        [SealKind.Segment] = new(
            """
            SELECT s.version_id AS row_id, s.seq AS seq, s.nonce AS nonce, s.data AS data, s.key_version AS key_version
            FROM segments s JOIN population_versions v ON v.id = s.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId
            """,
            """
            UPDATE segments SET nonce = @newNonce, data = @newData, key_version = @newVersion
            WHERE version_id = @rowId AND seq = @seq AND nonce = @oldNonce
              AND version_id IN (SELECT v.id FROM population_versions v JOIN populations p ON p.id = v.population_id WHERE p.organization_id = @organizationId)
            """),
        [SealKind.HistoryRecordIds] = new(
            """
            SELECT id AS row_id, 0 AS seq, record_ids_nonce AS nonce, record_ids AS data, record_ids_key_version AS key_version
            FROM overlap_history WHERE organization_id = @organizationId AND record_ids IS NOT NULL
            """,
            """
            UPDATE overlap_history SET record_ids_nonce = @newNonce, record_ids = @newData, record_ids_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND record_ids_nonce = @oldNonce
            """),
        [SealKind.WebhookSecret] = new(
            """
            SELECT id AS row_id, 0 AS seq, secret_nonce AS nonce, secret AS data, secret_key_version AS key_version
            FROM webhooks WHERE organization_id = @organizationId
            """,
            """
            UPDATE webhooks SET secret_nonce = @newNonce, secret = @newData, secret_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND secret_nonce = @oldNonce
            """),
        [SealKind.WebhookPreviousSecret] = new(
            """
            SELECT id AS row_id, 0 AS seq, previous_secret_nonce AS nonce, previous_secret AS data, previous_secret_key_version AS key_version
            FROM webhooks WHERE organization_id = @organizationId AND previous_secret IS NOT NULL
            """,
            """
            UPDATE webhooks SET previous_secret_nonce = @newNonce, previous_secret = @newData, previous_secret_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND previous_secret_nonce = @oldNonce
            """),
        [SealKind.ScheduleSecret] = new(
            """
            SELECT id AS row_id, 0 AS seq, secret_nonce AS nonce, secret_value AS data, secret_key_version AS key_version
            FROM schedules WHERE organization_id = @organizationId AND secret_value IS NOT NULL
            """,
            """
            UPDATE schedules SET secret_nonce = @newNonce, secret_value = @newData, secret_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND secret_nonce = @oldNonce
            """),
        [SealKind.VersionColumns] = new(
            """
            SELECT c.version_id AS row_id, c.part AS seq, c.nonce AS nonce, c.data AS data, c.key_version AS key_version
            FROM version_columns c JOIN population_versions v ON v.id = c.version_id JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId
            """,
            """
            UPDATE version_columns SET nonce = @newNonce, data = @newData, key_version = @newVersion
            WHERE version_id = @rowId AND part = @seq AND nonce = @oldNonce
              AND version_id IN (SELECT v.id FROM population_versions v JOIN populations p ON p.id = v.population_id WHERE p.organization_id = @organizationId)
            """),
        [SealKind.DataRequestMessage] = new(
            """
            SELECT id AS row_id, 0 AS seq, message_nonce AS nonce, message_sealed AS data, message_key_version AS key_version
            FROM data_requests WHERE requester_organization_id = @organizationId AND message_sealed IS NOT NULL
            """,
            """
            UPDATE data_requests SET message_nonce = @newNonce, message_sealed = @newData, message_key_version = @newVersion
            WHERE id = @rowId AND requester_organization_id = @organizationId AND message_nonce = @oldNonce
            """),
        [SealKind.DataRequestReason] = new(
            """
            SELECT id AS row_id, 0 AS seq, reason_nonce AS nonce, reason_sealed AS data, reason_key_version AS key_version
            FROM data_requests WHERE owner_organization_id = @organizationId AND reason_sealed IS NOT NULL
            """,
            """
            UPDATE data_requests SET reason_nonce = @newNonce, reason_sealed = @newData, reason_key_version = @newVersion
            WHERE id = @rowId AND owner_organization_id = @organizationId AND reason_nonce = @oldNonce
            """),
        [SealKind.AttributionClaim] = new(
            """
            SELECT id AS row_id, 0 AS seq, claim_nonce AS nonce, claim_sealed AS data, claim_key_version AS key_version
            FROM attributions WHERE claimant_organization_id = @organizationId AND claim_sealed IS NOT NULL
            """,
            """
            UPDATE attributions SET claim_nonce = @newNonce, claim_sealed = @newData, claim_key_version = @newVersion
            WHERE id = @rowId AND claimant_organization_id = @organizationId AND claim_nonce = @oldNonce
            """),
        [SealKind.AttributionResponse] = new(
            """
            SELECT id AS row_id, 0 AS seq, response_nonce AS nonce, response_sealed AS data, response_key_version AS key_version
            FROM attributions WHERE partner_organization_id = @organizationId AND response_sealed IS NOT NULL
            """,
            """
            UPDATE attributions SET response_nonce = @newNonce, response_sealed = @newData, response_key_version = @newVersion
            WHERE id = @rowId AND partner_organization_id = @organizationId AND response_nonce = @oldNonce
            """),
        [SealKind.WebhookPayload] = new(
            """
            SELECT id AS row_id, 0 AS seq, payload_nonce AS nonce, payload_sealed AS data, payload_key_version AS key_version
            FROM webhook_deliveries WHERE organization_id = @organizationId AND payload_sealed IS NOT NULL
            """,
            """
            UPDATE webhook_deliveries SET payload_nonce = @newNonce, payload_sealed = @newData, payload_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND payload_nonce = @oldNonce
            """),
        [SealKind.WebhookTarget] = new(
            """
            SELECT id AS row_id, 0 AS seq, target_nonce AS nonce, target_sealed AS data, target_key_version AS key_version
            FROM webhooks WHERE organization_id = @organizationId AND target_sealed IS NOT NULL
            """,
            """
            UPDATE webhooks SET target_nonce = @newNonce, target_sealed = @newData, target_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND target_nonce = @oldNonce
            """),
        [SealKind.ScheduleSourceUrl] = new(
            """
            SELECT id AS row_id, 0 AS seq, source_url_nonce AS nonce, source_url_sealed AS data, source_url_key_version AS key_version
            FROM schedules WHERE organization_id = @organizationId AND source_url_sealed IS NOT NULL
            """,
            """
            UPDATE schedules SET source_url_nonce = @newNonce, source_url_sealed = @newData, source_url_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND source_url_nonce = @oldNonce
            """),
        [SealKind.MemberIdentity] = new(
            """
            SELECT id AS row_id, 0 AS seq, identity_nonce AS nonce, identity_sealed AS data, identity_key_version AS key_version
            FROM members WHERE organization_id = @organizationId AND identity_sealed IS NOT NULL
            """,
            """
            UPDATE members SET identity_nonce = @newNonce, identity_sealed = @newData, identity_key_version = @newVersion
            WHERE id = @rowId AND organization_id = @organizationId AND identity_nonce = @oldNonce
            """),
    };

    public async Task<IReadOnlyList<StoredSeal>> ListNotUnderAsync(string organizationId, SealKind kind, int keyVersion, string afterRowId, long afterSeq, int limit,
        CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<SealRow>(
            $"""
            SELECT * FROM ({Places[kind].Select}) AS s
            WHERE COALESCE(key_version, 1) <> @keyVersion AND (row_id > @afterRowId OR (row_id = @afterRowId AND seq > @afterSeq))
            ORDER BY row_id, seq LIMIT @limit
            """, new { organizationId, keyVersion, afterRowId, afterSeq, limit });
        return rows.Select(r => new StoredSeal(kind, r.RowId, r.Seq, new SealedValue(r.Nonce, r.Data, (int)(r.KeyVersion ?? 1)))).ToList();
    }

    public async Task<bool> ReplaceAsync(string organizationId, StoredSeal old, SealedValue replacement, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return await db.ExecuteAsync(Places[old.Kind].Update, new
        {
            organizationId, rowId = old.RowId, seq = old.Seq, oldNonce = old.Value.Nonce,
            newNonce = replacement.Nonce, newData = replacement.Ciphertext, newVersion = replacement.KeyVersion,
        }) == 1;
    }

    public async Task<int> PendingVersionsStartedBeforeAsync(string organizationId, DateTimeOffset before, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (int)await db.ScalarAsync<long>(
            """
            SELECT COUNT(*) FROM population_versions v JOIN populations p ON p.id = v.population_id
            WHERE p.organization_id = @organizationId AND v.status = 'pending' AND v.created_at < @before
            """, new { organizationId, before = Time.ToUnixMs(before) });
    }

    public async Task<IReadOnlyDictionary<int, long>> CountByKeyVersionAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var read = await db.BeginReadAsync();
        var counts = new Dictionary<int, long>();
        foreach (var place in Places.Values)
            foreach (var (version, count) in await db.QueryAsync<(long Version, long Count)>(
                         $"SELECT COALESCE(key_version, 1), COUNT(*) FROM ({place.Select}) AS s GROUP BY COALESCE(key_version, 1)", new { organizationId }))
                counts[(int)version] = counts.GetValueOrDefault((int)version) + count;
        await read.CommitAsync();
        return counts;
    }

    private sealed class SealRow
    {
        public string RowId { get; init; } = "";
        public long Seq { get; init; }
        public byte[] Nonce { get; init; } = [];
        public byte[] Data { get; init; } = [];
        public long? KeyVersion { get; init; }
    }
}
