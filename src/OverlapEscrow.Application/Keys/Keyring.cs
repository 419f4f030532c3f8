using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// Per-organization data keys and everything sealed with them.
/// </summary>
/// <remarks>
/// Each organization has a random 256-bit data key, stored only wrapped, in the keyring outside the database
/// (<see cref="KeyringStore"/>): AES-256-GCM under the master key (NIST SP 800-38D), with the organization id as
/// associated data so a wrapped key cannot be moved to another organization. Segments are sealed with AES-256-GCM
/// under the data key, a random 96-bit nonce per segment (at most 2^32 segments per key keeps the nonce-collision
/// bound of SP 800-38D §8.3), and the version id and segment number as associated data, so segments cannot be
/// swapped between versions or reordered. Other values are sealed with a label naming their kind and the id of the
/// row that holds it as associated data. Every stored key carries the master key version that wrapped it, and every
/// sealed value the data key version that sealed it; a value of a version the keyring no longer holds is refused
/// rather than misread.
/// </remarks>
public sealed class Keyring(EscrowSecrets secrets, KeyringStore store, TimeProvider time) : IKeyring
{
    private const int NonceSize = 12;
    private const int TagSize = IOrganizationCipher.Overhead;

    public KeyringStore Store => store;

    public string CreateOrganizationKey(string organizationId)
    {
        var key = NewDataKey(organizationId, 1);
        if (!store.TryCreate(new OrganizationKeySet(organizationId, 1, [key])))
            throw new InvalidOperationException("The organization already has keys in the keyring.");
        return key.KeyId;
    }

    public void DiscardNewOrganizationKey(string organizationId)
    {
        // Only ever called for an id that was never committed: nothing was sealed with the key.
        var keys = store.Read(organizationId);
        if (keys is { Keys.Count: 1, CurrentVersion: 1 }) store.Discard(organizationId);
    }

    public Task<IOrganizationCipher> ForOrganizationAsync(string organizationId, CancellationToken ct)
    {
        var keys = store.Read(organizationId);
        if (keys is null)
        {
            if (store.ReadErasure(organizationId) is not null) throw new OrganizationGoneException();
            throw new MissingKeyException(organizationId);
        }
        return Task.FromResult<IOrganizationCipher>(Open(keys));
    }

    /// <summary>The cipher of a key set at hand.</summary>
    public IOrganizationCipher Open(OrganizationKeySet keys)
    {
        var opened = new Dictionary<int, byte[]>();
        try
        {
            foreach (var key in keys.Keys) opened[key.Version] = Unwrap(keys.OrganizationId, key);
            return new OrganizationCipher(keys.OrganizationId, opened, keys.CurrentVersion);
        }
        catch
        {
            foreach (var k in opened.Values) CryptographicOperations.ZeroMemory(k);
            throw;
        }
    }

    /// <summary>
    /// Starts a rotation of an organization's data key: a new random version becomes current, so every value sealed
    /// from now on uses it, while older versions still open. When a rotation is already under way (older versions are
    /// still held), it is resumed rather than started again. Returns the key set as stored.
    /// </summary>
    public OrganizationKeySet StartDataKeyRotation(string organizationId) =>
        store.Update(organizationId, keys =>
        {
            if (keys.Keys.Count > 1) return null; // an interrupted rotation: finish that one first
            var next = keys.Keys.Max(k => k.Version) + 1;
            return keys with { CurrentVersion = next, Keys = [.. keys.Keys, NewDataKey(organizationId, next)] };
        }) ?? throw new MissingKeyException(organizationId);

    /// <summary>Destroys every data key version of the organization but the current one (the end of a rotation); returns the ids of the keys destroyed.</summary>
    public IReadOnlyList<string> DestroyOldDataKeys(string organizationId)
    {
        var destroyed = new List<string>();
        store.Update(organizationId, keys =>
        {
            destroyed.AddRange(keys.Keys.Where(k => k.Version != keys.CurrentVersion).Select(k => k.KeyId));
            return destroyed.Count == 0 ? null : keys with { Keys = [keys.Current] };
        });
        return destroyed;
    }

