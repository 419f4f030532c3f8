using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>Settings of the in-memory caches (Escrow:CacheBudgetMiB, Escrow:CacheIdleMinutes, Escrow:CacheWarmOnStart).</summary>
public sealed class CacheOptions
{
    /// <summary>
    /// Memory the caches (materialized versions and overlap results) may keep, in MiB of estimated managed memory.
    /// A version or result larger than the whole budget is computed for each request and never kept.
    /// </summary>
    [Range(1, 1_048_576)]
    public int CacheBudgetMiB { get; set; } = 256;

    /// <summary>A cached version or overlap result not read for this long leaves memory (sliding expiration).</summary>
    [Range(1, 1440)]
    public int CacheIdleMinutes { get; set; } = 10;

    /// <summary>
    /// After a start, compute again in the background the overlaps of the partnerships read within the idle time before
    /// it, up to three quarters of the budget (<see cref="CacheWarmUp"/>): a restart does not make the next reads cold.
    /// </summary>
    public bool CacheWarmOnStart { get; set; } = true;
}

/// <summary>The version was superseded and deleted between reading the population and loading it.</summary>
public sealed class VersionGoneException() : Exception("The population version no longer exists.");

/// <summary>
/// A population version's data cannot be opened with the keys held: a database restored from before a finished data-key
/// rotation (docs/operations.md, "Key rotation"). Its owner must upload the population again.
/// </summary>
public sealed class VersionUnreadableException(Exception inner)
    : Exception("A population version's data cannot be opened with the keys held; its owner must upload it again.", inner);

/// <summary>A version of a population, as the caches key it.</summary>
public sealed record VersionKey(string PopulationId, string VersionId);

/// <summary>
/// Materialized population versions, decrypted and indexed, kept in <see cref="CacheMemory"/> within its byte budget.
/// Versions are immutable, so an entry never goes stale; but only a population's current version is worth keeping,
/// so a commit drops the others at once (<see cref="VersionCommittedAsync"/>), a version found superseded once loaded
/// is not kept, and an entry not read for the idle time leaves (which is also how another instance's commit reaches
/// this one's memory). Concurrent requests for one version share a single load.
/// </summary>
public sealed class PopulationDataCache(IPopulationRepository populations, VersionStore store, CacheMemory memory)
{
    private static readonly IChangeToken AlreadyGone = new CancellationChangeToken(new CancellationToken(canceled: true));
    private readonly ConcurrentDictionary<VersionKey, Lazy<Task<PopulationData>>> _loading = new();

    /// <summary>A kept version; <see cref="Gone"/> is cancelled when it leaves, taking what was derived from it along.</summary>
    private sealed record Kept(PopulationData Data, CancellationTokenSource Gone);

    public async Task<PopulationData> GetAsync(string organizationId, string populationId, string? versionId, CancellationToken ct)
    {
        if (versionId is null) return PopulationData.Empty("none");
        var key = new VersionKey(populationId, versionId);
        if (memory.Entries.TryGetValue(key, out Kept? kept)) return kept!.Data;
        // On the thread pool: SQLite's async calls complete synchronously, and a load run inside Lazy.Value would
        // hold the Lazy's lock, blocking the threads of the other requests for the version meanwhile.
        var load = _loading.GetOrAdd(key, k => new Lazy<Task<PopulationData>>(() => Task.Run(() => LoadAndKeepAsync(organizationId, k))));
        return await load.Value.WaitAsync(ct);
    }

    /// <summary>
    /// A version of the population was committed: every version of it other than the current one leaves memory now,
    /// with the overlap results computed from them.
    /// </summary>
    public async Task VersionCommittedAsync(string organizationId, string populationId, CancellationToken ct)
    {
        var current = (await populations.GetAsync(organizationId, populationId, ct))?.CurrentVersionId;
        foreach (var key in memory.Entries.Keys)
            if (key is VersionKey version && version.PopulationId == populationId && version.VersionId != current) Drop(version);
    }

    /// <summary>
    /// Changes when the version leaves memory; already changed when it is not kept. A value derived from the version
    /// is kept under this token, so it never outlives the version.
    /// </summary>
    internal IChangeToken KeptToken(VersionKey key) =>
        memory.Entries.TryGetValue(key, out Kept? kept) ? new CancellationChangeToken(kept!.Gone.Token) : AlreadyGone;

    /// <summary>Version ids held now (for tests and diagnostics; reading does not count as a use).</summary>
    internal IReadOnlyList<string> HeldVersionIds => [.. memory.Entries.Keys.OfType<VersionKey>().Select(k => k.VersionId)];

    /// <summary>Estimated bytes of the versions held now (for tests; reading each counts as a use).</summary>
    internal long HeldBytes => memory.Entries.Keys.OfType<VersionKey>().Sum(k => memory.Entries.TryGetValue(k, out Kept? kept) ? kept!.Data.EstimatedBytes : 0);

