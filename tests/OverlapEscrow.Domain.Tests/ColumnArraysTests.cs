using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>The arrays a loaded version keeps, advised for huge pages when large (<see cref="ColumnArrays"/>), hold exactly what is written.</summary>
public class ColumnArraysTests : IDisposable
{
    private readonly bool _advised = ColumnArrays.AdviseHugePages;

    // Advised here whatever the environment says (off by default), so the advised path is the one tested; where madvise
    // is missing or refuses, the arrays are used as they are and the tests still hold.
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
