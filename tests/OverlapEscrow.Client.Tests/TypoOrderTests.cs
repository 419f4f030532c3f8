using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// Upload lines hash the typo keys from the name key and their order (NameKeys.TypoOrder) instead of from a string each
/// (NameKeys.TypoKeys, sorted by the platform's sort); the keys, their order and their hashes must be the same.
/// </summary>
public class TypoOrderTests
{
    [Fact]
    public void TheTypoKeysOfBananaAreItsDeletionsAndItselfInOrdinalOrder()
    {
        // Worked out by hand: b-a-n-a-n-a without each letter, and the key itself between "banan" and "banna".
        Assert.Equal(["anana", "baana", "banaa", "banan", "banana", "banna", "bnana"], FromOrder("banana"));
    }

    [Theory]
    [InlineData("aaaaaa")]                    // one run: every deletion is the same text
    [InlineData("aabbaa")]
    [InlineData("abcdd")]                     // five characters: none
    [InlineData("abcdde")]
    [InlineData("zyxwvu")]
    [InlineData("abcdef")]
    [InlineData("a1b2c3d4e5f6g7h8i9j0klmn")]  // 24 characters: the longest that gives typo keys
    [InlineData("a1b2c3d4e5f6g7h8i9j0klmno")] // 25: none
    [InlineData("mullerwistroninfocommzhg")]
    [InlineData("café12")]                    // not ASCII: none
    [InlineData("acme-co")]                   // not a letter or digit: none
    public void TheOrderGivesTheTypoKeysAsTextInTheirOrder(string key) =>
        Assert.Equal(NameKeys.TypoKeys(key), FromOrder(key));

    [Fact]
    public void TheOrderGivesTheTypoKeysAsTextInTheirOrderForManyKeysWithRepeatedLetters()
    {
        // Small alphabets give runs and repeats, where deletions coincide and order turns on letters further on.
        var random = new Random(12);
        foreach (var alphabet in new[] { "ab", "abc", "a0z9", "abcdefghijklmnopqrstuvwxyz0123456789" })
            for (var n = 0; n < 2_000; n++)
            {
                var key = string.Concat(Enumerable.Range(0, random.Next(4, 27)).Select(_ => alphabet[random.Next(alphabet.Length)]));
                Assert.Equal(NameKeys.TypoKeys(key), FromOrder(key));
            }
    }

    [Fact]
    public void TheCountOfTypoKeysIsHowManyTheOrderAndTheTextsGive()
    {
        // TypoCount counts runs instead of ordering; it must agree with both on keys full of runs and on the edges.
        Span<byte> order = stackalloc byte[NameKeys.TypoMaxLength + 1];
        var random = new Random(29);
        var keys = new List<string> { "banana", "aaaaaa", "aabbaa", "abcdd", "a1b2c3d4e5f6g7h8i9j0klmn", "a1b2c3d4e5f6g7h8i9j0klmno", "café12", "acme-co", "Acmeco", "" };
        foreach (var alphabet in new[] { "a", "ab", "abc", "a0z9", "abcdefghijklmnopqrstuvwxyz0123456789", "aB-é" })
            for (var n = 0; n < 2_000; n++)
                keys.Add(string.Concat(Enumerable.Range(0, random.Next(0, 27)).Select(_ => alphabet[random.Next(alphabet.Length)])));
        foreach (var key in keys)
        {
            Assert.Equal(NameKeys.TypoKeys(key).Count, NameKeys.TypoCount(key));
            Assert.Equal(NameKeys.TypoOrder(key, order), NameKeys.TypoCount(key));
        }
        Assert.Equal(7, NameKeys.TypoCount("banana")); // by hand, as above
    }

    [Fact]
    public void ATypoKeysHashFromTheOrderIsTheHashOfItsText()
    {
        Span<byte> order = stackalloc byte[NameKeys.TypoMaxLength + 1];
        Span<byte> hex = stackalloc byte[64];
        var count = NameKeys.TypoOrder("qualys", order);
        Assert.Equal(7, count);
        for (var i = 0; i < count; i++)
        {
            var text = order[i] == 6 ? "qualys" : "qualys".Remove(order[i], 1);
            IdentifierHashes.TypoHashHex("qualys", order[i], "|US", hex);
            // SHA-256 of the specification's hashed text, by the platform.
            var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"oe:v1:name_typo:{text}|US")));
            Assert.Equal(expected, Encoding.ASCII.GetString(hex));
        }
    }

    [Theory]
    [InlineData("https://www.qualys.com", "sales@qualys.com", "Qualys Inc", "US")]
    [InlineData(null, null, "Müller Wistron InfoComm Zhg Ltd dba Widget Mfg", "DE")]
    [InlineData(null, null, "Summit Consulting Group", "US")] // generic: no typo keys
    [InlineData("acme.com", null, "Acme", null)]              // no country: no typo keys
    [InlineData(null, "jo@gmail.com", "", "FR")]
    public void KeysForAnUploadAreTheKeysWithTheTypoKeysKeptAsTheirSource(string? website, string? email, string? name, string? country)
    {
        var keys = AccountKeys.From(website, email, name, country);
        var upload = AccountKeys.ForUpload(website, email, name, country);

        var typos = keys.Identifiers.Where(k => k.Type == IdentifierHashes.NameTypo).Select(k => k.Key).ToList();
        Assert.Equal(keys.Identifiers.Where(k => k.Type != IdentifierHashes.NameTypo), upload.Identifiers);
        Assert.Equal(keys.Missing, upload.Missing);
        Assert.Equal(typos.Count, upload.TypoCount);
        Assert.Equal(typos, upload.TypoKey is null ? [] : FromOrder(upload.TypoKey).Select(t => t + upload.TypoSuffix));
    }

    private static List<string> FromOrder(string key)
    {
        Span<byte> order = stackalloc byte[NameKeys.TypoMaxLength + 1];
        var count = NameKeys.TypoOrder(key, order);
        var keys = new List<string>(count);
        for (var i = 0; i < count; i++) keys.Add(order[i] == key.Length ? key : key.Remove(order[i], 1));
        return keys;
    }
}
