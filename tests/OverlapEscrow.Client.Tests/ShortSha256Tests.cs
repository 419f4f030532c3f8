using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// The client hashes keys through OpenSSL's low-level SHA-256 where it can (ShortSha256). Its digests must be the
/// platform's SHA-256 byte for byte, or every key would stop matching partners; these tests try to find an input where
/// they are not, and check that the fast path is really the one in use on Linux.
/// </summary>
public class ShortSha256Tests
{
    [Fact]
    public void OnLinuxTheKeysAreHashedThroughOpenSslDirectly()
    {
        // The platform's crypto on Linux is OpenSSL 3: the fast path is there, so a silent fallback is a regression.
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(ShortSha256.UsesOpenSslDirectly);
    }

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public void TheFips180ExamplesComeOutOfBothPaths(string text, string expected)
    {
        Span<byte> digest = stackalloc byte[32];
        if (ShortSha256.UsesOpenSslDirectly)
        {
            ShortSha256.HashWithOpenSsl(Encoding.ASCII.GetBytes(text), digest);
            Assert.Equal(expected, Convert.ToHexStringLower(digest));
        }
        ShortSha256.HashWithPlatform(Encoding.ASCII.GetBytes(text), digest);
        Assert.Equal(expected, Convert.ToHexStringLower(digest));
        ShortSha256.Hash(Encoding.ASCII.GetBytes(text), digest);
        Assert.Equal(expected, Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void EveryLengthFromZeroToThreeBlocksGivesThePlatformsDigest()
    {
        var random = new Random(13);
        var data = new byte[200];
        Span<byte> ours = stackalloc byte[32];
        for (var round = 0; round < 20; round++)
        {
            random.NextBytes(data);
            for (var length = 0; length <= data.Length; length++)
            {
                ShortSha256.Hash(data.AsSpan(0, length), ours);
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(0, length))), Convert.ToHexStringLower(ours));
            }
        }
    }

    [Fact]
    public void AKeyHashesAsSha256OfItsPrefixedTextOnEveryCore()
    {
        // Random keys of every script the client meets, hashed on several threads at once (each has its own state).
        var keys = Enumerable.Range(0, 4000).Select(i =>
        {
            var random = new Random(i);
            var chars = new char[random.Next(0, 60)];
            for (var k = 0; k < chars.Length; k++) chars[k] = (char)(random.Next(4) == 0 ? random.Next(0x80, 0xD7FF) : random.Next(0x20, 0x7F));
            return new string(chars);
        }).ToArray();
        var mismatches = 0;
        Parallel.ForEach(keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, key =>
        {
            var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("oe:v1:name_typo:" + key)));
            Span<byte> hex = stackalloc byte[64];
            IdentifierHashes.HashHex(IdentifierHashes.NameTypo, key, hex);
            if (IdentifierHashes.Hash(IdentifierHashes.NameTypo, key) != expected || Encoding.ASCII.GetString(hex) != expected)
                Interlocked.Increment(ref mismatches);
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void AKeyLongerThanTheStackBufferHashesAlike()
    {
        var key = new string('ü', 600); // 1,200 bytes of UTF-8: the text is built on the heap
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("oe:v1:name:" + key)));
        Assert.Equal(expected, IdentifierHashes.Hash(IdentifierHashes.Name, key));
    }
}
