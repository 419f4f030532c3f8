using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Overlaps;

/// <summary>Settings of the in-memory caches (Escrow:CacheRecordBudget).</summary>
public sealed class CacheOptions
{
    /// <summary>Materialized population versions kept in memory, counted in records.</summary>
    [Range(1_000, int.MaxValue)]
    public int CacheRecordBudget { get; set; } = 20_000_000;
}

/// <summary>The version was superseded and deleted between reading the population and loading it.</summary>
public sealed class VersionGoneException() : Exception("The population version no longer exists.");

/// <summary>
/// Materialized population versions, decrypted and indexed, kept in memory within a record budget. Versions are
/// immutable, so an entry never goes stale; concurrent requests for one version share a single load.
/// </summary>
public sealed class PopulationDataCache(IPopulationRepository populations, IKeyring keyring, IOptions<CacheOptions> options) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CacheRecordBudget });

    public async Task<PopulationData> GetAsync(string organizationId, string? versionId, CancellationToken ct)
    {
        if (versionId is null) return PopulationData.Empty("none");
        var lazy = _cache.GetOrCreate(versionId, entry =>
        {
            entry.Size = 1;
            return new Lazy<Task<PopulationData>>(() => LoadAsync(organizationId, versionId));
        })!;
        try
        {
            var data = await lazy.Value.WaitAsync(ct);
            // Re-insert with the real size once known, so the budget counts records, not entries.
            _cache.Set(versionId, lazy, new MemoryCacheEntryOptions { Size = Math.Max(1, data.Records.Count) });
            return data;
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            _cache.Remove(versionId);
            throw;
        }
    }

    /// <summary>Drops versions from memory (an erased organization's: its decrypted records must not outlive its keys).</summary>
    public void Forget(IEnumerable<string> versionIds)
    {
        foreach (var id in versionIds) _cache.Remove(id);
    }

    private async Task<PopulationData> LoadAsync(string organizationId, string versionId)
    {
        var chain = await populations.ReadChainAsync(versionId, CancellationToken.None);
        if (chain.Count == 0 || chain[^1].Version.Id != versionId) throw new VersionGoneException();
        IOrganizationCipher cipher;
        try { cipher = await keyring.ForOrganizationAsync(organizationId, CancellationToken.None); }
        catch (OrganizationGoneException) { throw new VersionGoneException(); }
        using var _ = cipher;
        var layers = new List<IReadOnlyList<EscrowRecord>>(chain.Count);
        foreach (var (version, segments) in chain)
        {
            var records = new List<EscrowRecord>((int)version.ChangeCount);
            foreach (var segment in segments)
                records.AddRange(RecordCodec.ReadAll(cipher.OpenSegment(version.Id, segment.Seq, segment.Data), segment.RecordCount));
            layers.Add(records);
        }
        return PopulationData.Materialize(versionId, layers);
    }

    public void Dispose() => _cache.Dispose();
}

/// <summary>
/// Derived overlap results, per partnership and pair of versions. A new snapshot changes the version ids, so
/// results of old versions are never read again; terminating a partnership or changing a rule drops all of
/// the partnership's results at once (<see cref="Evict"/>), so nothing derived outlives the permission.
/// </summary>
public sealed class OverlapCache(IOptions<CacheOptions> options) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = options.Value.CacheRecordBudget });
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _partnershipTokens = new();

    public async Task<OverlapResult> GetAsync(string partnershipId, PopulationData mine, PopulationData theirs, CancellationToken ct)
    {
        var key = $"{partnershipId}|{mine.VersionId}|{theirs.VersionId}";
        var lazy = _cache.GetOrCreate(key, entry =>
        {
            entry.Size = 1 + mine.Records.Count / 16;
            entry.AddExpirationToken(new CancellationChangeToken(TokenFor(partnershipId).Token));
            return new Lazy<Task<OverlapResult>>(() => Task.Run(() => OverlapEngine.Compute(mine, theirs)));
        })!;
        return await lazy.Value.WaitAsync(ct);
    }

    public void Evict(string partnershipId)
    {
        // Not disposed: a concurrent GetAsync may still be registering against it; cancelling is what evicts.
        if (_partnershipTokens.TryRemove(partnershipId, out var cts)) cts.Cancel();
    }

    private CancellationTokenSource TokenFor(string partnershipId) => _partnershipTokens.GetOrAdd(partnershipId, _ => new CancellationTokenSource());

    public void Dispose() => _cache.Dispose();
}
