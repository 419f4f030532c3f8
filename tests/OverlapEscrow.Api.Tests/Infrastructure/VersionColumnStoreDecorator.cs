using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// The real column store with one or two of its calls taken over by a test (a crash, a slow disk, a sweep at a chosen
/// moment): every call goes to <paramref name="inner"/> unless the test overrides it. Register it in place of the
/// service's store through <see cref="EscrowApp.TestServices"/> (<see cref="Replace"/>).
/// </summary>
internal abstract class VersionColumnStoreDecorator(IVersionColumnStore inner) : IVersionColumnStore
{
    protected IVersionColumnStore Inner => inner;

    public virtual Task<IReadOnlyList<VersionPart>> ReadColumnsAsync(string versionId, CancellationToken ct) => inner.ReadColumnsAsync(versionId, ct);
    public virtual Task<int> ReadColumnsAsync(string versionId, SealedPartReader read, CancellationToken ct) => inner.ReadColumnsAsync(versionId, read, ct);
    public virtual Task<int> ReadColumnsUnmappedAsync(string versionId, SealedPartReader read, CancellationToken ct) => inner.ReadColumnsUnmappedAsync(versionId, read, ct);
    public virtual Task<int> ReadBlocksAsync(string versionId, int fromBlock, int count, SealedPartReader read, CancellationToken ct) => inner.ReadBlocksAsync(versionId, fromBlock, count, read, ct);
    public virtual Task<IReadOnlyList<VersionPart>> ReadColumnPartsAsync(string versionId, long fromPart, int limit, CancellationToken ct) =>
        inner.ReadColumnPartsAsync(versionId, fromPart, limit, ct);
    public virtual Task<IReadOnlyList<VersionPart>> ReadBlocksAsync(string versionId, IReadOnlyCollection<int> blocks, CancellationToken ct) =>
        inner.ReadBlocksAsync(versionId, blocks, ct);
    public virtual Task<bool> StoreAsync(string versionId, IEnumerable<VersionPart> parts, CancellationToken ct) => inner.StoreAsync(versionId, parts, ct);
    public virtual Task<bool> AppendCommittedAsync(string versionId, IReadOnlyList<PendingPart> parts, CancellationToken ct) =>
        inner.AppendCommittedAsync(versionId, parts, ct);
    public virtual Task<bool> CompleteAsync(string versionId, VersionPart header, IReadOnlyCollection<long> parts, CancellationToken ct) =>
        inner.CompleteAsync(versionId, header, parts, ct);
    public virtual Task<bool> RemoveUnfinishedAsync(string versionId, CancellationToken ct) => inner.RemoveUnfinishedAsync(versionId, ct);
    public virtual Task<bool> AppendPendingAsync(string versionId, IReadOnlyList<VersionPart> parts, DateTimeOffset touchedAt, CancellationToken ct) =>
        inner.AppendPendingAsync(versionId, parts, touchedAt, ct);
    public virtual Task<bool> AppendPendingPartsAsync(string versionId, IReadOnlyList<PendingPart> parts, DateTimeOffset touchedAt, CancellationToken ct) =>
        inner.AppendPendingPartsAsync(versionId, parts, touchedAt, ct);
    public virtual Task<bool> RemovePendingBlocksAsync(string versionId, CancellationToken ct) => inner.RemovePendingBlocksAsync(versionId, ct);

    /// <summary>Registers <paramref name="decorate"/>'s store, wrapped around the service's own, in place of it.</summary>
    public static void Replace(IServiceCollection services, Func<IServiceProvider, IVersionColumnStore, IVersionColumnStore> decorate)
    {
        var original = services.Last(d => d.ServiceType == typeof(IVersionColumnStore));
        services.AddSingleton(sp => decorate(sp, (IVersionColumnStore)(original.ImplementationFactory?.Invoke(sp) ?? original.ImplementationInstance
            ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!))));
    }
}