    /// <summary>
    /// Wraps every data key of the organization again under the newest master key (a master-key rotation); keys already
    /// wrapped by it are left alone. Returns how many keys were re-wrapped.
    /// </summary>
    public int RewrapUnderCurrentMasterKey(string organizationId)
    {
        var master = secrets.Current(SecretKind.Master);
        var count = 0;
        store.Update(organizationId, keys =>
        {
            var stale = keys.Keys.Where(k => k.MasterKeyVersion != master.Version).ToList();
            if (stale.Count == 0) return null;
            var rewrapped = keys.Keys.Select(k =>
            {
                if (k.MasterKeyVersion == master.Version) return k;
                var plain = Unwrap(organizationId, k);
                try { return k with { MasterKeyVersion = master.Version, Wrapped = Wrap(organizationId, plain, master.Key) }; }
                finally { CryptographicOperations.ZeroMemory(plain); }
            }).ToList();
            count = stale.Count;
            return keys with { Keys = rewrapped };
        });
        return count;
    }

    /// <summary>
    /// Takes over a data key the database held before the keyring moved out of it: stored as it is (same wrapping, same
    /// versions). Idempotent: true when the keyring holds exactly this key afterwards, false when the organization was
    /// erased (its key must not come back).
    /// </summary>
    public bool ImportLegacyKey(string organizationId, WrappedKey legacy, DateTimeOffset createdAt)
    {
        if (store.ReadErasure(organizationId) is not null) return false;
        var key = new DataKey(legacy.DataKeyVersion, legacy.MasterKeyVersion, legacy.Data, createdAt);
        if (store.TryCreate(new OrganizationKeySet(organizationId, legacy.DataKeyVersion, [key]))) return true;
        var existing = store.Read(organizationId);
        if (existing is null) return false; // erased meanwhile
        // Written by an earlier, interrupted start (or another instance): the same key must be there already, or a
        // rotation that started from it must hold it or have finished with it.
        return existing.Keys.Any(k => k.Version == legacy.DataKeyVersion) || existing.CurrentVersion > legacy.DataKeyVersion;
    }

    private DataKey NewDataKey(string organizationId, int version)
    {
        // The newest master key on disk now, not as last read (up to RescanInterval ago): a master rotation on another
        // instance must not leave a new data key wrapped under the version about to be retired. New data keys are rare.
        secrets.Rescan();
        var master = secrets.Current(SecretKind.Master);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        try
        {
            return new DataKey(version, master.Version, Wrap(organizationId, dataKey, master.Key), time.GetUtcNow());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static byte[] Wrap(string organizationId, byte[] dataKey, byte[] masterKey)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceSize);
        var wrapped = new byte[NonceSize + dataKey.Length + TagSize];
        nonce.CopyTo(wrapped, 0);
        using var aes = new AesGcm(masterKey, TagSize);
        aes.Encrypt(nonce, dataKey, wrapped.AsSpan(NonceSize, dataKey.Length), wrapped.AsSpan(NonceSize + dataKey.Length), Aad("oe-org-key-v1", organizationId));
        return wrapped;
    }

    private byte[] Unwrap(string organizationId, DataKey key)
    {
        var master = secrets.Find(SecretKind.Master, key.MasterKeyVersion)
            ?? throw new CryptographicException($"The organization's key is wrapped by master key version {key.MasterKeyVersion}, which this escrow no longer holds.");
        var wrapped = key.Wrapped;
        var dataKey = new byte[wrapped.Length - NonceSize - TagSize];
        using var aes = new AesGcm(master.Key, TagSize);
        aes.Decrypt(wrapped.AsSpan(0, NonceSize), wrapped.AsSpan(NonceSize, dataKey.Length),
            wrapped.AsSpan(NonceSize + dataKey.Length), dataKey, Aad("oe-org-key-v1", organizationId));
        return dataKey;
    }

    private static byte[] Aad(string label, string id) => Encoding.UTF8.GetBytes(label + "|" + id);

    private sealed class OrganizationCipher : IOrganizationCipher
    {
        private readonly Dictionary<int, byte[]> _keys;
        private readonly Dictionary<int, AesGcm> _aes;

