using System.Security.Cryptography;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Tokens;

/// <summary>
/// Re-keys identifier hashes as uploaded into escrow tokens.
/// </summary>
/// <remarks>
/// An uploaded hash is an unkeyed SHA-256 of a normalized identifier, so anyone holding it can test guesses
/// against it (there are only a few hundred million registered domains). The escrow therefore never stores it:
/// it stores token = HMAC-SHA256(K, "oe-token-v1" || type || hash)[0..16], with K a 256-bit secret kept outside
/// the database (HMAC per RFC 2104, the token key is never derived from anything stored). A stolen database or
/// backup without K cannot be tested against guesses. The type byte separates identifier types, so a name hash
/// can never collide with a domain hash into one token; the version label lets a future scheme coexist.
/// Instances are not thread-safe (they reuse one HMAC state, OpenSSL's own where it can: <see cref="ReusedHmacSha256"/>); create one per thread.
/// </remarks>
public sealed class TokenKeyer : IDisposable
{
    public const int HashSize = 32;
    private static ReadOnlySpan<byte> Label => "oe-token-v1"u8;

    private readonly ReusedHmacSha256 _hmac;

    public TokenKeyer(ReadOnlySpan<byte> tokenKey) : this(tokenKey, ReusedHmacSha256.UsesOpenSslDirectly) { }

    /// <param name="openSsl">Whether the MAC goes through OpenSSL's HMAC_CTX (tests compare both paths).</param>
    internal TokenKeyer(ReadOnlySpan<byte> tokenKey, bool openSsl)
    {
        if (tokenKey.Length < 32) throw new ArgumentException("The token key must be at least 256 bits.", nameof(tokenKey));
        _hmac = new ReusedHmacSha256(tokenKey, openSsl);
    }

    public Token Rekey(IdentifierType type, ReadOnlySpan<byte> identifierHash)
    {
        if (identifierHash.Length != HashSize) throw new ArgumentException("An identifier hash is 32 bytes.", nameof(identifierHash));
        // One contiguous message and one MAC call: about twice as fast as feeding the parts incrementally.
        Span<byte> message = stackalloc byte[Label.Length + 1 + HashSize];
        Label.CopyTo(message);
        message[Label.Length] = (byte)type;
        identifierHash.CopyTo(message[(Label.Length + 1)..]);
        Span<byte> mac = stackalloc byte[32];
        _hmac.Compute(message, mac);
        CryptographicOperations.ZeroMemory(message);
        return Token.Read(mac);
    }

    public void Dispose() => _hmac.Dispose();
}