    private async Task<PopulationData> LoadAndKeepAsync(string organizationId, VersionKey key)
    {
        try
        {
            var data = await LoadAsync(organizationId, key.VersionId);
            var options = memory.EntryFor(data.EstimatedBytes)
                .RegisterPostEvictionCallback(static (_, value, _, _) => ((Kept)value!).Gone.Cancel());
            memory.Entries.Set(key, new Kept(data, new CancellationTokenSource()), options);
            // A version superseded while it loaded (a commit racing this read, here or on another instance) is
            // served to the requests that asked for it, but not kept. Checked after keeping it, so that a commit
            // between the two finds it in memory and drops it.
            if ((await populations.GetAsync(organizationId, key.PopulationId, CancellationToken.None))?.CurrentVersionId != key.VersionId) Drop(key);
            return data;
        }
        finally
        {
            _loading.TryRemove(key, out _);
        }
    }

    /// <summary>
    /// Drops versions from memory, with the overlap results derived from them (an erased organization's: its decrypted
    /// records must not outlive its keys).
    /// </summary>
    public void Forget(IEnumerable<string> versionIds)
    {
        var ids = versionIds.ToHashSet(StringComparer.Ordinal);
        foreach (var key in memory.Entries.Keys)
            if (key is VersionKey version && ids.Contains(version.VersionId)) Drop(version);
    }

    private void Drop(VersionKey key)
    {
        // Cancelling marks the overlap results kept under it expired at once (no read finds them from now on;
        // MemoryCache removes them on the thread pool), without waiting for the eviction callback to do it.
        if (memory.Entries.TryGetValue(key, out Kept? kept)) kept!.Gone.Cancel();
        memory.Entries.Remove(key);
    }

    /// <summary>The version with its records and their tokens, from its record segments, not kept (what a compaction rewrites).</summary>
    public Task<PopulationData> MaterializeAsync(string organizationId, string versionId, CancellationToken ct) => store.MaterializeAsync(organizationId, versionId, ct);

    private Task<PopulationData> LoadAsync(string organizationId, string versionId) => store.LoadAsync(organizationId, versionId, CancellationToken.None);

    /// <summary>
    /// The records (ids and attributes) of a version at the given ordinals: read from the version's stored record
    /// blocks, only the blocks that hold them, and kept in memory (within the byte budget) only while the version is.
    /// </summary>
    public async Task<VersionRecords> RecordsAsync(string organizationId, string populationId, PopulationData data, IEnumerable<int> ordinals,
        CancellationToken ct)
    {
        if (data.HasRecords) return new VersionRecords(data, null);
        var blocks = new Dictionary<int, EscrowRecord[]>();
        var missing = new HashSet<int>();
        foreach (var ordinal in ordinals)
        {
            var block = ordinal / PopulationData.BlockSize;
            if (blocks.ContainsKey(block) || missing.Contains(block)) continue;
            if (memory.Entries.TryGetValue(new BlockKey(data.VersionId, block), out EscrowRecord[]? kept)) blocks[block] = kept!;
            else missing.Add(block);
        }
        if (missing.Count > 0)
        {
            var read = await store.ReadBlocksAsync(organizationId, data, missing, ct);
            if (read.Count != missing.Count)
            {
                // The version deleted meanwhile — or its columns not stored (a build that data-key rotations kept overtaking,
                // VersionStore.LoadAsync): kept, it would fail every list until it left memory, so it leaves now and the
                // caller's retry loads it again (which builds and stores them).
                Drop(new VersionKey(populationId, data.VersionId));
                throw new VersionGoneException();
            }
            var gone = KeptToken(new VersionKey(populationId, data.VersionId));
            foreach (var (block, records) in read)
            {
                blocks[block] = records;
                if (gone.HasChanged) continue; // the version is not kept: neither are its records
                long bytes = MemorySize.Array(MemorySize.Reference, records.Length);
                foreach (var r in records) bytes += MemorySize.Of(r);
                var options = memory.EntryFor(bytes);
                options.ExpirationTokens.Add(gone);
                memory.Entries.Set(new BlockKey(data.VersionId, block), records, options);
            }
        }
        return new VersionRecords(data, blocks);
    }

    /// <summary>Every record of a version, in ordinal order (a whole population's own records, say): all its record blocks.</summary>
    public async Task<IReadOnlyList<EscrowRecord>> AllRecordsAsync(string organizationId, string populationId, PopulationData data, CancellationToken ct)
    {
        var records = await RecordsAsync(organizationId, populationId, data, Enumerable.Range(0, data.RecordCount), ct);
        var all = new EscrowRecord[data.RecordCount];
        for (var i = 0; i < all.Length; i++) all[i] = records[i];
        return all;
    }