        public OrganizationCipher(string organizationId, Dictionary<int, byte[]> keys, int currentVersion)
        {
            OrganizationId = organizationId;
            _keys = keys;
            CurrentKeyVersion = currentVersion;
            _aes = keys.ToDictionary(k => k.Key, k => new AesGcm(k.Value, TagSize));
        }

        public string OrganizationId { get; }

        public int CurrentKeyVersion { get; }

        public SealedValue SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext) => Seal(plaintext, SegmentAad(versionId, seq));

        public SealedMemory SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext, byte[] destination) =>
            Seal(plaintext, SegmentAad(versionId, seq), destination);

        public byte[] OpenSegment(string versionId, long seq, SealedValue sealedValue) => Open(sealedValue, SegmentAad(versionId, seq));

        public SealedValue Seal(string label, string id, ReadOnlySpan<byte> plaintext) => Seal(plaintext, Aad(label, id));

        public SealedMemory Seal(string label, string id, ReadOnlySpan<byte> plaintext, byte[] destination) => Seal(plaintext, Aad(label, id), destination);

        public byte[] Open(string label, string id, SealedValue sealedValue) => Open(sealedValue, Aad(label, id));

        public int Open(string label, string id, SealedValue sealedValue, Span<byte> destination)
        {
            var length = sealedValue.Ciphertext.Length - TagSize;
            Open(sealedValue, Aad(label, id), destination[..length]);
            return length;
        }

        public int Open(string label, string id, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, int keyVersion, Span<byte> destination)
        {
            var length = ciphertext.Length - TagSize;
            Open(nonce, ciphertext, keyVersion, Aad(label, id), destination[..length]);
            return length;
        }

        private SealedValue Seal(ReadOnlySpan<byte> plaintext, byte[] associatedData)
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var data = new byte[plaintext.Length + TagSize];
            _aes[CurrentKeyVersion].Encrypt(nonce, plaintext, data.AsSpan(0, plaintext.Length), data.AsSpan(plaintext.Length), associatedData);
            return new SealedValue(nonce, data, CurrentKeyVersion);
        }

        private SealedMemory Seal(ReadOnlySpan<byte> plaintext, byte[] associatedData, byte[] destination)
        {
            var data = destination.AsMemory(0, plaintext.Length + TagSize);
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            _aes[CurrentKeyVersion].Encrypt(nonce, plaintext, data.Span[..plaintext.Length], data.Span[plaintext.Length..], associatedData);
            return new SealedMemory(nonce, data, CurrentKeyVersion);
        }

        private byte[] Open(SealedValue sealedValue, byte[] associatedData)
        {
            var plaintext = new byte[sealedValue.Ciphertext.Length - TagSize];
            Open(sealedValue, associatedData, plaintext);
            return plaintext;
        }

        private void Open(SealedValue sealedValue, byte[] associatedData, Span<byte> plaintext) =>
            Open(sealedValue.Nonce, sealedValue.Ciphertext, sealedValue.KeyVersion, associatedData, plaintext);

        private void Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> data, int keyVersion, byte[] associatedData, Span<byte> plaintext)
        {
            if (!_aes.TryGetValue(keyVersion, out var aes))
                throw new CryptographicException($"The value was sealed with data key version {keyVersion}, which the keyring no longer holds.");
            aes.Decrypt(nonce, data[..plaintext.Length], data[plaintext.Length..], plaintext, associatedData);
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
            foreach (var aes in _aes.Values) aes.Dispose();
            foreach (var key in _keys.Values) CryptographicOperations.ZeroMemory(key);
        }
    }
}

/// <summary>The organization was erased: its keys, and so its data, are gone.</summary>
public sealed class OrganizationGoneException() : Exception("The organization no longer exists.");

/// <summary>The keyring holds no key for an organization that was not erased: a wrong Escrow:KeyringDirectory, or a lost keyring.</summary>
public sealed class MissingKeyException(string organizationId)
    : CryptographicException($"The keyring holds no key for organization {organizationId}; check Escrow:KeyringDirectory.");
