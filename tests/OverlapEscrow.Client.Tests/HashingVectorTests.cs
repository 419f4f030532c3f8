using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// Every published test vector (docs/hashing.md), produced by the Python reference implementation, must come out
/// identically from the C# client: keys, reasons for no key, and the hashes of all four identifier types.
/// </summary>
public class HashingVectorTests
{
    public static TheoryData<string> VectorIds()
    {
        var data = new TheoryData<string>();
        foreach (var vector in HashingVectors.File.Vectors) data.Add(vector.Id);
        return data;
    }

    [Fact]
    public void TheFileIsForThisSpecificationVersionAndCoversEnoughCases()
    {
        var file = HashingVectors.File;
        Assert.Equal(IdentifierHashes.SpecVersion, file.SpecVersion);
        Assert.True(file.Vectors.Count >= 80, $"only {file.Vectors.Count} vectors");
        Assert.Equal(file.Vectors.Count, file.Vectors.Select(v => v.Id).Distinct(StringComparer.Ordinal).Count());
        Assert.All(file.Vectors, v => Assert.Contains(v.Kind, new[] { "website", "email", "name" }));
        Assert.Contains(file.Vectors, v => v.Kind == "website" && v.Key is null);
        Assert.Contains(file.Vectors, v => v.Kind == "email" && v.Key is null);
        Assert.Contains(file.Vectors, v => v.Kind == "name" && v.Key is null);
    }

    [Theory]
    [MemberData(nameof(VectorIds))]
    public void Vector(string id)
    {
        var v = HashingVectors.ById(id);
        // A vector either has a key and its hash, or a reason and neither.
        Assert.Equal(v.Key is null, v.Reason is not null);
        Assert.Equal(v.Key is null, v.Hash is null);

        if (v.Kind == "name") CheckName(v);
        else CheckDomain(v);
    }

    private static void CheckDomain(HashingVector v)
    {
        var result = v.Kind switch
        {
            "website" => DomainKeys.FromWebsite(v.Input),
            "email" => DomainKeys.FromEmail(v.Input),
            _ => throw new InvalidOperationException($"unknown kind {v.Kind}"),
        };
        Assert.Equal(v.Key, result.Key);
        Assert.Equal(v.Reason, result.Reason);
        Assert.Null(v.NameOnlyKey);
        Assert.Null(v.NameOnlyHash);
        if (v.Key is null)
        {
            Assert.Null(v.LabelKey);
            Assert.Null(v.LabelHash);
            return;
        }
        Assert.Equal(v.Hash, IdentifierHashes.Hash(IdentifierHashes.Domain, result.Key!));
        var label = DomainKeys.Label(result.Key!);
        Assert.Equal(v.LabelKey, label);
        Assert.Equal(v.LabelHash, IdentifierHashes.Hash(IdentifierHashes.DomainLabel, label));
    }

    private static void CheckName(HashingVector v)
    {
        var (withCountry, nameOnly) = NameKeys.From(v.Input, v.Country);
        Assert.Equal(v.Key, withCountry.Key);
        Assert.Equal(v.Reason, withCountry.Reason);
        Assert.Equal(v.NameOnlyKey, nameOnly.Key);
        Assert.Null(v.LabelKey);
        Assert.Null(v.LabelHash);
        if (v.Key is null)
        {
            Assert.Null(v.NameOnlyHash);
            return;
        }
        Assert.Equal(v.Hash, IdentifierHashes.Hash(IdentifierHashes.Name, withCountry.Key!));
        Assert.Equal(v.NameOnlyHash, IdentifierHashes.Hash(IdentifierHashes.NameOnly, nameOnly.Key!));
    }
}
