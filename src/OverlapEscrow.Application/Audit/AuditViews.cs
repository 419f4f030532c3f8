using System.Text.Json;
using System.Text.Json.Serialization;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Application.Audit;

/// <summary>One event as an organization reads it, parsed from the record its chain hashes.</summary>
public sealed record AuditViewRecord(long Position, DateTimeOffset At, bool ByMyOrganization, string Actor, string Action, string? PartnershipId, JsonElement Detail);

/// <summary>
/// Each organization's own chain over the audit events it may read: its own events, and its partners' events that
/// <see cref="PartnerAuditView"/> lets it see (rendered as that rule renders them). Positions count that
/// organization's events only, so neither a position nor a checkpoint says anything about other organizations'
/// volume; and an organization can verify its chain from the records it reads, without the rest of the log.
/// </summary>
/// <remarks>
/// The chains are built from the log after the fact (<see cref="CatchUpAsync"/>, before every read of a chain and
/// every checkpoint), not at each append, so appending an event stays one locked row. An indexer moves a single
/// progress row with a compare-and-set: two indexers (two instances) never add an event twice.
/// </remarks>
public sealed class AuditViews(IAuditViewStore store)
{
    private const int Batch = 500;
    private static readonly JsonSerializerOptions RecordJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Adds every event of the log not yet in the chains to the chains of the organizations that may read it.</summary>
    public async Task CatchUpAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            while (true)
            {
                var progress = await store.ViewProgressAsync(ct);
                var events = await store.EventsAfterAsync(progress, Batch, ct);
                if (events.Count == 0) return;
                var entries = await RenderAsync(events, ct);
                // False: another instance indexed these events first; read the progress again.
                await store.AppendViewsAsync(progress, events[^1].Seq, entries, ct);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<List<AuditViewEntry>> RenderAsync(IReadOnlyList<AuditEvent> events, CancellationToken ct)
    {
        var sides = (await store.PartnershipSidesAsync(events.Where(e => e.PartnershipId is not null).Select(e => e.PartnershipId!).Distinct().ToList(), ct))
            .ToDictionary(s => s.PartnershipId);
        var audiences = events.Select(e => (Event: e, To: Audience(e, sides).ToList())).ToList();
        var organizations = audiences.SelectMany(a => a.To.Select(t => t.OrganizationId)).Distinct().ToList();
        // An organization that was deleted gets no chain any more (its own chain went with it).
        var existing = (await store.ExistingOrganizationsAsync(organizations, ct)).ToHashSet(StringComparer.Ordinal);
        var heads = (await store.HeadsAsync(organizations, ct)).ToDictionary(h => h.OrganizationId, h => (h.Position, h.Hash));
        var entries = new List<AuditViewEntry>();
        foreach (var (e, to) in audiences)
            foreach (var (organizationId, mine) in to)
            {
                if (!existing.Contains(organizationId)) continue;
                var (position, prev) = heads.TryGetValue(organizationId, out var head) ? head : (0L, AuditChain.Genesis);
                var record = Record(position + 1, e, mine);
                var hash = AuditChain.Link(prev, record);
                entries.Add(new AuditViewEntry(organizationId, position + 1, e.Seq, record, prev, hash));
                heads[organizationId] = (position + 1, hash);
            }
        return entries;
    }

    /// <summary>Who may read an event: its organization, and the other side of its partnership when the event is one a partner sees.</summary>
    private static IEnumerable<(string OrganizationId, bool Mine)> Audience(AuditEvent e, IReadOnlyDictionary<string, PartnershipSides> sides)
    {
        yield return (e.OrganizationId, true);
        if (e.PartnershipId is not { } id || !PartnerAuditView.Shows(e.Action, e.Detail) || !sides.TryGetValue(id, out var s)) yield break;
        var partner = s.InviterOrganizationId == e.OrganizationId ? s.InviteeOrganizationId
            : s.InviteeOrganizationId == e.OrganizationId ? s.InviterOrganizationId : null;
        if (partner is not null && partner != e.OrganizationId) yield return (partner, false);
    }

    /// <summary>The exact text an organization's chain hashes for an event: the event as that organization reads it.</summary>
    public static string Record(long position, AuditEvent e, bool mine) =>
        JsonSerializer.Serialize(new AuditViewRecord(position, e.At, mine, e.Actor, e.Action, e.PartnershipId, mine ? e.Detail : PartnerAuditView.Detail(e.Action, e.Detail)), RecordJson);

    public static AuditViewRecord Parse(string record) =>
        JsonSerializer.Deserialize<AuditViewRecord>(record, RecordJson) ?? throw new JsonException("An empty audit record.");

    /// <summary>
    /// Checks an organization's chain from a trusted point (position and hash, from a checkpoint; 0 and zeros for the
    /// start) to its end: each entry links to the one before, hashes to what it stores, still renders from its event in
    /// the log, and that event's own link in the log holds. Only the entries after the trusted point are read.
    /// </summary>
    public async Task<ChainCheck> CheckAsync(string organizationId, long fromPosition, byte[] fromHash, CancellationToken ct)
    {
        if (fromPosition > 0)
        {
            var at = await store.GetViewEntryAsync(organizationId, fromPosition, ct);
            if (at is null || !at.Hash.AsSpan().SequenceEqual(fromHash)) return new ChainCheck(false, fromPosition, fromPosition, fromHash);
        }
        var prev = fromHash;
        var position = fromPosition;
        while (true)
        {
            var page = await store.ListViewAsync(organizationId, position, Batch, ct);
            if (page.Count == 0) return new ChainCheck(true, null, position, prev);
            var events = (await store.EventsAsync(page.Select(p => p.Seq).ToList(), ct)).ToDictionary(e => e.Seq);
            foreach (var entry in page)
            {
                var ok = entry.Position == position + 1
                         && entry.PrevHash.AsSpan().SequenceEqual(prev)
                         && entry.Hash.AsSpan().SequenceEqual(AuditChain.Link(prev, entry.Record))
                         && events.TryGetValue(entry.Seq, out var e)
                         && AuditChain.LinkHolds(e)
                         && entry.Record == Record(entry.Position, e, e.OrganizationId == organizationId);
                if (!ok) return new ChainCheck(false, position + 1, position, prev);
                prev = entry.Hash;
                position = entry.Position;
            }
        }
    }
}

/// <summary>The outcome of checking a chain: valid or where it first broke, and the size and head of what verified.</summary>
public sealed record ChainCheck(bool Valid, long? FirstBrokenPosition, long Size, byte[] Head);
