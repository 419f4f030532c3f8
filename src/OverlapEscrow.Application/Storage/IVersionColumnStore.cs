using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Application.Storage;

/// <summary>One sealed part of a version's stored columns (<see cref="Domain.Matching.VersionColumns"/>).</summary>
public sealed record VersionPart(long Part, SealedValue Data);

/// <summary>A part to store, sealed into a buffer its writer reuses once the store has returned (<see cref="SealedMemory"/>).</summary>
public readonly record struct PendingPart(long Part, SealedMemory Data);

/// <summary>
/// Receives one sealed part as read (<see cref="IVersionColumnStore.ReadColumnsAsync(string, SealedPartReader, CancellationToken)"/>):
/// its bytes are valid only during the call, in a buffer the next part reuses.
/// </summary>
public delegate void SealedPartReader(long part, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, int keyVersion);

/// <summary>
/// The stored columns of committed versions (<see cref="Domain.Matching.VersionColumns"/>): the header and token
/// columns that matching reads whole, and the record blocks that lists read a few at a time. Written once per
/// version (an upload's before its commit, while the version is pending; a delta's on its first load, after its commit);
/// removed with the version (and with its organization).
/// <para>
/// A committed version's columns exist once its header (part 0) is stored: a version's other parts without it — a build
/// written in several transactions (<see cref="AppendCommittedAsync"/>) that has not finished, or was cut off by a crash —
/// are not read as its columns: <see cref="ReadColumnsAsync(string, CancellationToken)"/>, its streaming form and
/// <see cref="ReadColumnPartsAsync"/> answer as for a version without columns. Record blocks are read only by callers
/// that read the header first (<see cref="ReadBlocksAsync"/> does not look).
/// </para>
/// <para>
/// Every build of a version writes the same plaintexts under the same part numbers (the builders are deterministic:
/// <c>VersionDeltaBuilderTests</c>), which is what lets two builds running at once finish with a mix of each other's parts.
/// A release that changes what a version's parts hold must therefore also change the seal label (<c>VersionStore.SealLabel</c>),
/// so that a part of the other layout fails to open rather than being read as this one's.
/// </para>
/// </summary>
public interface IVersionColumnStore
{
    /// <summary>The header and the token columns of a version, header first; empty when they were not written (or the version is gone).</summary>
    Task<IReadOnlyList<VersionPart>> ReadColumnsAsync(string versionId, CancellationToken ct);

    /// <summary>
    /// The header and the token columns of a version, header first, each handed to <paramref name="read"/> as it is read
    /// into one reused buffer: a version's columns are never all held sealed, and no part gets an array of its own (a
    /// column part is over a megabyte: each would be a large-object allocation). Returns the number of parts read (0 when
    /// they were not written, or the version is gone).
    /// </summary>
    Task<int> ReadColumnsAsync(string versionId, SealedPartReader read, CancellationToken ct);

