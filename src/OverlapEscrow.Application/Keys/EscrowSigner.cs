using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace OverlapEscrow.Application.Keys;

/// <summary>A statement the escrow signed: the exact UTF-8 text that was signed, the Ed25519 signature (base64) and the signing key's id.</summary>
public sealed record SignedStatement(string Statement, string Signature, string KeyId);

/// <summary>One audit signing key's public half as published: its version, id, raw 32-byte key, and whether it signs now or was retired.</summary>
public sealed record PublishedSigningKey(int Version, string KeyId, byte[] PublicKey, bool Current, bool Retired)
{
    /// <summary>The public key as PEM (SubjectPublicKeyInfo, RFC 8410), for OpenSSL.</summary>
    public string PublicKeyPem => "-----BEGIN PUBLIC KEY-----\n" + Convert.ToBase64String([.. EscrowSigner.SpkiPrefix, .. PublicKey]) + "\n-----END PUBLIC KEY-----\n";
}

/// <summary>
/// The escrow's signing keys for what others must be able to check without trusting the escrow's database: audit
/// checkpoints and deletion receipts. Ed25519 (RFC 8032) through BouncyCastle; each version's 32-byte seed is kept in the
/// secrets directory (<c>audit-signing.key</c>, then <c>audit-signing.v2.key</c> …, <see cref="SecretKind.AuditSigning"/>),
/// never in the database. The newest version signs; the public keys of every version are published at
/// <c>/.well-known/overlap-escrow-keys.json</c> (a JWK Set, RFC 7517, of OKP keys, RFC 8037), those of retired versions
/// too: retiring a version destroys its seed but first writes its public key beside the seeds
/// (<c>audit-signing.v1.pub</c>), so the checkpoints and receipts it signed still verify.
/// </summary>
/// <remarks>
/// The escrow signs the statement's exact bytes and hands back the statement as a string, so a verifier needs no
/// canonical JSON: it checks the signature over the bytes it received and only then reads them. OpenSSL 3 verifies
/// such a signature on its own (<c>openssl pkeyutl -verify -rawin</c>, see docs/operations.md).
/// </remarks>
public sealed class EscrowSigner(EscrowSecrets secrets)
{
    /// <summary>The first version's seed file (created at first start when no version exists, like every kind of key).</summary>
    public static readonly string FileName = EscrowSecrets.FileName(SecretKind.AuditSigning, 1);

    private readonly object _gate = new();
    private Known? _known;

    /// <summary>The id of the key that signs now.</summary>
    public string KeyId => Current.KeyId;

    /// <summary>The raw 32-byte Ed25519 public key of the key that signs now.</summary>
    public byte[] PublicKey => Current.PublicKey;

    /// <summary>Every public key a statement of this escrow may have been signed with: the versions present, then the retired ones.</summary>
    public IReadOnlyList<PublishedSigningKey> PublishedKeys => Keys().Published;

    private PublishedSigningKey Current => Keys().Current;

    /// <summary>Signs the statement <paramref name="statementFor"/> writes for the id of the key that signs it (statements name their key).</summary>
    public SignedStatement Sign(Func<string, string> statementFor)
    {
        var known = Keys();
        var keyId = known.Current.KeyId;
        var statement = statementFor(keyId);
        var signer = new Ed25519Signer();
        signer.Init(true, known.Signing);
        var bytes = Encoding.UTF8.GetBytes(statement);
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return new SignedStatement(statement, Convert.ToBase64String(signer.GenerateSignature()), keyId);
    }

    /// <summary>Whether <paramref name="signed"/> carries a valid signature of one of this escrow's keys (named by its key id) over exactly its statement.</summary>
    public bool Verify(SignedStatement signed)
    {
        var key = Keys().Published.FirstOrDefault(k => k.KeyId == signed.KeyId);
        if (key is null)
        {
            // A key another instance rotated to may be newer than this one's last reading of the files: read them again.
            secrets.Rescan();
            key = Keys().Published.FirstOrDefault(k => k.KeyId == signed.KeyId);
        }
        return key is not null && Verify(key.PublicKey, signed.Statement, signed.Signature);
    }