    /// <summary>The ordinal of a record id in a version, or a negative number (the complement of where it would be) when absent.</summary>
    public async Task<int> OrdinalOfAsync(string organizationId, string populationId, PopulationData data, string recordId, CancellationToken ct)
    {
        if (data.HasRecords) return data.OrdinalOf(recordId);
        var block = data.BlockOf(recordId);
        if (block < 0) return ~0;
        var start = block * PopulationData.BlockSize;
        var records = await RecordsAsync(organizationId, populationId, data, [start], ct);
        int lo = start, hi = start + VersionColumns.RecordsIn(block, data.RecordCount) - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(records[mid].RecordId, recordId);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    private sealed record BlockKey(string VersionId, int Block);
}

/// <summary>Records of one version read for a request, by ordinal (only those asked for are guaranteed present).</summary>
public sealed class VersionRecords
{
    private readonly PopulationData _data;
    private readonly Dictionary<int, EscrowRecord[]>? _blocks;

    internal VersionRecords(PopulationData data, Dictionary<int, EscrowRecord[]>? blocks) => (_data, _blocks) = (data, blocks);

    public EscrowRecord this[int ordinal] => _blocks is null
        ? _data.Records[ordinal]
        : _blocks.TryGetValue(ordinal / PopulationData.BlockSize, out var block)
            ? block[ordinal % PopulationData.BlockSize]
            : throw new InvalidOperationException("That record was not read.");
}

/// <summary>
/// Derived overlap results, per partnership and pair of versions, kept in <see cref="CacheMemory"/> within its byte
/// budget. A result is kept only while both its versions are (<see cref="PopulationDataCache.KeptToken"/>), so a new
/// version, which drops the superseded one, drops its results with it; terminating a partnership or changing a rule
/// drops all of the partnership's results at once (<see cref="Evict"/>), so nothing derived outlives the permission.
/// </summary>
public sealed class OverlapCache(CacheMemory memory, PopulationDataCache versions)
{
    private readonly ConcurrentDictionary<OverlapKey, Lazy<Task<OverlapResult>>> _computing = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _partnershipTokens = new();

    private sealed record OverlapKey(string PartnershipId, VersionKey Mine, VersionKey Theirs, MatchView View, bool OwnerLocal = false);

    /// <param name="ownerLocal">The graph a counts-level figure counts (<see cref="OverlapEngine.OwnerLocal"/>) instead of the lists' result.</param>
    public async Task<OverlapResult> GetAsync(string partnershipId, string myPopulationId, PopulationData mine,
        string theirPopulationId, PopulationData theirs, CancellationToken ct, MatchView view = MatchView.Default, bool ownerLocal = false)
    {
        var key = new OverlapKey(partnershipId, new VersionKey(myPopulationId, mine.VersionId), new VersionKey(theirPopulationId, theirs.VersionId), view, ownerLocal);
        if (memory.Entries.TryGetValue(key, out OverlapResult? kept)) return kept!;
        var compute = _computing.GetOrAdd(key, k => new Lazy<Task<OverlapResult>>(() => ComputeAndKeepAsync(k, mine, theirs)));
        return await compute.Value.WaitAsync(ct);
    }

    public void Evict(string partnershipId)
    {
        // Not disposed: a concurrent computation may still be registering against it; cancelling is what evicts.
        if (_partnershipTokens.TryRemove(partnershipId, out var cts)) cts.Cancel();
    }

    /// <summary>Version pairs of the results held now (for tests and diagnostics; reading does not count as a use).</summary>
    internal IReadOnlyList<(string Mine, string Theirs)> HeldVersionPairs =>
        [.. memory.Entries.Keys.OfType<OverlapKey>().Select(k => (k.Mine.VersionId, k.Theirs.VersionId))];

    /// <summary>Owner-local graphs held now (for tests and diagnostics; reading does not count as a use).</summary>
    internal int HeldOwnerLocalGraphs => memory.Entries.Keys.OfType<OverlapKey>().Count(k => k.OwnerLocal);

    /// <summary>Estimated bytes of the results held now (for tests; reading each counts as a use).</summary>
    internal long HeldBytes => memory.Entries.Keys.OfType<OverlapKey>().Sum(k => memory.Entries.TryGetValue(k, out OverlapResult? r) ? r!.EstimatedBytes : 0);

    private async Task<OverlapResult> ComputeAndKeepAsync(OverlapKey key, PopulationData mine, PopulationData theirs)
    {
        try
        {
            // Taken before computing: if the partnership is evicted meanwhile, the token has changed and the result
            // is not kept.
            var permission = new CancellationChangeToken(TokenFor(key.PartnershipId).Token);
            var result = await Task.Run(() => key.OwnerLocal ? OverlapEngine.OwnerLocal(mine, theirs) : OverlapEngine.Compute(mine, theirs, key.View));
            var options = memory.EntryFor(result.EstimatedBytes);
            options.ExpirationTokens.Add(permission);
            options.ExpirationTokens.Add(versions.KeptToken(key.Mine));
            options.ExpirationTokens.Add(versions.KeptToken(key.Theirs));
            memory.Entries.Set(key, result, options);
            return result;
        }
        finally
        {
            _computing.TryRemove(key, out _);
        }
    }

    private CancellationTokenSource TokenFor(string partnershipId) => _partnershipTokens.GetOrAdd(partnershipId, _ => new CancellationTokenSource());
}
