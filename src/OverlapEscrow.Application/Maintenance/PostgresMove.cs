using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Application.Maintenance;

/// <summary>
/// A consistent copy of the running SQLite database, taken for a move and deleted after it. <see cref="Directory"/>
/// holds it as <c>escrow.db</c>, so a service can be pointed at it (as a data directory) to read it as the escrow did.
/// </summary>
public sealed class MoveSnapshot(string directory, long bytes, DateTimeOffset takenAt) : IDisposable
{
    public string Directory { get; } = directory;
    public string DatabasePath => Path.Combine(Directory, "escrow.db");
    public long Bytes { get; } = bytes;
    public DateTimeOffset TakenAt { get; } = takenAt;

    /// <summary>Deletes the snapshot: it holds everything the database holds.</summary>
    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}

/// <summary>One table on both sides: rows and whether the digests agree.</summary>
public sealed record TableComparison(string Table, long? SourceRows, long? TargetRows, bool Same);

/// <summary>
/// Moving an SQLite escrow into PostgreSQL (docs/operations.md, "Moving to PostgreSQL"): a snapshot of the running
/// database, the copy into an empty PostgreSQL database, and the table-by-table comparison of the two. The audit chain
/// and the matrices are checked by the caller on services over each side (<see cref="MatrixFingerprints"/>,
/// <see cref="Audit.AuditTrail"/>).
/// </summary>
public sealed class PostgresMove(IDatabaseMaintenance database, IDatabaseCopy copy, TimeProvider time, ILogger<PostgresMove> logger)
{
    /// <summary>
    /// VACUUM INTO a folder beside the database, as <c>admin backup</c> does: one read transaction, so the copy is the
    /// database as of one moment and the service keeps writing meanwhile (what it writes later is not in the snapshot).
    /// </summary>
    public async Task<MoveSnapshot> SnapshotAsync(CancellationToken ct)
    {
        var directory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database.DatabasePath))!, $"move-snapshot-{time.GetUtcNow():yyyyMMddTHHmmssfffZ}");
        Directory.CreateDirectory(directory);
        var snapshot = new MoveSnapshot(directory, 0, time.GetUtcNow());
        try
        {
            var bytes = await database.BackupToAsync(snapshot.DatabasePath, ct);
            var (ok, problems) = await database.CheckIntegrityAsync(snapshot.DatabasePath, ct);
            if (!ok) throw new InvalidDataException("The snapshot failed its integrity check: " + string.Join("; ", problems));
            return new MoveSnapshot(directory, bytes, snapshot.TakenAt);
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    public string DescribeTarget(string target) => copy.DescribeTarget(target);

    /// <summary>Why a target that holds something is refused, naming what it holds (at most eight names).</summary>
    public static string NotEmpty(IReadOnlyList<string> contents) =>
        $"the target database is not empty: its schema holds {contents.Count} tables, sequences or functions ({string.Join(", ", contents.Take(8))}{(contents.Count > 8 ? ", …" : "")}). " +
        "The copy goes only into an empty database (CREATE DATABASE … OWNER …); nothing was changed.";

    /// <summary>What the target holds already (empty: the copy may go in).</summary>
    public Task<IReadOnlyList<string>> TargetContentsAsync(string target, CancellationToken ct) => copy.TargetContentsAsync(target, ct);

    public async Task<IReadOnlyList<TableCopied>> CopyAsync(MoveSnapshot snapshot, string target, Action<TableCopied>? progress, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var copied = await copy.CopyAsync(snapshot.DatabasePath, target, progress, ct);
        logger.LogInformation("Copied {Tables} tables ({Rows} rows) into PostgreSQL {Target} in {Millis} ms", copied.Count, copied.Sum(t => t.Rows),
            copy.DescribeTarget(target), (long)time.GetElapsedTime(started).TotalMilliseconds);
        return copied;
    }

    /// <summary>Every table of either side, with both row counts and whether the two digests are the same.</summary>
    public async Task<IReadOnlyList<TableComparison>> CompareTablesAsync(MoveSnapshot snapshot, string target, CancellationToken ct)
    {
        var source = (await copy.DigestSqliteAsync(snapshot.DatabasePath, ct)).ToDictionary(d => d.Table, StringComparer.Ordinal);
        var copied = (await copy.DigestTargetAsync(target, ct)).ToDictionary(d => d.Table, StringComparer.Ordinal);
        return source.Keys.Union(copied.Keys).Order(StringComparer.Ordinal).Select(table =>
        {
            var s = source.GetValueOrDefault(table);
            var t = copied.GetValueOrDefault(table);
            return new TableComparison(table, s?.Rows, t?.Rows, s is not null && t is not null && s.Rows == t.Rows && s.Sha256 == t.Sha256);
        }).ToList();
    }
}

