namespace OverlapEscrow.Application.Keys;

/// <summary>
/// A value sealed with an organization's data key (AES-256-GCM): its nonce, the ciphertext with its tag, and the
/// version of the data key it was sealed with, so that a rotated or shredded key can be found for every value.
/// </summary>
public sealed record SealedValue(byte[] Nonce, byte[] Ciphertext, int KeyVersion);

/// <summary>An organization's data key as stored: wrapped by the escrow's master key of <see cref="MasterKeyVersion"/>.</summary>
public sealed record WrappedKey(byte[] Data, int MasterKeyVersion, int DataKeyVersion);

/// <summary>
/// The one way to an organization's data key. Every seal and open of an organization's data — record segments,
/// history record ids, webhook and pull secrets — goes through a cipher from here, and every sealed value carries
/// the key version it was sealed with. Rotation and crypto-shredding plug in here and nowhere else.
/// </summary>
public interface IKeyring
{
    /// <summary>A new random data key for a new organization, wrapped under the current master key.</summary>
    WrappedKey NewOrganizationKey(string organizationId);

    /// <summary>The organization's cipher; fails when the organization (or its key) no longer exists.</summary>
    Task<IOrganizationCipher> ForOrganizationAsync(string organizationId, CancellationToken ct);
}

/// <summary>Seals and opens one organization's values. Dispose to clear its key from memory.</summary>
public interface IOrganizationCipher : IDisposable
{
    string OrganizationId { get; }

    /// <summary>Seals a segment of a population version; bound to the version and its position, so segments cannot be swapped or reordered.</summary>
    SealedValue SealSegment(string versionId, long seq, ReadOnlySpan<byte> plaintext);

    byte[] OpenSegment(string versionId, long seq, SealedValue sealedValue);

    /// <summary>
    /// Seals a value that is not a segment (a webhook signing secret, a pull secret, a set of the organization's own
    /// record ids), bound to <paramref name="label"/> and the id of the row that holds it: it cannot be moved to
    /// another row nor read as another kind of value.
    /// </summary>
    SealedValue Seal(string label, string id, ReadOnlySpan<byte> plaintext);

    byte[] Open(string label, string id, SealedValue sealedValue);
}
