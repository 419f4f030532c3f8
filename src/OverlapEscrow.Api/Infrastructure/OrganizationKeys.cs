using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>
/// Per-organization data keys and the encryption of stored record segments.
/// </summary>
/// <remarks>
/// Each organization has a random 256-bit data key, stored only wrapped: AES-256-GCM under the master key
/// (NIST SP 800-38D), with the organization id as associated data so a wrapped key cannot be moved to another
/// organization. Segments are sealed with AES-256-GCM under the data key, a random 96-bit nonce per segment
/// (at most 2^32 segments per key keeps the nonce-collision bound of SP 800-38D §8.3), and the version id and
/// segment number as associated data, so segments cannot be swapped between versions or reordered.
/// </remarks>
public sealed class OrganizationKeys(EscrowKeys keys)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public byte[] NewWrappedKey(string organizationId)
    {
        var dataKey = RandomNumberGenerator.GetBytes(32);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var wrapped = new byte[NonceSize + dataKey.Length + TagSize];
            nonce.CopyTo(wrapped, 0);
            using var aes = new AesGcm(keys.MasterKey, TagSize);
            aes.Encrypt(nonce, dataKey, wrapped.AsSpan(NonceSize, dataKey.Length), wrapped.AsSpan(NonceSize + dataKey.Length), Aad("oe-org-key-v1", organizationId));
            return wrapped;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    public SegmentCipher CipherFor(string organizationId, byte[] wrappedKey)
    {
        var dataKey = new byte[wrappedKey.Length - NonceSize - TagSize];
        using var aes = new AesGcm(keys.MasterKey, TagSize);
        aes.Decrypt(wrappedKey.AsSpan(0, NonceSize), wrappedKey.AsSpan(NonceSize, dataKey.Length),
            wrappedKey.AsSpan(NonceSize + dataKey.Length), dataKey, Aad("oe-org-key-v1", organizationId));
        return new SegmentCipher(dataKey);
    }

    private static byte[] Aad(string label, string id) => Encoding.UTF8.GetBytes(label + "|" + id);

    /// <summary>Seals and opens the segments of one organization. Dispose to clear the key from memory.</summary>
    public sealed class SegmentCipher(byte[] dataKey) : IDisposable
    {
        private readonly AesGcm _aes = new(dataKey, TagSize);

        public (byte[] Nonce, byte[] Data) Seal(string versionId, long seq, ReadOnlySpan<byte> plaintext) =>
            Seal(plaintext, SegmentAad(versionId, seq));

        public byte[] Open(string versionId, long seq, byte[] nonce, byte[] data) => Open(nonce, data, SegmentAad(versionId, seq));

        /// <summary>
        /// Seals a value of the organization that is not a segment (a webhook signing secret, a pull secret, a set of
        /// its own record ids). The associated data is <paramref name="label"/> and the id of the row that holds the
        /// value, so a sealed value cannot be moved to another row or read as another kind of value; labels are
        /// never "oe-segment-v1", which segments use.
        /// </summary>
        public (byte[] Nonce, byte[] Data) SealValue(string label, string id, ReadOnlySpan<byte> plaintext) => Seal(plaintext, Aad(label, id));

        public byte[] OpenValue(string label, string id, byte[] nonce, byte[] data) => Open(nonce, data, Aad(label, id));

        private (byte[] Nonce, byte[] Data) Seal(ReadOnlySpan<byte> plaintext, byte[] associatedData)
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var data = new byte[plaintext.Length + TagSize];
            _aes.Encrypt(nonce, plaintext, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), associatedData);
            return (nonce, data);
        }

        private byte[] Open(byte[] nonce, byte[] data, byte[] associatedData)
        {
            var plaintext = new byte[data.Length - TagSize];
            _aes.Decrypt(nonce, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), plaintext, associatedData);
            return plaintext;
        }

        private static byte[] SegmentAad(string versionId, long seq)
        {
            var prefix = Encoding.UTF8.GetBytes("oe-segment-v1|" + versionId + "|");
            var aad = new byte[prefix.Length + 8];
            prefix.CopyTo(aad, 0);
            BinaryPrimitives.WriteInt64BigEndian(aad.AsSpan(prefix.Length), seq);
            return aad;
        }

        public void Dispose()
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }
}
