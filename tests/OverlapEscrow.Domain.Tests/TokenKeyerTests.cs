using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

public class TokenKeyerTests
{
    private static readonly byte[] Key = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
    private static readonly byte[] OtherKey = [.. Enumerable.Range(0, 32).Select(i => (byte)(0xFF - i))];
    private static readonly byte[] ExampleHash = SHA256.HashData("example.com"u8);

    [Fact]
    public void SameKeyTypeAndHashGiveTheSameToken()
    {
        using var first = new TokenKeyer(Key);
        using var second = new TokenKeyer(Key);

        var a = first.Rekey(IdentifierType.Domain, ExampleHash);
        var b = first.Rekey(IdentifierType.Domain, ExampleHash);
        var c = second.Rekey(IdentifierType.Domain, ExampleHash);

        Assert.Equal(a, b);
        Assert.Equal(a, c);
    }

    [Fact]
    public void DifferentKeysGiveDifferentTokensForTheSameHash()
    {
        using var keyer = new TokenKeyer(Key);
        using var other = new TokenKeyer(OtherKey);

        Assert.NotEqual(keyer.Rekey(IdentifierType.Domain, ExampleHash), other.Rekey(IdentifierType.Domain, ExampleHash));
    }

    [Fact]
    public void DifferentHashesGiveDifferentTokens()
    {
        using var keyer = new TokenKeyer(Key);

        Assert.NotEqual(
            keyer.Rekey(IdentifierType.Domain, SHA256.HashData("example.com"u8)),
            keyer.Rekey(IdentifierType.Domain, SHA256.HashData("example.org"u8)));
    }

