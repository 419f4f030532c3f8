using System.Text.Json;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Data.Audit;

internal sealed class AuditEventRow
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

    public AuditEvent ToDomain()
    {
        using var detail = JsonDocument.Parse(Detail);
        return new AuditEvent(Seq, Time.FromUnixMs(At), OrganizationId, Actor, Action, PartnershipId, detail.RootElement.Clone(), PrevHash, Hash);
    }
}

/// <summary>
/// The hash-chained log (see <see cref="IAuditRepository"/>). The head of the chain (last seq and hash) is one row of
/// audit_head: an append reads it locked, inserts the event and moves the head, in one write transaction, so two
/// appenders — on any database, from any instance — never chain from the same predecessor. The database refuses
/// UPDATE and DELETE on the events (triggers).
/// </summary>
/// <remarks>
/// Inside a unit of work an append is a savepoint of the unit's transaction: it commits with the change it records.
/// Outside one (reads, refusals, sign-ins) it goes through <paramref name="groupCommit"/> when given: many appenders'
/// events share one transaction and one fsync, and each append still returns only once its event is committed.
/// </remarks>
internal sealed class AuditRepository(IDbScope scope, AuditGroupCommit? groupCommit = null) : IAuditRepository
{
    /// <summary>An event to append, its detail already serialized as it is stored and hashed.</summary>
    internal sealed record NewEvent(long At, string OrganizationId, string Actor, string Action, string? PartnershipId, string DetailJson);

    internal const string InsertColumnsSql = "INSERT INTO audit_events (seq, at, organization_id, actor, action, partnership_id, detail, prev_hash, hash)";

    internal const string InsertSql = InsertColumnsSql + " VALUES (@seq, @at, @OrganizationId, @Actor, @Action, @PartnershipId, @detailJson, @prev, @hash)";

    internal static object Row(long seq, NewEvent e, byte[] prev, byte[] hash) =>
        new { seq, at = e.At, e.OrganizationId, e.Actor, e.Action, e.PartnershipId, detailJson = e.DetailJson, prev, hash };

    internal static byte[] Chain(byte[] prev, long seq, NewEvent e) => Chain(prev, seq, e.At, e.OrganizationId, e.Actor, e.Action, e.PartnershipId, e.DetailJson);

    public async Task AppendAsync(AuditEntry entry, CancellationToken ct)
    {
        var e = new NewEvent(Time.ToUnixMs(entry.At), entry.OrganizationId, entry.Actor, entry.Action, entry.PartnershipId,
            JsonSerializer.Serialize(entry.Detail, SerializerOptions));
        if (groupCommit is not null)
        {
            await groupCommit.AppendAsync(e, ct);
            return;
        }
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var head = await db.SingleAsync<(long Seq, byte[] Hash)>($"SELECT seq, hash FROM audit_head WHERE id = 1{db.Dialect.ForUpdate}");
        var seq = head.Seq + 1;
        var hash = Chain(head.Hash, seq, e);
        await db.ExecuteAsync(InsertSql, Row(seq, e, head.Hash, hash));
        await db.ExecuteAsync("UPDATE audit_head SET seq = @seq, hash = @hash WHERE id = 1", new { seq, hash });
        await tx.CommitAsync();
    }

