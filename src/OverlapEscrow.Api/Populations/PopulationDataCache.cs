using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Populations;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Api.Populations;

/// <summary>The version was superseded and deleted between reading the population and loading it.</summary>
public sealed class VersionGoneException() : Exception("The population version no longer exists.");

/// <summary>
/// Materialized population versions, decrypted and indexed, kept in memory within a record budget. Versions are
/// immutable, so an entry never goes stale; concurrent requests for one version share a single load.
/// </summary>
public sealed class PopulationDataCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly IPopulationRepository _populations;
    private readonly IAccountRepository _accounts;
    private readonly OrganizationKeys _keys;

    public PopulationDataCache(IPopulationRepository populations, IAccountRepository accounts, OrganizationKeys keys, IOptions<EscrowOptions> options)
    {
        _populations = populations;
        _accounts = accounts;
        _keys = keys;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.CacheRecordBudget });
    }

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

    private async Task<PopulationData> LoadAsync(string organizationId, string versionId)
    {
        var chain = await _populations.ReadChainAsync(versionId);
        if (chain.Count == 0 || chain[^1].Version.Id != versionId) throw new VersionGoneException();
        var organization = await _accounts.GetOrganizationAsync(organizationId) ?? throw new VersionGoneException();
        using var cipher = _keys.CipherFor(organizationId, organization.WrappedKey);
        var layers = new List<IReadOnlyList<EscrowRecord>>(chain.Count);
        foreach (var (version, segments) in chain)
        {
            var records = new List<EscrowRecord>((int)version.ChangeCount);
            foreach (var segment in segments)
                records.AddRange(RecordCodec.ReadAll(cipher.Open(version.Id, segment.Seq, segment.Nonce, segment.Data), (int)segment.RecordCount));
            layers.Add(records);
        }
        return PopulationData.Materialize(versionId, layers);
    }

    public void Dispose() => _cache.Dispose();
}