    public static bool Verify(byte[] publicKey, string statement, string signature)
    {
        byte[] sig;
        try { sig = Convert.FromBase64String(signature); }
        catch (FormatException) { return false; }
        if (sig.Length != SignatureSize || publicKey.Length != Ed25519PublicKeyParameters.KeySize) return false;
        var verifier = new Ed25519Signer();
        verifier.Init(false, new Ed25519PublicKeyParameters(publicKey));
        var bytes = Encoding.UTF8.GetBytes(statement);
        verifier.BlockUpdate(bytes, 0, bytes.Length);
        return verifier.VerifySignature(sig);
    }

    /// <summary>
    /// Writes the public key of a version present to its <c>.pub</c> file (before the version's seed is destroyed), so it
    /// stays published; nothing when the file is there already.
    /// </summary>
    public void KeepPublicKey(int version)
    {
        var key = Keys().Published.FirstOrDefault(k => k.Version == version && !k.Retired)
            ?? throw new InvalidOperationException($"No audit signing key version {version} is present.");
        SecureFiles.WriteNew(PublicFile(version), Encoding.ASCII.GetBytes(Convert.ToBase64String(key.PublicKey)));
        lock (_gate) _known = null;
    }

    /// <summary>
    /// The keys as the secrets directory holds them now: derived again when the versions present changed (the secrets
    /// re-read their files at most every <see cref="EscrowSecrets.RescanInterval"/>), with the retired public keys read
    /// at the same time.
    /// </summary>
    private Known Keys()
    {
        var versions = secrets.Versions(SecretKind.AuditSigning);
        var known = _known;
        if (known is not null && ReferenceEquals(known.Versions, versions)) return known;
        lock (_gate)
        {
            if (_known is not null && ReferenceEquals(_known.Versions, versions)) return _known;
            var published = new List<PublishedSigningKey>();
            Ed25519PrivateKeyParameters? signing = null;
            foreach (var version in versions)
            {
                if (version.Key.Length != Ed25519PrivateKeyParameters.KeySize)
                    throw new InvalidOperationException($"The key file '{EscrowSecrets.FileName(SecretKind.AuditSigning, version.Version)}' is not a 32-byte Ed25519 key.");
                var key = new Ed25519PrivateKeyParameters(version.Key);
                var current = version == versions[^1];
                if (current) signing = key;
                published.Add(Publish(version.Version, key.GeneratePublicKey().GetEncoded(), current, retired: false));
            }
            var present = versions.Select(v => v.Version).ToHashSet();
            foreach (var (version, publicKey) in RetiredPublicKeys().Where(r => !present.Contains(r.Version)))
                published.Add(Publish(version, publicKey, current: false, retired: true));
            return _known = new Known(versions, signing!, published);
        }
    }

    private IEnumerable<(int Version, byte[] PublicKey)> RetiredPublicKeys()
    {
        foreach (var path in Directory.EnumerateFiles(secrets.Directory, "audit-signing.v*.pub").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(path);
            if (!int.TryParse(name["audit-signing.v".Length..^".pub".Length], System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var version)) continue;
            var publicKey = Convert.FromBase64String(File.ReadAllText(path).Trim());
            if (publicKey.Length != Ed25519PublicKeyParameters.KeySize) throw new InvalidOperationException($"The file '{name}' is not a 32-byte Ed25519 public key.");
            yield return (version, publicKey);
        }
    }

    private string PublicFile(int version) => Path.Combine(secrets.Directory, $"audit-signing.v{version}.pub");

    /// <summary>A key's id: derived from the public key, so it names this key and no other.</summary>
    private static PublishedSigningKey Publish(int version, byte[] publicKey, bool current, bool retired) =>
        new(version, "oe-ed25519-" + Convert.ToHexStringLower(SHA256.HashData(publicKey))[..16], publicKey, current, retired);

    /// <summary>DER of SubjectPublicKeyInfo with the id-Ed25519 algorithm (1.3.101.112), before the 32 key bytes (RFC 8410 §4).</summary>
    internal static readonly byte[] SpkiPrefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

    private const int SignatureSize = 64;

    /// <summary>The keys derived from one reading of the versions present (<see cref="Versions"/>, compared by reference).</summary>
    private sealed record Known(IReadOnlyList<VersionedKey> Versions, Ed25519PrivateKeyParameters Signing, IReadOnlyList<PublishedSigningKey> Published)
    {
        /// <summary>The public half of <see cref="Signing"/>.</summary>
        public PublishedSigningKey Current { get; } = Published.Single(k => k.Current);
    }
}