    public async Task<IReadOnlyList<AuditEvent>> ListAsync(string organizationId, IReadOnlyList<string> partnerActions, long afterSeq, int limit, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<AuditEventRow>(
            $"""
            SELECT * FROM audit_events
            WHERE seq > @afterSeq AND (organization_id = @organizationId OR (
                {db.Dialect.In("action", "partnerActions")}
                AND partnership_id IN (SELECT id FROM partnerships
                    WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId
                  UNION ALL SELECT id FROM partnership_tombstones
                    WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)))
            ORDER BY seq LIMIT @limit
            """,
            new { organizationId, partnerActions = partnerActions.ToArray(), afterSeq, limit })).Select(e => e.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<AuditEvent>> ListLatestForPopulationAsync(string organizationId, IReadOnlyList<string> actions, string populationId, int limit,
        CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // The index on (organization_id, action, seq) walks only this organization's events of these actions, newest first.
        return (await db.QueryAsync<AuditEventRow>(
            $"""
            SELECT * FROM audit_events
            WHERE organization_id = @organizationId AND {db.Dialect.In("action", "actions")} AND {db.Dialect.JsonText("detail", "populationId")} = @populationId
            ORDER BY seq DESC LIMIT @limit
            """,
            new { organizationId, actions = actions.ToArray(), populationId, limit })).Select(e => e.ToDomain()).ToList();
    }

    public async Task<IReadOnlyList<(string OrganizationId, string PartnershipId)>> RecentReadsAsync(IReadOnlyList<string> actions, DateTimeOffset since,
        int maxEvents, CancellationToken ct)
    {
        const int Chunk = 2000;
        var from = Time.ToUnixMs(since);
        var seen = new HashSet<(string, string)>();
        var result = new List<(string, string)>();
        await using var db = await scope.OpenAsync(ct);
        // Backwards by seq (the primary key), a chunk at a time: the newest events first, and no scan of the older log.
        // An event's time is read from its instance's clock as it is appended, so times fall with seq up to the clocks'
        // skew between instances and the milliseconds between a read and its append: the walk skips events just older
        // than the window and ends at the first one older than the window by more than that slack.
        var end = Time.ToUnixMs(since - TimeSpan.FromMinutes(1));
        var before = long.MaxValue;
        for (var walked = 0; walked < maxEvents;)
        {
            ct.ThrowIfCancellationRequested();
            var limit = Math.Min(Chunk, maxEvents - walked);
            var chunk = await db.QueryAsync<(long Seq, long At, string OrganizationId, string Action, string? PartnershipId)>(
                "SELECT seq, at, organization_id, action, partnership_id FROM audit_events WHERE seq < @before ORDER BY seq DESC LIMIT @limit",
                new { before, limit });
            foreach (var e in chunk)
            {
                if (e.At < end) return result;
                if (e.At < from) continue;
                if (e.PartnershipId is { } partnership && actions.Contains(e.Action) && seen.Add((e.OrganizationId, partnership)))
                    result.Add((e.OrganizationId, partnership));
            }
            walked += chunk.Count;
            if (chunk.Count < limit) break; // the log's start
            before = chunk[^1].Seq;
        }
        return result;
    }

    /// <summary>The whole chain, from its zero start.</summary>
    public Task<AuditVerification> VerifyAsync(CancellationToken ct) => VerifyFromAsync(0, new byte[32], ct);

    public async Task<AuditVerification> VerifyFromAsync(long afterSeq, byte[] expectedHashAtSeq, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var read = await db.BeginReadAsync();
        var prev = expectedHashAtSeq;
        long count = afterSeq, expectedSeq = afterSeq + 1;
        if (afterSeq > 0)
        {
            var stored = await db.FirstOrDefaultAsync<byte[]>("SELECT hash FROM audit_events WHERE seq = @afterSeq", new { afterSeq });
            if (stored is null || !stored.AsSpan().SequenceEqual(expectedHashAtSeq)) return new AuditVerification(false, 0, afterSeq, expectedHashAtSeq);
        }
        await using var reader = await db.ReaderAsync("SELECT * FROM audit_events WHERE seq > @afterSeq ORDER BY seq", new { afterSeq });
        var parser = Dapper.SqlMapper.GetRowParser<AuditEventRow>(reader);
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

    private static byte[] Chain(byte[] prev, long seq, long at, string organizationId, string actor, string action, string? partnershipId, string detailJson) =>
        Application.Audit.AuditChain.Hash(prev, seq, at, organizationId, actor, action, partnershipId, detailJson);
}