    [Fact]
    public void TheSameHashAsDomainAndAsNameGivesDifferentTokens()
    {
        using var keyer = new TokenKeyer(Key);

        Assert.NotEqual(keyer.Rekey(IdentifierType.Domain, ExampleHash), keyer.Rekey(IdentifierType.Name, ExampleHash));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    public void KeysShorterThan256BitsAreRejected(int length)
    {
        Assert.Throws<ArgumentException>(() => new TokenKeyer(new byte[length]));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void KeysOfAtLeast256BitsAreAccepted(int length)
    {
        using var keyer = new TokenKeyer(new byte[length]);
        _ = keyer.Rekey(IdentifierType.Domain, ExampleHash);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void HashesThatAreNot32BytesAreRejected(int length)
    {
        using var keyer = new TokenKeyer(Key);

        Assert.Throws<ArgumentException>(() => keyer.Rekey(IdentifierType.Domain, new byte[length]));
    }

    [Fact]
    public void ARejectedHashDoesNotDisturbTheNextToken()
    {
        // The keyer reuses one HMAC state; a rejected call must not leave data appended to it.
        using var keyer = new TokenKeyer(Key);
        var before = keyer.Rekey(IdentifierType.Domain, ExampleHash);

        Assert.Throws<ArgumentException>(() => keyer.Rekey(IdentifierType.Domain, new byte[31]));

        Assert.Equal(before, keyer.Rekey(IdentifierType.Domain, ExampleHash));
    }

    [Theory]
    [InlineData(IdentifierType.Domain)]
    [InlineData(IdentifierType.Name)]
    public void TokenIsTheFirst128BitsOfHmacOverLabelTypeAndHash(IdentifierType type)
    {
        var message = new List<byte>();
        message.AddRange(Encoding.ASCII.GetBytes("oe-token-v1"));
        message.Add((byte)type);
        message.AddRange(ExampleHash);
        using var hmac = new HMACSHA256(Key);
        var mac = hmac.ComputeHash([.. message]);
        var expected = new Token(
            BinaryPrimitives.ReadUInt64BigEndian(mac.AsSpan(0, 8)),
            BinaryPrimitives.ReadUInt64BigEndian(mac.AsSpan(8, 8)));

        using var keyer = new TokenKeyer(Key);

        Assert.Equal(expected, keyer.Rekey(type, ExampleHash));
    }

    [Fact]
    public void TokensMatchFixedVectorsComputedOutsideDotNet()
    {
        // Key = 00 01 .. 1f, hash = SHA-256("example.com"); computed with Python's hmac module:
        // hmac.new(key, b"oe-token-v1" + bytes([type]) + hash, sha256).digest()[:16]
        using var keyer = new TokenKeyer(Key);

        Assert.Equal(new Token(0xA9FF2D6CEF02F729, 0xBE2DEE42F15B8906), keyer.Rekey(IdentifierType.Domain, ExampleHash));
        Assert.Equal(new Token(0xFD9808E19FD794A7, 0x92744D61E78E7511), keyer.Rekey(IdentifierType.Name, ExampleHash));
    }

    [Fact]
    public void TokenWritesAndReadsBigEndian()
    {
        var token = new Token(0x0102030405060708, 0x090A0B0C0D0E0F10);
        var bytes = new byte[Token.Size];

        token.Write(bytes);

        Assert.Equal(Enumerable.Range(1, 16).Select(i => (byte)i), bytes);
        Assert.Equal(token, Token.Read(bytes));
    }

    [Fact]
    public void TokensCompareByHighThenLowAsUnsigned()
    {
        Assert.True(new Token(1, 0).CompareTo(new Token(0, ulong.MaxValue)) > 0);
        Assert.True(new Token(5, 1).CompareTo(new Token(5, 2)) < 0);
        Assert.True(new Token(0x8000000000000000, 0).CompareTo(new Token(0x7FFFFFFFFFFFFFFF, 0)) > 0);
        Assert.Equal(0, new Token(7, 7).CompareTo(new Token(7, 7)));
    }
}

/// <summary>
/// The re-keying's HMAC through OpenSSL's own HMAC_CTX (where the platform's libcrypto has it) and through the platform's
/// HMACSHA256 must be the same function: checked against RFC 4231's vectors and against each other, many times on one
/// reused context.
/// </summary>
public class ReusedHmacSha256Tests
{
    public static TheoryData<bool> Paths => ReusedHmacSha256.UsesOpenSslDirectly ? new() { true, false } : new() { false };

    [Fact]
    public void OnLinuxTheMacComesFromOpenSslDirectly()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OE_HMAC_PLATFORM") == "1") return;
        Assert.True(ReusedHmacSha256.UsesOpenSslDirectly, "libcrypto's HMAC_CTX was not found or failed its self-check");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EachPathGivesRfc4231sMacsAgainAndAgainOnOneContext(bool openSsl)
    {
        // RFC 4231 test cases 1, 2 and 6 (a key longer than a block), HMAC-SHA-256.
        (byte[] Key, byte[] Data, string Mac)[] cases =
        [
            (Enumerable.Repeat((byte)0x0b, 20).ToArray(), "Hi There"u8.ToArray(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            ("Jefe"u8.ToArray(), "what do ya want for nothing?"u8.ToArray(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (Enumerable.Repeat((byte)0xaa, 131).ToArray(), "Test Using Larger Than Block-Size Key - Hash Key First"u8.ToArray(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ];
        var mac = new byte[32];
        foreach (var (key, data, expected) in cases)
        {
            using var hmac = new ReusedHmacSha256(key, openSsl);
            for (var i = 0; i < 3; i++)
            {
                hmac.Compute(data, mac);
                Assert.Equal(expected, Convert.ToHexStringLower(mac));
            }
        }
    }

    [Fact]
    public void BothPathsGiveTheSameTokensForManyHashesOnOneReusedKeyer()
    {
        if (!ReusedHmacSha256.UsesOpenSslDirectly) return; // only the platform's path here: nothing to compare
        var key = RandomNumberGenerator.GetBytes(32);
        using var openSsl = new TokenKeyer(key, openSsl: true);
        using var platform = new TokenKeyer(key, openSsl: false);
        var hash = new byte[32];
        for (var i = 0; i < 2000; i++)
        {
            RandomNumberGenerator.Fill(hash);
            var type = i % 2 == 0 ? IdentifierType.Domain : IdentifierType.Name;
            Assert.Equal(platform.Rekey(type, hash), openSsl.Rekey(type, hash));
        }
    }
}
