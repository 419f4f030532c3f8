using OverlapEscrow.Domain.Matching;

namespace OverlapEscrow.Domain.Tests;

public class HashingSpecsTests
{
    [Theory]
    [InlineData(null, 1)]
    [InlineData("", 1)]
    [InlineData("v1", 1)]
    [InlineData("v2", 2)]
    [InlineData(" V2 ", 2)]
    public void AnUploadWithoutTheHeaderIsVersionOneAndAKnownVersionIsRead(string? header, int expected)
    {
        var (version, error) = HashingSpecs.Parse(header);
        Assert.Null(error);
        Assert.Equal(expected, version);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("v")]
    [InlineData("v+2")]
    [InlineData("v2.0")]
    [InlineData("v0")]
    [InlineData("v3")]
    [InlineData("v99999999999")]
    public void AMalformedOrUnknownVersionIsAnError(string header) => Assert.NotNull(HashingSpecs.Parse(header).Error);

    [Fact]
    public void OnlyTwoKnownAndDifferentVersionsMakeAMismatch()
    {
        Assert.Null(HashingSpecs.Compare(2, 2));
        Assert.Null(HashingSpecs.Compare(null, 1));
        Assert.Null(HashingSpecs.Compare(2, null));
        Assert.Equal(new HashingSpecMismatch(2, 1), HashingSpecs.Compare(2, 1));
        Assert.Equal(new HashingSpecMismatch(1, 2), HashingSpecs.Compare(1, 2));
    }
}
