using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// Per-organization data keys and everything sealed with them.
/// </summary>
/// <remarks>
/// Each organization has a random 256-bit data key, stored only wrapped: AES-256-GCM under the master key
/// (NIST SP 800-38D), with the organization id as associated data so a wrapped key cannot be moved to another
/// organization. Segments are sealed with AES-256-GCM under the data key, a random 96-bit nonce per segment
/// (at most 2^32 segments per key keeps the nonce-collision bound of SP 800-38D §8.3), and the version id and
/// segment number as associated data, so segments cannot be swapped between versions or reordered. Other values
/// are sealed with a label naming their kind and the id of the row that holds them as associated data.
/// Every wrapped key carries the master key version that wrapped it, and every sealed value the data key version
/// that sealed it: today both are 1, and a value of another version is refused rather than misread.
/// </remarks>
public sealed class Keyring(EscrowSecrets secrets, IAccountRepository accounts) : IKeyring
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int DataKeyVersion = 1;

    public WrappedKey NewOrganizationKey(string organizationId)
    {
        var dataKey = RandomNumberGenerator.GetBytes(32);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var wrapped = new byte[NonceSize + dataKey.Length + TagSize];
            nonce.CopyTo(wrapped, 0);
            using var aes = new AesGcm(secrets.MasterKey, TagSize);
            aes.Encrypt(nonce, dataKey, wrapped.AsSpan(NonceSize, dataKey.Length), wrapped.AsSpan(NonceSize + dataKey.Length), Aad("oe-org-key-v1", organizationId));
            return new WrappedKey(wrapped, EscrowSecrets.MasterKeyVersion, DataKeyVersion);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    public async Task<IOrganizationCipher> ForOrganizationAsync(string organizationId, CancellationToken ct)
    {
        var wrapped = await accounts.GetWrappedKeyAsync(organizationId, ct)
            ?? throw new OrganizationGoneException();
        return Unwrap(organizationId, wrapped);
    }

    /// <summary>The cipher of a wrapped key already at hand (tests, and the organization's creation).</summary>
    public IOrganizationCipher Unwrap(string organizationId, WrappedKey wrapped)
    {
        if (wrapped.MasterKeyVersion != EscrowSecrets.MasterKeyVersion)
            throw new CryptographicException("The organization's key is wrapped by a master key this escrow does not hold.");
        var dataKey = new byte[wrapped.Data.Length - NonceSize - TagSize];
        using var aes = new AesGcm(secrets.MasterKey, TagSize);
        aes.Decrypt(wrapped.Data.AsSpan(0, NonceSize), wrapped.Data.AsSpan(NonceSize, dataKey.Length),
            wrapped.Data.AsSpan(NonceSize + dataKey.Length), dataKey, Aad("oe-org-key-v1", organizationId));
        return new OrganizationCipher(organizationId, dataKey, wrapped.DataKeyVersion);
    }

    private static byte[] Aad(string label, string id) => Encoding.UTF8.GetBytes(label + "|" + id);

    private sealed class OrganizationCipher(string organizationId, byte[] dataKey, int keyVersion) : IOrganizationCipher
    {
        private readonly AesGcm _aes = new(dataKey, TagSize);

        public string OrganizationId => organizationId;

        public SealedValue SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext) => Seal(plaintext, SegmentAad(versionId, seq));

        public byte[] OpenSegment(string versionId, long seq, SealedValue sealedValue) => Open(sealedValue, SegmentAad(versionId, seq));

        public SealedValue Seal(string label, string id, ReadOnlySpan<byte> plaintext) => Seal(plaintext, Aad(label, id));

        public byte[] Open(string label, string id, SealedValue sealedValue) => Open(sealedValue, Aad(label, id));

        private SealedValue Seal(ReadOnlySpan<byte> plaintext, byte[] associatedData)
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var data = new byte[plaintext.Length + TagSize];
            _aes.Encrypt(nonce, plaintext, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), associatedData);
            return new SealedValue(nonce, data, keyVersion);
        }

        private byte[] Open(SealedValue sealedValue, byte[] associatedData)
        {
            if (sealedValue.KeyVersion != keyVersion)
                throw new CryptographicException("The value was sealed with another version of the organization's key.");
            var data = sealedValue.Ciphertext;
            var plaintext = new byte[data.Length - TagSize];
            _aes.Decrypt(sealedValue.Nonce, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), plaintext, associatedData);
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

/// <summary>The organization (and so its key) no longer exists.</summary>
public sealed class OrganizationGoneException() : Exception("The organization no longer exists.");
