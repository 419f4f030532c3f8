using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// An upload seals its segments and column parts into buffers it reuses and stores each from a slice of its buffer
/// (docs/performance.md, "Uploads"). What is at rest must be exactly what sealing each part into an array of its own
/// stored: every row opens with the organization's key under its own version, position and part (so no part holds
/// another's bytes or a buffer's leftovers), and the plaintexts are the records as sent and the columns a version read
/// back from its segments gets.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadStoredPartsTests : IDisposable
{
    // 100,000 records of 1,000 a segment: 100 segments through one reused buffer. A domain and a name each: about 7 MB of
    // column parts (two columns of two chunks, 391 record blocks) in two flushes. (Whether a chunk's buffer is taken again
    // depends on how far the finish's sealing runs ahead of its storing; SealBuffers' own test holds its rule.)
    private const int RecordCount = 100_000;
    private readonly EscrowApp _app = new(new Dictionary<string, string?> { ["Escrow:Uploads:SegmentRecords"] = "1000", ["Escrow:Uploads:SnapshotSegments"] = "true" });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task EverySegmentAndColumnPartAnUploadStoresOpensAtItsExactLengthToTheRecordsSentAndTheirColumns()
    {
        var org = await _app.SignupAsync("stored-parts");
        var population = await org.CreatePopulationAsync("Customers");
        var sent = Records.Ndjson(Enumerable.Range(0, RecordCount).Select(i => new Records.Account($"p-{i:D5}", Domain: $"d{i}.example",
            Name: $"Account {i}", Country: "US", Attributes: new() { ["owner"] = $"p account {i}" })));
        var versionId = (string)(await org.UploadOkAsync(population, sent))["versionId"]!;

        var (segments, parts) = await StoredParts.ReadAsync(_app, versionId);
        using var cipher = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(org.Id, CancellationToken.None);

        // Segments: 100 of 1,000 records, each opening (AES-GCM checks its tag over exactly the bytes stored) to the records in the order sent.
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), segments.Select(s => s.Seq));
        Assert.All(segments, s => Assert.Equal(1000, s.RecordCount));
        var records = new List<EscrowRecord>();
        foreach (var s in segments)
        {
            var plaintext = cipher.OpenSegment(versionId, s.Seq, new SealedValue(s.Nonce, s.Data, (int)s.KeyVersion));
            Assert.Equal(plaintext.Length + 16, s.Data.Length);
            records.AddRange(RecordCodec.ReadAll(plaintext, 1000));
        }
        Assert.Equal(Enumerable.Range(0, RecordCount).Select(i => $"p-{i:D5}"), records.Select(r => r.RecordId));
        Assert.Equal(Enumerable.Range(0, RecordCount).Select(i => $"p account {i}"), records.Select(r => r.Attributes.Single(a => a.Name == "owner").Value));
        Assert.All(records, r => Assert.Equal([IdentifierType.Domain, IdentifierType.Name], r.Tokens.Select(t => t.Type).Order()));
        Assert.Equal(2 * RecordCount, records.SelectMany(r => r.Tokens).Select(t => t.Token).Distinct().Count());

        // Column parts: each opens under its own part number to the bytes the columns of those records are, part by part.
        var expected = VersionColumns.Encode(PopulationData.Materialize(versionId, [records])).ToList();
        Assert.Equal(expected.Select(p => p.Part), parts.Select(p => p.Seq));
        var stored = parts.Sum(p => (long)p.Data.Length);
        Assert.True(stored > 4 << 20, $"{stored} bytes of parts do not reach a second flush");
        for (var i = 0; i < expected.Count; i++)
        {
            var p = parts[i];
            var plaintext = cipher.Open(VersionStore.SealLabel, VersionStore.SealId(versionId, p.Seq), new SealedValue(p.Nonce, p.Data, (int)p.KeyVersion));
            Assert.Equal(plaintext.Length + 16, p.Data.Length);
            Assert.True(expected[i].Plaintext.AsSpan().SequenceEqual(plaintext), $"part {p.Seq:x} differs");
        }
        // Every nonce is fresh: a reused buffer never carries a nonce over.
        Assert.Equal(segments.Count + parts.Count, segments.Concat(parts).Select(r => Convert.ToHexString(r.Nonce)).Distinct().Count());
    }

    [Fact]
    public void ASealBufferIsNotHandedOutAgainUntilItsPartWasStoredAndGivenBack()
    {
        var buffers = new OverlapEscrow.Application.Keys.SealBuffers();
        var first = buffers.Rent(2_000_000);
        var second = buffers.Rent(1_000_000);
        Assert.NotSame(first, second);
        Assert.True(first.Length >= 2_000_000 && second.Length >= 1_000_000);

        buffers.Return(first.AsMemory(0, 2_000_000));
        var third = buffers.Rent(1_500_000);
        var fourth = buffers.Rent(1_500_000);

        Assert.Same(first, third); // given back, so taken again
        Assert.NotSame(third, fourth); // and only once
        Assert.NotSame(second, fourth); // never one still out
        // A record block's small part never gets one of the pool's large buffers.
        buffers.Return(second.AsMemory(0, 1_000_000));
        Assert.NotSame(second, buffers.Rent(10_000));
        Assert.Equal(10_000, buffers.Rent(10_000).Length);
    }

    [Fact]
    public void ASmallPartsSliceOfASlabOverlapsNoOtherSliceOutAndAFullSlabIsTakenAgainOnlyOnceEverySliceOfItCameBack()
    {
        var buffers = new OverlapEscrow.Application.Keys.SealBuffers();
        const int Size = 10_000;
        var perSlab = OverlapEscrow.Application.Keys.SealBuffers.SlabBytes / Size;
        var first = Enumerable.Range(0, perSlab).Select(_ => buffers.TakeSlice(Size)).ToList();
        var next = buffers.TakeSlice(Size); // the first slab is full: a second one
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(first[0], out var a));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(next, out var b));
        Assert.NotSame(a.Array, b.Array);
        // The slices of one slab are disjoint and each of the length asked for.
        var ranges = first.Select(m => System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(m, out var s) ? (s.Array, s.Offset, s.Count) : default).ToList();
        Assert.All(ranges, r => Assert.Same(a.Array, r.Array));
        Assert.All(ranges, r => Assert.Equal(Size, r.Count));
        Assert.Equal(perSlab, ranges.Select(r => r.Offset / Size).Distinct().Count());
        Assert.All(ranges, r => Assert.Equal(0, r.Offset % Size));

        // All but one slice of the full slab back: it is not taken again while one of its slices is out.
        foreach (var slice in first.Skip(1)) buffers.Return(slice);
        var more = Enumerable.Range(0, perSlab).Select(_ => buffers.TakeSlice(Size)).ToList(); // fills the second slab, starts a third
        Assert.DoesNotContain(more, m => System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(m, out var s) && ReferenceEquals(s.Array, a.Array));

        // The last one back: the slab is free, and the next slab started is it.
        buffers.Return(first[0]);
        var taken = Enumerable.Range(0, perSlab).Select(_ => buffers.TakeSlice(Size)).ToList();
        Assert.Contains(taken, m => System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(m, out var s) && ReferenceEquals(s.Array, a.Array));
    }
}
