namespace OverlapEscrow.Application.Keys;

/// <summary>
/// A value sealed with an organization's data key (AES-256-GCM): its nonce, the ciphertext with its tag, and the
/// version of the data key it was sealed with, so that a rotated or shredded key can be found for every value.
/// </summary>
public sealed record SealedValue(byte[] Nonce, byte[] Ciphertext, int KeyVersion);

/// <summary>
/// A value sealed into a buffer of the caller's (<see cref="IOrganizationCipher.SealSegment(string, long, ReadOnlySpan{byte}, byte[])"/>):
/// the same nonce, ciphertext with its tag and key version as a <see cref="SealedValue"/>, the ciphertext a slice of that
/// buffer, valid until the caller reuses it. For the large values an upload writes (segments, column parts), so that each
/// is not a fresh large-object array.
/// </summary>
public readonly record struct SealedMemory(byte[] Nonce, ReadOnlyMemory<byte> Ciphertext, int KeyVersion)
{
    public static implicit operator SealedMemory(SealedValue value) => new(value.Nonce, value.Ciphertext, value.KeyVersion);
}

/// <summary>An organization's data key as the database stored it before the keyring moved out of it: wrapped by the escrow's master key of <see cref="MasterKeyVersion"/>.</summary>
public sealed record WrappedKey(byte[] Data, int MasterKeyVersion, int DataKeyVersion);

/// <summary>
/// The one way to an organization's data key. Every seal and open of an organization's data — record segments,
/// history record ids, webhook and pull secrets, data-request and attribution texts — goes through a cipher from here, and every sealed value carries
/// the key version it was sealed with. The keys themselves live in the keyring, outside the database
/// (<see cref="KeyringStore"/>); rotation and crypto-shredding act there and nowhere else.
/// </summary>
public interface IKeyring
{
    /// <summary>
    /// Makes the data key (version 1) of a new organization in the keyring, before the organization's row is committed;
    /// returns its key id. <see cref="DiscardNewOrganizationKey"/> undoes it when the organization is not created.
    /// </summary>
    string CreateOrganizationKey(string organizationId);

    /// <summary>Removes the key of an organization whose creation did not commit (its slug or email was taken).</summary>
    void DiscardNewOrganizationKey(string organizationId);

    /// <summary>
    /// The organization's cipher: it seals with the current data key and opens values of every key version the
    /// keyring still holds. Fails with <see cref="OrganizationGoneException"/> once the organization was erased.
    /// </summary>
    Task<IOrganizationCipher> ForOrganizationAsync(string organizationId, CancellationToken ct);
}

/// <summary>Seals and opens one organization's values. Dispose to clear its keys from memory.</summary>
public interface IOrganizationCipher : IDisposable
{
    string OrganizationId { get; }

    /// <summary>The data key version new values are sealed with.</summary>
    int CurrentKeyVersion { get; }

    /// <summary>Seals a segment of a population version; bound to the version and its position, so segments cannot be swapped or reordered.</summary>
    SealedValue SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext);

    /// <summary>What sealing adds to a plaintext's length (the AES-GCM tag): a destination of a seal into a buffer needs this much more.</summary>
    const int Overhead = 16;

    /// <summary>
    /// <see cref="SealSegment(string, long, ReadOnlySpan{byte})"/> into <paramref name="destination"/> (at least
    /// <see cref="Overhead"/> bytes longer than the plaintext) instead of a new array: the same bytes for the same nonce.
    /// </summary>
    SealedMemory SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext, byte[] destination);

    byte[] OpenSegment(string versionId, long seq, SealedValue sealedValue);

    /// <summary>
    /// Seals a value that is not a segment (a webhook signing secret, a pull secret, a set of the organization's own
    /// record ids), bound to <paramref name="label"/> and the id of the row that holds it: it cannot be moved to
    /// another row nor read as another kind of value.
    /// </summary>
    SealedValue Seal(string label, string id, ReadOnlySpan<byte> plaintext);

    /// <summary><see cref="Seal(string, string, ReadOnlySpan{byte})"/> into <paramref name="destination"/> (at least <see cref="Overhead"/> bytes longer than the plaintext).</summary>
    SealedMemory Seal(string label, string id, ReadOnlySpan<byte> plaintext, byte[] destination);

    byte[] Open(string label, string id, SealedValue sealedValue);

    /// <summary>
    /// Opens a value sealed by <see cref="Seal"/> into <paramref name="destination"/> (at least as long as the ciphertext
    /// less its 16-byte tag) instead of a new array; returns the plaintext's length. For large values read often, into a
    /// pooled buffer.
    /// </summary>
    int Open(string label, string id, SealedValue sealedValue, Span<byte> destination);

    /// <summary>
    /// Opens a value sealed by <see cref="Seal"/> from its pieces as read (nonce, ciphertext with its tag, key version)
    /// into <paramref name="destination"/>; returns the plaintext's length. For large values read straight from the
    /// database into a reused buffer, never held as a <see cref="SealedValue"/>.
    /// </summary>
    int Open(string label, string id, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, int keyVersion, Span<byte> destination);
}
