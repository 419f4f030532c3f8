using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// Every published test vector (docs/hashing.md), produced by the Python reference implementation, must come out
/// identically from the C# client: keys, reasons for no key, name variants, version 1 keys, every identifier of an
/// account, and their hashes.
/// </summary>
public class HashingVectorTests
{
    public static TheoryData<string> VectorIds()
    {
        var data = new TheoryData<string>();
        foreach (var vector in HashingVectors.File.Vectors) data.Add(vector.Id);
        return data;
    }

    public static TheoryData<string> AccountIds()
    {
        var data = new TheoryData<string>();
        foreach (var vector in HashingVectors.File.Accounts) data.Add(vector.Id);
        return data;
    }

    [Fact]
    public void TheFileIsForThisSpecificationVersionAndCoversEnoughCases()
    {
        var file = HashingVectors.File;
        Assert.Equal(IdentifierHashes.SpecVersion, file.SpecVersion);
        Assert.Equal(IdentifierHashes.HashPrefix, file.HashPrefix);
        Assert.True(file.Vectors.Count >= 200, $"only {file.Vectors.Count} vectors");
        Assert.True(file.Accounts.Count >= 10, $"only {file.Accounts.Count} account vectors");
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
            "website" => DomainKeys.FromWebsite(v.Input, v.Name),
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
        Assert.Equal(v.Variants!.Select(x => (x.Key, x.Generic)), NameKeys.Variants(v.Input).Select(x => (x.Key, x.Generic)));
        var v1 = NameKeys.KeyV1(v.Input);
        Assert.Equal(v.V1Key, v1 is null ? null : v1 + "|" + NameKeys.CountryCode(v.Country));
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

    [Theory]
    [MemberData(nameof(AccountIds))]
    public void Account(string id)
    {
        var v = HashingVectors.AccountById(id);
        var keys = AccountKeys.From(v.Website, v.Email, v.Name, v.Country);
        // Upload order within each type; the wire format groups hashes by type.
        Assert.Equal(Grouped(v.Identifiers.Select(i => (i.Type, i.Key))), Grouped(keys.Identifiers.Select(k => (k.Type, k.Key))));
        Assert.Equal(v.Missing.OrderBy(m => m.Key), keys.Missing.OrderBy(m => m.Key));
        var hashes = keys.Hashes();
        foreach (var group in v.Identifiers.GroupBy(i => i.Type))
            Assert.Equal(group.Select(i => i.Hash), hashes[group.Key]);
        Assert.Equal(v.Identifiers.Select(i => i.Type).Distinct().Order(), hashes.Keys.Order());
    }

    private static List<string> Grouped(IEnumerable<(string Type, string Key)> identifiers) =>
        [.. identifiers.GroupBy(i => i.Type).OrderBy(g => g.Key, StringComparer.Ordinal).SelectMany(g => g.Select(i => $"{i.Type}:{i.Key}"))];
}
