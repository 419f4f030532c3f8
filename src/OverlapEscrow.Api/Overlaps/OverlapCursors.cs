using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Application.Keys;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// The cursors of a cell's list and of what is new in it: the record id a page ended at, encrypted and authenticated
/// (AES-256-GCM) and bound to what it was issued for — the caller's organization, the partnership, the cell and the
/// view (<see cref="Bind"/>) — so it shows nothing in URLs and access logs and cannot be forged, altered, or replayed
/// by another organization, for another cell or in another view.
/// </summary>
/// <remarks>
/// Each cursor has a key of its own: HKDF-SHA256 of the access-token signing key (the version named in the cursor),
/// a random 128-bit salt carried in the cursor and the label <see cref="Label"/>, giving 32 bytes of AES key and the
/// 12-byte nonce. So no key and nonce pair is ever used twice however many cursors are issued, and no nonce counter
/// has to be shared between instances (they share the secrets directory, so any instance opens any instance's cursor).
/// The signing key is only the input keying material here: the label separates this key from every other use of it.
/// A cursor whose signing key version was retired no longer opens (400, like any cursor this API did not return: the
/// client starts again from the first page); so do the Data Protection cursors of earlier releases.
/// <para>
/// Layout, then base64url without padding: format (1 byte, <see cref="FormatV1"/>) · signing key version (4 bytes,
/// big-endian) · salt (16) · ciphertext of the record id's UTF-8 · tag (16). The format byte, the key version and the
/// binding are the associated data.
/// </para>
/// This replaces a Data Protection protector per request (about 12 µs a seal: a key derivation with HMAC-SHA512,
/// AES-CBC and HMAC-SHA256 per payload) on the hottest read, a list page (docs/performance.md, "Reads under load").
/// </remarks>
public sealed class OverlapCursors(EscrowSecrets secrets)
{
    public const string Label = "oe-list-cursor-v1";
    public const byte FormatV1 = 1;

    private const int VersionSize = 4, SaltSize = 16, KeySize = 32, NonceSize = 12, TagSize = 16;
    private const int HeaderSize = 1 + VersionSize + SaltSize;

    /// <summary>The longest cursor text opened; longer ones are refused before decoding (a record id is at most a few hundred bytes).</summary>
    public const int MaxLength = 2048;

    private static readonly byte[] Info = Encoding.ASCII.GetBytes(Label);

    /// <summary>What a cursor is bound to: a purpose (which list) and the ids it is valid for, each length-prefixed.</summary>
    public readonly struct Binding
    {
        internal Binding(byte[] bytes) => Bytes = bytes;

        internal byte[] Bytes { get; }
    }

    /// <summary>The binding of a cursor: its purpose and the ids it may be used with (organization, partnership, cell, and any more).</summary>
    public static Binding Bind(string purpose, string organizationId, string partnershipId, string mine, string theirs, params string[] more)
    {
        string[] parts = [purpose, organizationId, partnershipId, mine, theirs, .. more];
        var length = 0;
        foreach (var part in parts) length += 4 + Encoding.UTF8.GetByteCount(part);
        var bytes = new byte[length];
        var at = 0;
        foreach (var part in parts)
        {
            var n = Encoding.UTF8.GetBytes(part, bytes.AsSpan(at + 4));
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(at), n);
            at += 4 + n;
        }
        return new Binding(bytes);
    }

    /// <summary>A cursor naming <paramref name="recordId"/> under the newest signing key.</summary>
    public string Seal(Binding binding, string recordId)
    {
        var key = secrets.CurrentSigningKey;
        var plaintextLength = Encoding.UTF8.GetByteCount(recordId);
        var sealedBytes = new byte[HeaderSize + plaintextLength + TagSize];
        sealedBytes[0] = FormatV1;
        BinaryPrimitives.WriteInt32BigEndian(sealedBytes.AsSpan(1), key.Version);
        var salt = sealedBytes.AsSpan(1 + VersionSize, SaltSize);
        RandomNumberGenerator.Fill(salt);
        var plaintext = sealedBytes.AsSpan(HeaderSize, plaintextLength);
        Encoding.UTF8.GetBytes(recordId, plaintext);
        Span<byte> keyAndNonce = stackalloc byte[KeySize + NonceSize];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Key, keyAndNonce, salt, Info);
            using var aes = new AesGcm(keyAndNonce[..KeySize], TagSize);
            // In place: the plaintext's bytes become the ciphertext's.
            aes.Encrypt(keyAndNonce[KeySize..], plaintext, plaintext, sealedBytes.AsSpan(HeaderSize + plaintextLength), AssociatedData(sealedBytes, binding));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
        return Base64Url.EncodeToString(sealedBytes);
    }

    /// <summary>The record id a cursor names, when it is one this API issued for this binding under a signing key still present.</summary>
    public bool TryOpen(Binding binding, string cursor, out string? recordId)
    {
        recordId = null;
        if (cursor.Length is 0 or > MaxLength) return false;
        // TryDecodeFromChars throws on characters outside the alphabet (its "try" is about the destination's size): checked first.
        if (!Base64Url.IsValid(cursor, out var decodedLength) || decodedLength < HeaderSize + TagSize) return false;
        var sealedBytes = new byte[decodedLength];
        if (!Base64Url.TryDecodeFromChars(cursor, sealedBytes, out var length)) return false;
        var data = sealedBytes.AsSpan(0, length);
        if (data[0] != FormatV1) return false;
        var key = secrets.Find(SecretKind.AccessTokenSigning, BinaryPrimitives.ReadInt32BigEndian(data[1..]));
        if (key is null) return false;
        var plaintextLength = length - HeaderSize - TagSize;
        var plaintext = new byte[plaintextLength];
        Span<byte> keyAndNonce = stackalloc byte[KeySize + NonceSize];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Key, keyAndNonce, data.Slice(1 + VersionSize, SaltSize), Info);
            using var aes = new AesGcm(keyAndNonce[..KeySize], TagSize);
            aes.Decrypt(keyAndNonce[KeySize..], data.Slice(HeaderSize, plaintextLength), data[(HeaderSize + plaintextLength)..], plaintext,
                AssociatedData(data, binding));
        }
        catch (CryptographicException)
        {
            return false; // altered, issued for another binding, or under another key
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keyAndNonce);
        }
        try
        {
            recordId = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(plaintext);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>The format byte and key version, then the binding: a cursor opens only where it was issued, under the key it names.</summary>
    private static byte[] AssociatedData(ReadOnlySpan<byte> sealedBytes, Binding binding)
    {
        var aad = new byte[1 + VersionSize + binding.Bytes.Length];
        sealedBytes[..(1 + VersionSize)].CopyTo(aad);
        binding.Bytes.CopyTo(aad, 1 + VersionSize);
        return aad;
    }
}