    /// <summary>
    /// <see cref="ReadColumnsAsync(string, SealedPartReader, CancellationToken)"/> without the database file mapped into
    /// memory for the read (SQLite: a read of its own per page instead; elsewhere the same read). For a reader that values
    /// memory over speed: the mapped pages count as the process's resident memory while the read runs (about 40 MiB for
    /// a million records' columns), and a delta's first load reads its base's columns twice beside everything else it holds.
    /// </summary>
    Task<int> ReadColumnsUnmappedAsync(string versionId, SealedPartReader read, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> of a version's header and token column parts, in order, from part number
    /// <paramref name="fromPart"/> on: a version's columns read a few parts at a time.
    /// </summary>
    Task<IReadOnlyList<VersionPart>> ReadColumnPartsAsync(string versionId, long fromPart, int limit, CancellationToken ct);

    /// <summary>Record blocks of a version, by block number (absent ones are left out).</summary>
    Task<IReadOnlyList<VersionPart>> ReadBlocksAsync(string versionId, IReadOnlyCollection<int> blocks, CancellationToken ct);

    /// <summary>
    /// The record blocks <paramref name="fromBlock"/> to <paramref name="fromBlock"/> + <paramref name="count"/> − 1 of a
    /// version in order (absent ones left out), each handed to <paramref name="read"/> as it is read into one reused buffer,
    /// unmapped: a reader of many blocks (a delta's first load reads every block of its base) holds none of them sealed
    /// and gives none an array of its own. Returns the number of blocks read.
    /// </summary>
    Task<int> ReadBlocksAsync(string versionId, int fromBlock, int count, SealedPartReader read, CancellationToken ct);

    /// <summary>
    /// Stores every part of a committed version in one transaction, in place of whatever parts of an unfinished build it
    /// had; false, storing nothing, when the version is no longer there or already has its columns (written meanwhile
    /// by another load).
    /// </summary>
    Task<bool> StoreAsync(string versionId, IEnumerable<VersionPart> parts, CancellationToken ct);

    /// <summary>
    /// Stores some parts of a committed version whose columns are built in several short transactions (a delta's, on its
    /// first load), in one of them; the header goes last, with <see cref="CompleteAsync"/>. A part stored already (by a
    /// build running beside this one, or one cut off by a crash) is replaced: every build of a version writes the same
    /// plaintexts under the same part numbers. False, writing nothing, when the version is no longer there or already has
    /// its columns: the caller stops storing. The parts are stored from the caller's buffers, which it may reuse once this
    /// has returned.
    /// </summary>
    Task<bool> AppendCommittedAsync(string versionId, IReadOnlyList<PendingPart> parts, CancellationToken ct);

    /// <summary>
    /// Finishes a build begun with <see cref="AppendCommittedAsync"/>: in one transaction, removes the version's parts that
    /// are not among <paramref name="parts"/> (left by an earlier build of more parts, cut off), and, if every one of
    /// <paramref name="parts"/> is stored under the header's data key version, stores <paramref name="header"/> (part 0),
    /// which makes the columns visible at once. False, changing nothing, when the version is no longer there or already
    /// has its columns; false too when a part is missing or under another key (a build that a whole data-key rotation
    /// overtook wrote it after another build had: the removal above is kept; the columns stay invisible, and the next load
    /// builds them again).
    /// </summary>
    /// <param name="parts">The part numbers of every part but the header, each kind's numbered from its index 0 without gaps.</param>
    Task<bool> CompleteAsync(string versionId, VersionPart header, IReadOnlyCollection<long> parts, CancellationToken ct);

    /// <summary>
    /// Removes the parts of a committed version that has no header stored (a build given up: its parts sealed under a data
    /// key a rotation is retiring); false, removing nothing, when the version is no longer there or has its columns.
    /// </summary>
    Task<bool> RemoveUnfinishedAsync(string versionId, CancellationToken ct);

    /// <summary>
    /// Appends parts of a version that is still pending (an upload's, before its commit), in one short transaction that
    /// also touches the version like a segment write does; false, writing nothing, when the version is no longer pending.
    /// Nothing reads a pending version's parts; they become visible with its commit and go with it if it is abandoned.
    /// </summary>
    Task<bool> AppendPendingAsync(string versionId, IReadOnlyList<VersionPart> parts, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>
    /// <see cref="AppendPendingAsync"/> of parts sealed into buffers of the caller's, which it reuses once this has
    /// returned: the bytes are stored from those buffers, not copied into arrays of their own first.
    /// </summary>
    Task<bool> AppendPendingPartsAsync(string versionId, IReadOnlyList<PendingPart> parts, DateTimeOffset touchedAt, CancellationToken ct);

    /// <summary>Removes the record blocks of a version that is still pending (an upload building them anew); false when it is not pending.</summary>
    Task<bool> RemovePendingBlocksAsync(string versionId, CancellationToken ct);
}
