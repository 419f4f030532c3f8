using System.ComponentModel.DataAnnotations;
using System.Text;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>Settings under Escrow:History (environment: Escrow__History__Name).</summary>
public sealed class HistoryOptions
{
    /// <summary>
    /// How long the record ids behind each history point are kept for "new since" (the counts are kept for good).
    /// Each point holds every overlapping record id of its cell, so this bounds what history costs on disk.
    /// </summary>
    [Range(1, 3650)]
    public int RecordIdRetentionDays { get; set; } = 90;
}

/// <summary>
/// Records the overlap history of partnership cells, one side at a time. A point is appended only when the cell
/// changed — its set of overlapping records, the owner's count that decides whether a counts-level value may be
/// shown, or the level at which the owner shares it — so history grows with changes, not with refreshes. With a
/// point recorded at the overlaps level go the viewer's own overlapping record ids, sealed under the viewer's data
/// key: they are the viewer's data, and only "new since" reads them, for the viewer.
/// </summary>
/// <remarks>
/// Below the overlaps level no record ids are kept: which of the viewer's records overlapped while the owner shared
/// only counts is not the viewer's to learn, even after the owner starts sharing the list.
/// </remarks>
public sealed class HistoryRecorder(IKeyring keyring, IOptions<HistoryOptions> options, TimeProvider time)
{
    public const string SealLabel = "oe-overlap-history-v1";

    private TimeProvider Clock => time;
    private int RetentionDays => options.Value.RecordIdRetentionDays;

    /// <summary>The record ids of a point, opened with the viewer's cipher.</summary>
    public static HashSet<string> OpenRecordIds(IOrganizationCipher cipher, HistoryPoint point) =>
        point.RecordIds is null ? [] : RecordIdSet.Decode(cipher.Open(SealLabel, point.Id, point.RecordIds)).ToHashSet(StringComparer.Ordinal);

    /// <summary>A recorder for one viewing side, writing through <paramref name="history"/> (a unit of work's store, say).</summary>
    public async Task<Side> ForSideAsync(PartnerView view, IOverlapHistoryRepository history, CancellationToken ct) =>
        new(this, view, history, await keyring.ForOrganizationAsync(view.MyOrganizationId, ct));

    /// <summary>
    /// Deletes the viewer's history of every cell the partner hides now: a hidden cell does not exist for the viewer,
    /// and what was derived from it while it was shared goes with the permission.
    /// </summary>
    public static async Task ForgetHiddenCellsAsync(PartnerView view, IOverlapHistoryRepository history, CancellationToken ct)
    {
        var recorded = await history.ListCellsAsync(view.Partnership.Id, view.MyOrganizationId, ct);
        var forget = HistoryRetention.ToForget(view, recorded.Select(c => (c.PopulationId, c.PartnerPopulationId)))
            .Select(c => new OverlapCellKey(c.MyPopulationId, c.PartnerPopulationId)).ToList();
        await history.DeleteCellsAsync(view.Partnership.Id, view.MyOrganizationId, forget, ct);
    }

    public sealed class Side(HistoryRecorder owner, PartnerView view, IOverlapHistoryRepository history, IOrganizationCipher cipher) : IDisposable
    {
        public PartnerView View => view;

        /// <summary>
        /// Appends a point when the cell differs from its latest point (<paramref name="level"/>: the owner's level in
        /// force, not hidden); returns the change, or null.
        /// </summary>
        public async Task<CellChange?> RecordAsync(PopulationSummary mine, PopulationSummary theirs, SharingLevel level,
            OverlapResult result, Func<Task<VersionRecords>> myRecords, CancellationToken ct)
        {
            var latest = await history.GetLatestAsync(view.Partnership.Id, view.MyOrganizationId, mine.Id, theirs.Id, DateTimeOffset.MaxValue, withRecordIds: true, ct);
            string[]? ids = null;
            if (HistoryRetention.KeepsRecordIds(level))
            {
                ids = new string[result.Count];
                var records = await myRecords();
                for (var i = 0; i < ids.Length; i++) ids[i] = records[result.MyOrdinals[i]].RecordId;
            }
            if (latest is null)
            {
                // Nothing overlapped before, as far as history knows; an empty cell is not worth a point.
                if (result.Count == 0) return null;
            }
            else if (latest.Level == level && latest.Count == result.Count && latest.PartnerCount == result.PartnerCount
                     && (ids is null || latest.RecordIds is null || OpenRecordIds(cipher, latest).SetEquals(ids)))
            {
                return null;
            }

            var now = owner.Clock.GetUtcNow();
            var id = Ids.New("ohp");
            var sealedIds = ids is null ? null : cipher.Seal(SealLabel, id, RecordIdSet.Encode(ids));
            var appended = await history.AppendAsync(new HistoryPoint(id, view.Partnership.Id, view.MyOrganizationId, mine.Id, theirs.Id, now, level,
                result.Count, result.PartnerCount, sealedIds), now.AddDays(-owner.RetentionDays), latest?.Id, ct);
            // Another refresher recorded this cell meanwhile: the change (and its event) is its to report.
            if (!appended) return null;
            return new CellChange(mine.Id, theirs.Id, latest?.Count ?? 0, latest?.PartnerCount ?? 0, result.Count, result.PartnerCount, latest?.Level);
        }

        public void Dispose() => cipher.Dispose();
    }
}

/// <summary>
/// The encoding of a set of record ids, sorted: a count, then per id the length of the prefix it shares with the
/// previous id (in UTF-8 bytes), the length of the rest and the rest. Ids of one population usually share long
/// prefixes ("ACUS-000…"), which this keeps out of the stored size.
/// </summary>
public static class RecordIdSet
{
    public static byte[] Encode(IReadOnlyList<string> sortedIds)
    {
        using var buffer = new MemoryStream();
        using var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true);
        writer.Write7BitEncodedInt(sortedIds.Count);
        var previous = Array.Empty<byte>();
        foreach (var id in sortedIds)
        {
            var bytes = Encoding.UTF8.GetBytes(id);
            var shared = bytes.AsSpan().CommonPrefixLength(previous);
            writer.Write7BitEncodedInt(shared);
            writer.Write7BitEncodedInt(bytes.Length - shared);
            writer.Write(bytes, shared, bytes.Length - shared);
            previous = bytes;
        }
        writer.Flush();
        return buffer.ToArray();
    }

    public static List<string> Decode(byte[] encoded)
    {
        using var reader = new BinaryReader(new MemoryStream(encoded), Encoding.UTF8);
        var count = reader.Read7BitEncodedInt();
        var ids = new List<string>(count);
        var previous = Array.Empty<byte>();
        for (var i = 0; i < count; i++)
        {
            var shared = reader.Read7BitEncodedInt();
            var rest = reader.ReadBytes(reader.Read7BitEncodedInt());
            var bytes = new byte[shared + rest.Length];
            previous.AsSpan(0, shared).CopyTo(bytes);
            rest.CopyTo(bytes, shared);
            ids.Add(Encoding.UTF8.GetString(bytes));
            previous = bytes;
        }
        return ids;
    }
}
