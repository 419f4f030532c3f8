using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>
/// Reads a committed version as matching needs it, from its stored columns (<see cref="VersionColumns"/>): the token
/// columns come back already sorted, into flat arrays, with no object per record and no attribute decoded. A version
/// stored before the columns existed (or committed since and not read yet) is materialized once from its record
/// segments, the old way, and its columns are written then: versions move to the new format lazily, on first load.
/// </summary>
public sealed class VersionStore(IPopulationRepository populations, IVersionColumnStore columns, IKeyring keyring, IOptions<UploadOptions> options)
{
    /// <summary>The label a version's parts are sealed with (bound to the version id and the part number too).</summary>
    public const string SealLabel = "oe-version-columns-v1";

    public static string SealId(string versionId, long part) => versionId + ":" + part.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The version's columns, without records; written first if the version had none stored. A version whose columns are
    /// built here is returned only once they are stored — its record blocks are what lists read — unless a data-key
    /// rotation overtook every one of <see cref="LoadAttempts"/> builds (each then gives up storing under the retiring key):
    /// its columns are returned anyway, and a list that finds its blocks missing makes the caches load it again
    /// (<see cref="PopulationDataCache.RecordsAsync"/>).
    /// </summary>
    /// <exception cref="VersionGoneException">The version (or its organization) no longer exists.</exception>
    public async Task<PopulationData> LoadAsync(string organizationId, string versionId, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var cipher = await CipherAsync(organizationId, ct);
            using (var decoder = new PartDecoder(cipher, versionId))
                // Each part opened as it is read, from the store's reused buffer into this one, and copied into the columns.
                if (await columns.ReadColumnsAsync(versionId, decoder.Add, ct) > 0) return decoder.Finish();
            try
            {
                var (data, stored) = await FromBaseColumnsAsync(cipher, versionId, ct) ?? await FromChainAsync(cipher, versionId, ct);
                if (stored || attempt == LoadAttempts) return data;
            }
            catch (CryptographicException) when (attempt < LoadAttempts)
            {
                // The parts a rotation re-sealed during the build are under a key the build's cipher does not hold (and the key
                // it sealed with is destroyed); anything else that fails to open is damage.
                if (await KeysStillCurrentAsync(cipher, ct)) throw;
            }
            // A data-key rotation ran during the build: its parts are gone with it; built again under the keys of now.
        }
    }

    /// <summary>Builds of a version's columns that a data-key rotation may overtake before a load returns them unstored.</summary>
    internal const int LoadAttempts = 3;

    /// <summary>
    /// The version materialized from its chain's segments and its columns stored: with <c>Stored</c> false (and its records,
    /// which it then has nowhere else) when a data-key rotation began meanwhile.
    /// </summary>
    private async Task<(PopulationData Data, bool Stored)> FromChainAsync(IOrganizationCipher cipher, string versionId, CancellationToken ct)
    {
        var data = await MaterializeAsync(cipher, versionId, ct);
        // Not stored under a key a rotation begun meanwhile is retiring (as a delta's build, below). Not stored either when
        // another load stored them first: they are there all the same.
        var stored = await KeysStillCurrentAsync(cipher, ct)
            && (await columns.StoreAsync(versionId, Seal(cipher, versionId, data), ct) || await HeaderStoredAsync(versionId, ct));
        return (stored ? data.WithoutRecords() : data, stored);
    }

    private async Task<bool> HeaderStoredAsync(string versionId, CancellationToken ct) =>
        (await columns.ReadColumnPartsAsync(versionId, VersionColumns.HeaderPart, 1, ct)).Count == 1;

    /// <summary>The version with its records and their tokens, materialized from its record segments (what a compaction rewrites).</summary>
    public async Task<PopulationData> MaterializeAsync(string organizationId, string versionId, CancellationToken ct)
    {
        using var cipher = await CipherAsync(organizationId, ct);
        return await MaterializeAsync(cipher, versionId, ct);
    }

    /// <summary>Record blocks of the version (ids and attributes), by block number; a block not stored is left out.</summary>
    public async Task<IReadOnlyDictionary<int, EscrowRecord[]>> ReadBlocksAsync(string organizationId, PopulationData data, IReadOnlyCollection<int> blocks,
        CancellationToken ct)
    {
        var parts = await columns.ReadBlocksAsync(data.VersionId, blocks, ct);
        if (parts.Count == 0) return new Dictionary<int, EscrowRecord[]>();
        using var cipher = await CipherAsync(organizationId, ct);
        return OpenBlocks(cipher, data, parts);
    }

    private static Dictionary<int, EscrowRecord[]> OpenBlocks(IOrganizationCipher cipher, PopulationData data, IReadOnlyList<VersionPart> parts)
    {
        var result = new Dictionary<int, EscrowRecord[]>(parts.Count);
        foreach (var part in parts)
        {
            var block = (int)(part.Part & 0xFFFF_FFFF);
            result[block] = [.. VersionColumns.ReadBlock(cipher.Open(SealLabel, SealId(data.VersionId, part.Part), part.Data),
                VersionColumns.RecordsIn(block, data.RecordCount))];
        }
        return result;
    }

    /// <summary>Base record blocks read in one statement while a delta's columns are built (256 records each: the new version's blocks they fill, about 1 MiB, are stored after each).</summary>
    private const int BaseBlocksRead = 64;

    /// <summary>A delta's own segments read at once while its columns are built (8,192 records each by default).</summary>
    private const int DeltaSegmentsRead = 8;

    /// <summary>
    /// A delta's columns built from its base's stored columns and record blocks and its own segments
    /// (<see cref="VersionDeltaBuilder"/>), stored, and returned as a load returns them: what a delta's first load (right
    /// after its commit) does without materializing the base's records. Null when the version is not a delta or its base
    /// has no stored columns (the caller then materializes the chain, the old way).
    /// </summary>
    /// <exception cref="VersionGoneException">The version was superseded and deleted meanwhile.</exception>
    private async Task<(PopulationData Data, bool Stored)?> FromBaseColumnsAsync(IOrganizationCipher cipher, string versionId, CancellationToken ct)
    {
        // The version's row and its own segments only: the chain's read would bring its base's segments too (a whole
        // snapshot's, when it was stored with them).
        var version = await populations.GetVersionAsync(versionId, ct) ?? throw new VersionGoneException();
        if (version.Kind != VersionKind.Delta || version.BaseVersionId is not { } baseId) return null;
        var baseHeaderPart = await columns.ReadColumnPartsAsync(baseId, VersionColumns.HeaderPart, 1, ct);
        if (baseHeaderPart.Count == 0 || baseHeaderPart[0].Part != VersionColumns.HeaderPart) return null;
        VersionColumns.Header baseHeader;
        using (var plaintext = new PlaintextBuffer())
            baseHeader = VersionColumns.ReadHeader(plaintext.Open(cipher, SealLabel, SealId(baseId, VersionColumns.HeaderPart), baseHeaderPart[0].Data));
        var delta = new List<EscrowRecord>((int)Math.Min(version.ChangeCount, int.MaxValue));
        for (long next = 0; ;)
        {
            var segments = await populations.ReadSegmentsAsync(versionId, next, DeltaSegmentsRead, ct);
            foreach (var segment in segments)
            {
                var opened = cipher.OpenSegment(versionId, segment.Seq, segment.Data);
                try { delta.AddRange(RecordCodec.ReadAll(opened, segment.RecordCount)); }
                finally { CryptographicOperations.ZeroMemory(opened); }
                next = segment.Seq + 1;
            }
            if (segments.Count < DeltaSegmentsRead) break;
        }
        // Read a page at a time, outside one snapshot read: a delta deleted meanwhile (superseded) shows as fewer records
        // than its row counts, never as a smaller delta.
        if (delta.Count != version.ChangeCount) throw await GoneOrDamagedAsync(versionId, ct);
        var builder = new VersionDeltaBuilder(baseHeader, delta);
        var blockCount = builder.BaseBlockCount;

        // The new version's parts are stored as they are sealed, a batch at a time, the header last (CompleteAsync): until
        // it is stored no read takes the parts for the version's columns, so a build cut off (a crash, a failed write) is
        // built again by the next load. Building while holding one write transaction instead would keep every other
        // writer (the reads' audit) waiting for seconds; holding every part until one transaction, about 100 MB at 1M.
        var store = new PartBatches(columns, cipher, versionId, options.Value.DeltaColumnsBatchBytes);
        var finished = false;
        try
        {
            // The base's record blocks a range at a time, each opened from one reused buffer into another (no sealed block
            // held, no array per block), the new version's full blocks stored between two ranges.
            using (var opener = new PartOpener(cipher, baseId))
            {
                for (var from = 0; from < blockCount; from += BaseBlocksRead)
                {
                    var count = Math.Min(BaseBlocksRead, blockCount - from);
                    // Blocks are added only while none is missing: a gap stops them (AddBaseBlock would refuse the next one).
                    var next = from;
                    await columns.ReadBlocksAsync(baseId, from, count, (part, nonce, ciphertext, keyVersion) =>
                    {
                        if ((int)(part & 0xFFFF_FFFF) != next) return;
                        builder.AddBaseBlock(next++, opener.Open(part, nonce, ciphertext, keyVersion));
                    }, ct);
                    // The base deleted meanwhile (the chain superseded by a snapshot) takes the delta with it: "gone". A base
                    // still there without all its blocks is left to the chain's materialization: from its segments if it has
                    // them, loudly if it was stored as its columns only.
                    if (next != from + count) return await GoneOrDamagedAsync(versionId, ct) is VersionGoneException gone ? throw gone : null;
                    foreach (var (part, block) in builder.TakeReadyBlocks()) await store.AddAsync(part, block, ct);
                }
            }
            builder.EndRecords();
            foreach (var (part, block) in builder.TakeReadyBlocks()) await store.AddAsync(part, block, ct);

            // The base's token columns twice, as a load reads them (one part at a time into one reused buffer): first to count
            // what stays of each, for the new header, then merged with the delta's tokens into the new version's columns (the
            // arrays the load returns). Nothing is sorted, and neither the base's columns nor the new ones are ever held as parts.
            // Unmapped: while mapped, the database file's pages would count as this process's memory, on top of the build's.
            VersionColumns.Reader reader;
            byte[] headerBytes;
            using (var opener = new PartOpener(cipher, baseId))
            {
                if (await columns.ReadColumnsUnmappedAsync(baseId, (part, nonce, ciphertext, keyVersion) =>
                    {
                        if (part != VersionColumns.HeaderPart) builder.CountBaseChunk(part, opener.Open(part, nonce, ciphertext, keyVersion));
                    }, ct) == 0)
                    return await GoneOrDamagedAsync(versionId, ct) is VersionGoneException gone ? throw gone : null;
                headerBytes = builder.Header();
                reader = new VersionColumns.Reader(versionId, headerBytes);
                if (await columns.ReadColumnsUnmappedAsync(baseId, (part, nonce, ciphertext, keyVersion) =>
                    {
                        if (part != VersionColumns.HeaderPart) builder.MergeBaseChunk(part, opener.Open(part, nonce, ciphertext, keyVersion), reader.Add);
                    }, ct) == 0)
                    return await GoneOrDamagedAsync(versionId, ct) is VersionGoneException gone ? throw gone : null;
                builder.EndColumns(reader.Add);
            }
            var data = reader.Finish();
            // Stored from the arrays once the read is over: a read's callback cannot wait for a write.
            foreach (var (part, chunk) in VersionColumns.ColumnParts(data, reuseBuffers: true)) await store.AddAsync(part, chunk, ct);
            var header = new VersionPart(VersionColumns.HeaderPart, cipher.Seal(SealLabel, SealId(versionId, VersionColumns.HeaderPart), headerBytes));
            // Given up (LoadAsync builds it again under the keys of now) when a data-key rotation began during the build:
            // its parts are sealed under the key the rotation is retiring, and those stored after the rotation's last pass
            // would be under a destroyed key once it ends (left there, they would also stop the next rotation, which opens
            // every stored value).
            var stored = await KeysStillCurrentAsync(cipher, ct)
                && (await store.CompleteAsync(header, ct) || await HeaderStoredAsync(versionId, ct));
            if (!stored) await columns.RemoveUnfinishedAsync(versionId, ct);
            finished = true;
            return (data, stored);
        }
        finally
        {
            // A build that stops short (it failed, or found its base gone or damaged) leaves its parts for the next build
            // to replace, as a crash would (parts without a header are no columns to any read) — unless a data-key rotation
            // moved the keys on meanwhile: its parts are then under the key the rotation retires, and left there they
            // would stop the next rotation, which opens every stored value.
            if (!finished) await RemoveIfKeysMovedAsync(cipher, versionId);
        }
    }

    private async Task RemoveIfKeysMovedAsync(IOrganizationCipher cipher, string versionId)
    {
        try
        {
            if (!await KeysStillCurrentAsync(cipher, CancellationToken.None)) await columns.RemoveUnfinishedAsync(versionId, CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Left to the next build of the version (it replaces every part), or to the version's removal.
        }
    }

    /// <summary>Whether the organization's current data key is still the one <paramref name="cipher"/> seals with.</summary>
    private async Task<bool> KeysStillCurrentAsync(IOrganizationCipher cipher, CancellationToken ct)
    {
        try
        {
            using var now = await keyring.ForOrganizationAsync(cipher.OrganizationId, ct);
            return now.CurrentKeyVersion == cipher.CurrentKeyVersion;
        }
        catch (OrganizationGoneException)
        {
            return false;
        }
    }

    /// <summary>
    /// A committed version's parts sealed and stored in batches of about <paramref name="batchBytes"/> as they come, then
    /// its header (<see cref="IVersionColumnStore.AppendCommittedAsync"/>, <see cref="IVersionColumnStore.CompleteAsync"/>).
    /// Once the store answers that the version is gone or has its columns already (another load stored them), nothing more
    /// is sealed or stored: the load still returns what it built.
    /// </summary>
    private sealed class PartBatches(IVersionColumnStore columns, IOrganizationCipher cipher, string versionId, int batchBytes)
    {
        // Sealed into buffers taken again once their batch is stored, as an upload's parts are: a fresh array per token chunk
        // (1.3 MB) would be a large object of its own, garbage until the next full collection.
        private readonly SealBuffers _sealBuffers = new();
        private readonly List<PendingPart> _batch = [];
        private readonly List<long> _stored = [];
        private byte[] _scratch = [];
        private long _bytes;
        private bool _storing = true;

        /// <summary>Seals the plaintext of a part (other than the header) and stores it with the batch it falls in.</summary>
        public async Task AddAsync(long part, ReadOnlyMemory<byte> plaintext, CancellationToken ct)
        {
            _stored.Add(part);
            if (!_storing) return;
            var sealedPart = _sealBuffers.SealPart(cipher, versionId, part, plaintext.Span, ref _scratch);
            _batch.Add(new PendingPart(part, sealedPart));
            _bytes += sealedPart.Ciphertext.Length;
            if (_bytes >= batchBytes) await FlushAsync(ct);
        }

        /// <summary>Stores the header last; false when it was not stored (the version gone, its columns stored by another load, or a part under another key).</summary>
        public async Task<bool> CompleteAsync(VersionPart header, CancellationToken ct)
        {
            await FlushAsync(ct);
            return _storing && await columns.CompleteAsync(versionId, header, _stored, ct);
        }

        private async Task FlushAsync(CancellationToken ct)
        {
            if (_storing && _batch.Count > 0) _storing = await columns.AppendCommittedAsync(versionId, _batch, ct);
            // Stored (or not to be): their buffers take the next parts.
            foreach (var part in _batch) _sealBuffers.Return(part.Data.Ciphertext);
            _batch.Clear();
            _bytes = 0;
        }
    }

    private async Task<IOrganizationCipher> CipherAsync(string organizationId, CancellationToken ct)
    {
        try { return await keyring.ForOrganizationAsync(organizationId, ct); }
        catch (OrganizationGoneException) { throw new VersionGoneException(); }
    }

    /// <summary>A version from its sealed parts already read (header first), through the same decoder as <see cref="LoadAsync"/>.</summary>
    public static PopulationData Decode(IOrganizationCipher cipher, string versionId, IReadOnlyList<VersionPart> parts)
    {
        using var decoder = new PartDecoder(cipher, versionId);
        foreach (var part in parts) decoder.Add(part.Part, part.Data.Nonce, part.Data.Ciphertext, part.Data.KeyVersion);
        return decoder.Finish();
    }

    /// <summary>
    /// Opens each part into one pooled buffer and copies it from there into the columns' arrays: no array per part
    /// (a column chunk is 1.3 MB, so each would be a large-object allocation, collected only by a full collection).
    /// </summary>
    private sealed class PartDecoder(IOrganizationCipher cipher, string versionId) : IDisposable
    {
        private readonly PartOpener _opener = new(cipher, versionId);
        private VersionColumns.Reader? _reader;

        public void Add(long part, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, int keyVersion)
        {
            var plaintext = _opener.Open(part, nonce, ciphertext, keyVersion);
            if (_reader is not null) _reader.Add(part, plaintext);
            else if (part == VersionColumns.HeaderPart) _reader = new VersionColumns.Reader(versionId, plaintext);
            else throw new InvalidDataException("A version's columns lack their header.");
        }

        public PopulationData Finish() => (_reader ?? throw new InvalidDataException("A version's columns lack their header.")).Finish();

        public void Dispose() => _opener.Dispose();
    }

    /// <summary>Opens a version's parts as read, each into one pooled buffer (valid until the next part is opened).</summary>
    private sealed class PartOpener(IOrganizationCipher cipher, string versionId) : IDisposable
    {
        private readonly PlaintextBuffer _plaintext = new(1 << 20);

        public ReadOnlySpan<byte> Open(long part, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, int keyVersion)
        {
            var buffer = _plaintext.AtLeast(ciphertext.Length);
            var n = cipher.Open(SealLabel, SealId(versionId, part), nonce, ciphertext, keyVersion, buffer);
            return buffer.AsSpan(0, n);
        }

        public void Dispose() => _plaintext.Dispose();
    }

    private static IEnumerable<VersionPart> Seal(IOrganizationCipher cipher, string versionId, PopulationData data) =>
        Seal(cipher, versionId, VersionColumns.Encode(data));

    /// <summary>Seals a version's parts as they are enumerated (so a caller storing them one by one never holds them all).</summary>
    public static IEnumerable<VersionPart> Seal(IOrganizationCipher cipher, string versionId, IEnumerable<(long Part, byte[] Plaintext)> parts)
    {
        foreach (var (part, plaintext) in parts)
            yield return new VersionPart(part, cipher.Seal(SealLabel, SealId(versionId, part), plaintext));
    }

    private async Task<PopulationData> MaterializeAsync(IOrganizationCipher cipher, string versionId, CancellationToken ct)
    {
        var chain = await populations.ReadChainAsync(versionId, ct);
        if (chain.Count == 0 || chain[^1].Version.Id != versionId) throw new VersionGoneException();
        var layers = new List<IReadOnlyList<EscrowRecord>>(chain.Count);
        foreach (var (version, segments) in chain)
        {
            if (version.Kind == VersionKind.Snapshot && version.RecordCount > 0 && segments.All(s => s.RecordCount == 0))
            {
                // A snapshot stored once: its records are in its columns and record blocks only, read back from there (its
                // one segment, if any, is the marker that makes older builds refuse it: UploadPopulation.ColumnsOnlyMarkerId).
                layers.Add(await RecordsFromColumnsAsync(cipher, version.Id, ct));
                continue;
            }
            var records = new List<EscrowRecord>((int)version.ChangeCount);
            foreach (var segment in segments)
                records.AddRange(RecordCodec.ReadAll(cipher.OpenSegment(version.Id, segment.Seq, segment.Data), segment.RecordCount));
            layers.Add(records);
        }
        return PopulationData.Materialize(versionId, layers);
    }

    /// <summary>
    /// The records of a committed version from its stored columns: the header and token columns, then every record block.
    /// Read outside the chain's snapshot read: a version deleted meanwhile (superseded by a commit) has no parts left,
    /// which is the chain's own "gone". A version still there without them has lost its only stored form: that fails
    /// loudly, never reads as an empty population.
    /// </summary>
    private async Task<EscrowRecord[]> RecordsFromColumnsAsync(IOrganizationCipher cipher, string versionId, CancellationToken ct)
    {
        PopulationData data;
        using (var decoder = new PartDecoder(cipher, versionId))
        {
            if (await columns.ReadColumnsAsync(versionId, decoder.Add, ct) == 0) throw await GoneOrDamagedAsync(versionId, ct);
            data = decoder.Finish();
        }
        var parts = await columns.ReadBlocksAsync(versionId, [.. Enumerable.Range(0, data.BlockCount)], ct);
        if (parts.Count != data.BlockCount) throw await GoneOrDamagedAsync(versionId, ct);
        return data.RecordsFrom(OpenBlocks(cipher, data, parts));
    }

    private async Task<Exception> GoneOrDamagedAsync(string versionId, CancellationToken ct)
    {
        return await populations.GetVersionAsync(versionId, ct) is not null
            ? new InvalidDataException($"Committed version {versionId} is still there but its stored records are incomplete (its columns, record blocks or segments read back short).")
            : new VersionGoneException();
    }
}
