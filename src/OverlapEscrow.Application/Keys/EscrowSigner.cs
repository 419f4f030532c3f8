using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace OverlapEscrow.Application.Keys;

/// <summary>A statement the escrow signed: the exact UTF-8 text that was signed, the Ed25519 signature (base64) and the signing key's id.</summary>
public sealed record SignedStatement(string Statement, string Signature, string KeyId);

/// <summary>
/// The escrow's signing key for what others must be able to check without trusting the escrow's database: audit
/// checkpoints and deletion receipts. Ed25519 (RFC 8032) through BouncyCastle; the 32-byte private key is kept in
/// <c>audit-signing.key</c> in the secrets directory, never in the database, and the public key is published at
/// <c>/.well-known/overlap-escrow-keys.json</c> (a JWK Set, RFC 7517, of OKP keys, RFC 8037).
/// </summary>
/// <remarks>
/// The escrow signs the statement's exact bytes and hands back the statement as a string, so a verifier needs no
/// canonical JSON: it checks the signature over the bytes it received and only then reads them. OpenSSL 3 verifies
/// such a signature on its own (<c>openssl pkeyutl -verify -rawin</c>, see docs/operations.md).
/// </remarks>
public sealed class EscrowSigner
{
    public const string FileName = "audit-signing.key";

    private readonly Ed25519PrivateKeyParameters _key;

    public EscrowSigner(EscrowSecrets secrets)
    {
        var path = Path.Combine(secrets.Directory, FileName);
        if (!File.Exists(path))
        {
            var seed = RandomNumberGenerator.GetBytes(Ed25519PrivateKeyParameters.KeySize);
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(seed));
            try
            {
                // Whole or not at all; false when another instance made it first: then theirs is used.
                SecureFiles.WriteNew(path, text);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(seed);
                CryptographicOperations.ZeroMemory(text);
            }
        }
        var bytes = Convert.FromBase64String(File.ReadAllText(path).Trim());
        if (bytes.Length != Ed25519PrivateKeyParameters.KeySize) throw new InvalidOperationException($"The key file '{FileName}' is not a 32-byte Ed25519 key.");
        _key = new Ed25519PrivateKeyParameters(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        PublicKey = _key.GeneratePublicKey().GetEncoded();
        KeyId = "oe-ed25519-" + Convert.ToHexStringLower(SHA256.HashData(PublicKey))[..16];
    }

    /// <summary>The raw 32-byte Ed25519 public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The key's id: derived from the public key, so it names this key and no other.</summary>
    public string KeyId { get; }

    /// <summary>The public key as PEM (SubjectPublicKeyInfo, RFC 8410), for OpenSSL.</summary>
    public string PublicKeyPem => "-----BEGIN PUBLIC KEY-----\n" + Convert.ToBase64String([.. SpkiPrefix, .. PublicKey]) + "\n-----END PUBLIC KEY-----\n";

    public SignedStatement Sign(string statement)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        var bytes = Encoding.UTF8.GetBytes(statement);
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return new SignedStatement(statement, Convert.ToBase64String(signer.GenerateSignature()), KeyId);
    }

    /// <summary>Whether <paramref name="signature"/> (base64) is this escrow's signature over exactly <paramref name="statement"/>.</summary>
    public bool Verify(string statement, string signature) => Verify(PublicKey, statement, signature);

    public static bool Verify(byte[] publicKey, string statement, string signature)
    {
        byte[] sig;
        try { sig = Convert.FromBase64String(signature); }
        catch (FormatException) { return false; }
        if (sig.Length != Ed25519.SignatureSize || publicKey.Length != Ed25519PublicKeyParameters.KeySize) return false;
        var verifier = new Ed25519Signer();
        verifier.Init(false, new Ed25519PublicKeyParameters(publicKey));
        var bytes = Encoding.UTF8.GetBytes(statement);
        verifier.BlockUpdate(bytes, 0, bytes.Length);
        return verifier.VerifySignature(sig);
    }

    /// <summary>DER of SubjectPublicKeyInfo with the id-Ed25519 algorithm (1.3.101.112), before the 32 key bytes (RFC 8410 §4).</summary>
    private static readonly byte[] SpkiPrefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

    private static class Ed25519
    {
        public const int SignatureSize = 64;
    }
}
