using System.Runtime.InteropServices;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>The arrays a loaded version keeps, advised for huge pages when large (<see cref="ColumnArrays"/>), hold exactly what is written.</summary>
public class ColumnArraysTests : IDisposable
{
    private readonly bool _advised = ColumnArrays.AdviseHugePages;

    // Advised here whatever the environment says (OE_COLUMN_HUGE_PAGES=0 turns it off), so the advised path is the one
    // tested; where madvise is missing or refuses, the arrays are used as they are and the tests still hold.
    public ColumnArraysTests() => ColumnArrays.AdviseHugePages = OperatingSystem.IsLinux();

    public void Dispose() => ColumnArrays.AdviseHugePages = _advised;

    [Theory]
    [InlineData(10)]
    [InlineData(262_144)] // exactly two huge pages of tokens: the smallest advised
    [InlineData(1_000_003)] // an interior advised, both ends not aligned
    public void AnArrayOfAnySizeHasTheLengthAskedAndKeepsEveryElementWritten(int length)
    {
        var tokens = ColumnArrays.Uninitialized<Token>(length);
        var ordinals = ColumnArrays.Uninitialized<int>(length);
        Assert.Equal(length, tokens.Length);
        Assert.Equal(length, ordinals.Length);

        for (var i = 0; i < length; i++) (tokens[i], ordinals[i]) = (new Token((ulong)i * 31, ~(ulong)i), length - i);

        for (var i = 0; i < length; i++)
        {
            if (tokens[i] != new Token((ulong)i * 31, ~(ulong)i) || ordinals[i] != length - i)
                Assert.Fail($"element {i} of {length} changed");
        }
    }

    [Theory]
    [InlineData(600_000)] // just above the smallest faulted in ahead (512 KB), one huge page or two
    [InlineData(3_000_001)] // several huge pages, neither end aligned
    public void AZeroedArrayIsAllZeroAndKeepsWhatIsWritten(int length)
    {
        // Garbage first, so a zeroed array landing on memory the collector reused would show it.
        for (var i = 0; i < 4; i++) GC.KeepAlive(Enumerable.Repeat(true, length).ToArray());
        var flags = ColumnArrays.Zeroed<bool>(length);

        Assert.Equal(length, flags.Length);
        Assert.Equal(-1, flags.AsSpan().IndexOf(true));
        for (var i = 0; i < length; i += 7) flags[i] = true;
        for (var i = 0; i < length; i++)
            if (flags[i] != (i % 7 == 0)) Assert.Fail($"flag {i} of {length} is wrong");
    }

    [Theory]
    [InlineData(1_000)] // small: from the pool as it is
    [InlineData(1_000_003)] // faulted in ahead, neither end aligned
    public void ARentedWorkingArrayHasAtLeastTheLengthAskedAndTheAdviceChangesNoByteOfIt(int length)
    {
        var first = ColumnArrays.Rent<int>(length);
        Assert.True(first.Length >= length);
        for (var i = 0; i < first.Length; i++) first[i] = i * 7 + 1;
        System.Buffers.ArrayPool<int>.Shared.Return(first);

        // Given back and rented again on this thread: the pool's own slot hands the same array out, and faulting its
        // pages in again (they are all there) leaves every element as it was written.
        var again = ColumnArrays.Rent<int>(length);
        try
        {
            Assert.Same(first, again);
            for (var i = 0; i < again.Length; i++)
                if (again[i] != i * 7 + 1) Assert.Fail($"element {i} of {again.Length} changed");
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(again, clearArray: true);
        }
    }

    [Theory]
    [InlineData(0x7f00_0000_1000L, 0x7f00_0000_2000L)] // one small page
    [InlineData(0x7f00_001f_f000L, 0x7f00_0060_3000L)] // from just before a boundary to past the next two
    [InlineData(0x7f00_0020_0000L, 0x7f00_0060_0000L)] // two whole huge pages
    public void PagesAreFaultedInOneHugePagesRangeAtATimeAndAllOfThem(long first, long last)
    {
        // One call per 2 MB range, so a collection waiting for the memory-map lock waits for one range, not the array.
        var steps = ColumnArrays.HugePageSteps((nint)first, (nint)last).ToList();

        Assert.Equal((nint)first, steps[0].From);
        Assert.Equal((nint)last, steps[^1].To);
        for (var i = 0; i < steps.Count; i++)
        {
            Assert.True(steps[i].From < steps[i].To);
            Assert.Equal(steps[i].From >> 21, (steps[i].To - 1) >> 21);
            if (i > 0) Assert.Equal(steps[i - 1].To, steps[i].From);
        }
        Assert.Equal(((last - 1) >> 21) - (first >> 21) + 1, steps.Count);
    }

    [Fact]
    public void ALargeArrayLeavesNoHugePageMarkOnItsMemory()
    {
        // The mark is taken off once the array's pages are in: left on, the memory would fault 2 MB at a time in whatever
        // the collector puts there after the array is gone (ColumnArrays' remarks). Linux only; elsewhere nothing is marked.
        if (!OperatingSystem.IsLinux()) return;
        var tokens = ColumnArrays.Uninitialized<Token>(1_000_003);
        var handle = GCHandle.Alloc(tokens, GCHandleType.Pinned);
        try
        {
            var start = (ulong)handle.AddrOfPinnedObject();
            var end = start + (ulong)tokens.Length * Token.Size;
            var flags = MappingFlags(start, end);
            Assert.NotEmpty(flags);
            Assert.DoesNotContain(flags, f => f.Split(' ').Contains("hg"));
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>The VmFlags of every mapping of this process that overlaps [start, end), from /proc/self/smaps.</summary>
    private static List<string> MappingFlags(ulong start, ulong end)
    {
        var flags = new List<string>();
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line[..dash], System.Globalization.NumberStyles.HexNumber, null, out var from)
                && ulong.TryParse(line[(dash + 1)..space], System.Globalization.NumberStyles.HexNumber, null, out var to))
                inside = from < end && to > start;
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                flags.Add(line["VmFlags:".Length..].Trim());
        }
        return flags;
    }

    [Fact]
    public void AColumnLargeEnoughToBeAdvisedReadsBackFromItsChunksTokenForToken()
    {
        // 300,000 records with a domain each: a 4.8 MB token column in five chunks, advised for huge pages on Linux.
        var records = Enumerable.Range(0, 300_000)
            .Select(i => new EscrowRecord($"r{i:d7}", [new RecordToken(IdentifierType.Domain, new Token((ulong)(i * 7919 % 300_000), (ulong)i))], []))
            .ToList();
        var data = PopulationData.Materialize("v", [records]);

        var stored = VersionColumns.Decode("v", VersionColumns.Encode(data).Where(p => !VersionColumns.IsBlockPart(p.Part)));

        var (tokens, ordinals) = data.Column(IdentifierType.Domain);
        var (storedTokens, storedOrdinals) = stored.Column(IdentifierType.Domain);
        Assert.Equal(300_000, storedTokens.Length);
        Assert.True(tokens.AsSpan().SequenceEqual(storedTokens), "the token column differs");
        Assert.True(ordinals.AsSpan().SequenceEqual(storedOrdinals), "the ordinal column differs");
    }
}
