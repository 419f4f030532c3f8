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
/// holds it as <c>escrow.db</c>, so a service can be pointed at it (as a data directory) to read it as the escrow did,
/// and a <c>.lock</c> file held open exclusively while the snapshot lives: a run killed before it could delete its
/// snapshot leaves the lock free, which is how the next run tells a leftover from a snapshot in use.
/// </summary>
public sealed class MoveSnapshot : IDisposable
{
    internal const string LockFile = ".lock";
    private readonly FileStream? _lock;

    public MoveSnapshot(string directory, long bytes, DateTimeOffset takenAt, FileStream? held = null)
    {
        Directory = directory;
        Bytes = bytes;
        TakenAt = takenAt;
        _lock = held;
    }

    public string Directory { get; }
    public string DatabasePath => Path.Combine(Directory, "escrow.db");
    public long Bytes { get; }
    public DateTimeOffset TakenAt { get; }

    /// <summary>The lock, handed to the snapshot that is returned (the one being built gives it up without deleting).</summary>
    internal FileStream? Release() => _lock;

    /// <summary>Deletes the snapshot: it holds everything the database holds.</summary>
    public void Dispose()
    {
        _lock?.Dispose();
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
        var directory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database.DatabasePath))!, $"{SnapshotPrefix}{time.GetUtcNow():yyyyMMddTHHmmssfffZ}");
        Directory.CreateDirectory(directory);
        // Exclusive while this process lives (an advisory lock on Linux and macOS, a sharing mode on Windows): freed by the
        // kernel when the process dies however it dies.
        var held = new FileStream(Path.Combine(directory, MoveSnapshot.LockFile), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        var snapshot = new MoveSnapshot(directory, 0, time.GetUtcNow(), held);
        try
        {
            var bytes = await database.BackupToAsync(snapshot.DatabasePath, ct);
            var (ok, problems) = await database.CheckIntegrityAsync(snapshot.DatabasePath, ct);
            if (!ok) throw new InvalidDataException("The snapshot failed its integrity check: " + string.Join("; ", problems));
            return new MoveSnapshot(directory, bytes, snapshot.TakenAt, snapshot.Release());
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    private const string SnapshotPrefix = "move-snapshot-";

    /// <summary>
    /// Deletes the snapshots that runs killed before their end left beside the database (each a full copy of it, like a
    /// backup), and answers their names: a snapshot whose lock no process holds, or, without a lock file (left between
    /// the folder's creation and the lock's, or by a version before the lock), one untouched for an hour. A snapshot a
    /// running copy or verification holds is left alone. The caller reports them (the admin commands print each one).
    /// </summary>
    public IReadOnlyList<string> RemoveLeftoverSnapshots()
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(database.DatabasePath))!;
        var removed = new List<string>();
        if (!Directory.Exists(parent)) return removed;
        foreach (var directory in Directory.EnumerateDirectories(parent, SnapshotPrefix + "*"))
        {
            var lockPath = Path.Combine(directory, MoveSnapshot.LockFile);
            FileStream? free = null;
            try
            {
                if (File.Exists(lockPath))
                    free = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                else if (time.GetUtcNow().UtcDateTime - Directory.GetLastWriteTimeUtc(directory) < TimeSpan.FromHours(1))
                    continue;
            }
            catch (IOException)
            {
                continue; // held: a copy or verification in another process is using it
            }
            using (free)
            {
                try { Directory.Delete(directory, recursive: true); }
                catch (DirectoryNotFoundException) { }
            }
            removed.Add(Path.GetFileName(directory));
        }
        return removed;
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