/// <summary>One cell of one side's matrix, as computed from the stored versions: my overlapping records, the pairs, and a digest of which.</summary>
public sealed record CellFingerprint(string PartnershipId, string ViewerOrganizationId, string PopulationId, string PartnerPopulationId, int Count, int Pairs,
    string Sha256);

/// <summary>
/// Every active partnership's matrix from each side's view, computed from the versions the database holds, with the
/// keys the keyring holds: the overlap before disclosure (the same function the reports count from). It writes nothing
/// — no release, no budget, no history, no audit event, no stored columns — so it can run on a database that is about
/// to go into service. What each side is shown follows from these overlaps and the rules, releases and budgets, which
/// the table comparison checks row by row.
/// </summary>
public sealed class MatrixFingerprints(IOrganizationErasureStore organizations, IPartnershipRepository partnerships, IPopulationRepository populations,
    IVersionColumnStore columns, VersionStore versions, IKeyring keyring)
{
    public async Task<IReadOnlyList<CellFingerprint>> ComputeAsync(CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var cells = new List<CellFingerprint>();
        foreach (var organizationId in (await organizations.ListOrganizationIdsAsync(ct)).Order(StringComparer.Ordinal))
            foreach (var partnership in await partnerships.ListAsync(organizationId, ct))
            {
                if (partnership.Status != PartnershipStatus.Active || !seen.Add(partnership.Id)) continue;
                // One partnership's versions at a time: memory holds its two organizations' populations, not the escrow's.
                var loaded = new Dictionary<string, PopulationData>(StringComparer.Ordinal);
                var a = partnership.InviterOrganizationId;
                var b = partnership.InviteeOrganizationId;
                var ofA = await populations.ListAsync(a, ct);
                var ofB = await populations.ListAsync(b, ct);
                foreach (var (viewer, mine, theirs) in new[] { (a, ofA, ofB), (b, ofB, ofA) })
                    foreach (var my in mine.Where(p => p.CurrentVersionId is not null))
                        foreach (var their in theirs.Where(p => p.CurrentVersionId is not null))
                        {
                            var result = OverlapEngine.Compute(await LoadAsync(loaded, my.OrganizationId, my.CurrentVersionId!, ct),
                                await LoadAsync(loaded, their.OrganizationId, their.CurrentVersionId!, ct));
                            cells.Add(new CellFingerprint(partnership.Id, viewer, my.Id, their.Id, result.Count, result.TheirOrdinals.Length, Digest(result)));
                        }
            }
        return cells;
    }

    /// <summary>The version's columns as stored, or materialized from its segments when it has none yet — without storing them.</summary>
    private async Task<PopulationData> LoadAsync(Dictionary<string, PopulationData> loaded, string organizationId, string versionId, CancellationToken ct)
    {
        if (loaded.TryGetValue(versionId, out var data)) return data;
        var parts = await columns.ReadColumnsAsync(versionId, ct);
        if (parts.Count > 0)
        {
            using var cipher = await keyring.ForOrganizationAsync(organizationId, ct);
            data = VersionStore.Decode(cipher, versionId, parts);
        }
        else data = await versions.MaterializeAsync(organizationId, versionId, ct);
        return loaded[versionId] = data;
    }

    private static string Digest(OverlapResult result)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var array in new[] { result.MyOrdinals, result.PairStart, result.TheirOrdinals })
        {
            hash.AppendData(BitConverter.GetBytes(array.Length));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.AsSpan()));
        }
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.Kinds.AsSpan()));
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.Confidences.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
