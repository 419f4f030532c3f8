using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Application.Keys;

/// <summary>The escrow's own keys, each kind with versions that rotate independently.</summary>
public enum SecretKind
{
    /// <summary>Wraps each organization's data keys in the keyring. All versions present unwrap; the newest wraps.</summary>
    Master,

    /// <summary>Re-keys uploaded identifier hashes into tokens. Every version present keys each upload (a token-key change).</summary>
    Token,

    /// <summary>Signs access tokens (HS256). The newest signs; every version present validates, by its kid.</summary>
    AccessTokenSigning,

    /// <summary>
    /// Ed25519 seeds that sign audit checkpoints and deletion receipts (<see cref="EscrowSigner"/>). The newest signs; the
    /// public key of every version, retired ones included, stays published, so what they signed still verifies.
    /// </summary>
    AuditSigning,
}

/// <summary>One version of one of the escrow's keys, and when its file was written.</summary>
public sealed record VersionedKey(SecretKind Kind, int Version, byte[] Key, DateTimeOffset CreatedAt);

/// <summary>
/// The escrow's secrets, kept in files outside the database (created with owner-only permissions at first start):
/// the token key (re-keys identifier hashes), the master key (wraps each organization's data keys, which live in
/// the keyring, <see cref="KeyringDirectory"/>), the access-token signing key and the audit signing key. None of them is ever written to
/// the database or a log.
/// </summary>
/// <remarks>
/// Each kind has versions: <c>master.key</c> is version 1 and <c>master.v2.key</c>, <c>master.v3.key</c>… the
/// next ones (likewise <c>token</c>, <c>jwt-signing</c> and <c>audit-signing</c>). Rotation writes the next version beside the others
/// (<see cref="CreateNext"/>); retiring overwrites a version's file and deletes it (<see cref="Retire"/>). The
/// files are read again when a version is asked for that is not known yet and at most every
/// <see cref="RescanInterval"/>, so a rotation made by the operator's command line while the service runs reaches
/// the service without a restart. Version 1 is created at first start only when no version of its kind exists:
/// a retired key is never silently re-created under its old number.
/// </remarks>
public sealed partial class EscrowSecrets
{
    public static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(30);

    private static readonly IReadOnlyDictionary<SecretKind, string> BaseNames = new Dictionary<SecretKind, string>
    {
        [SecretKind.Master] = "master",
        [SecretKind.Token] = "token",
        [SecretKind.AccessTokenSigning] = "jwt-signing",
        [SecretKind.AuditSigning] = "audit-signing",
    };

    private readonly object _gate = new();
    private Snapshot _snapshot;

    public EscrowSecrets(string directory, string? keyringDirectory = null)
    {
        Directory = directory;
        KeyringDirectory = keyringDirectory ?? Path.Combine(directory, "keyring");
        CreatePrivateDirectory(Directory);
        foreach (var kind in BaseNames.Keys) CreateFirstVersionIfNone(kind);
        _snapshot = Scan();
    }

    public string Directory { get; }

    /// <summary>Where the organizations' wrapped data keys live (see <see cref="KeyringStore"/>).</summary>
    public string KeyringDirectory { get; }

    /// <summary>The first token key present; uploads are keyed under every one of <see cref="Versions"/>(Token).</summary>
    public byte[] TokenKey => Versions(SecretKind.Token)[0].Key;

    /// <summary>The key that signs new access tokens: the newest signing key.</summary>
    public VersionedKey CurrentSigningKey => Current(SecretKind.AccessTokenSigning);

    /// <summary>The versions of a kind present now, oldest first (at least one).</summary>
    public IReadOnlyList<VersionedKey> Versions(SecretKind kind)
    {
        var keys = Fresh().Keys[kind];
        return keys.Count > 0 ? keys : throw new InvalidOperationException($"No {BaseNames[kind]} key is present in the secrets directory.");
    }

    /// <summary>The newest version of a kind: it wraps (master) and signs (access tokens).</summary>
    public VersionedKey Current(SecretKind kind) => Versions(kind)[^1];

    /// <summary>A version of a kind, or null when it is not present (retired, or never made); a miss reads the files again.</summary>
    public VersionedKey? Find(SecretKind kind, int version)
    {
        var found = Fresh().Keys[kind].FirstOrDefault(k => k.Version == version);
        if (found is not null) return found;
        Rescan();
        return _snapshot.Keys[kind].FirstOrDefault(k => k.Version == version);
    }

    /// <summary>Writes the next version of a kind (one more than the newest present) and returns it.</summary>
    public VersionedKey CreateNext(SecretKind kind)
    {
        var next = Scan().Keys[kind].Select(k => k.Version).DefaultIfEmpty(0).Max() + 1;
        if (!WriteNew(FileName(kind, next))) throw new IOException($"The {BaseNames[kind]} key version {next} already exists.");
        Rescan();
        return Find(kind, next)!;
    }

    /// <summary>
    /// Destroys one version: its file is overwritten with zeros, flushed and deleted. Refuses to destroy the last
    /// version of a kind. Whether anything still needs the version is the caller's check.
    /// </summary>
    public void Retire(SecretKind kind, int version)
    {
        var present = Scan().Keys[kind];
        if (present.All(k => k.Version != version)) throw new InvalidOperationException($"No {BaseNames[kind]} key version {version} is present.");
        if (present.Count == 1) throw new InvalidOperationException($"Version {version} is the only {BaseNames[kind]} key; create the next one first.");
        SecureFiles.Destroy(Path.Combine(Directory, FileName(kind, version)));
        Rescan();
    }

    /// <summary>Reads the key files again now.</summary>
    public void Rescan()
    {
        var fresh = Scan();
        lock (_gate) _snapshot = fresh;
    }

    public static string FileName(SecretKind kind, int version) =>
        version == 1 ? BaseNames[kind] + ".key" : $"{BaseNames[kind]}.v{version}.key";

    private Snapshot Fresh()
    {
        var snapshot = _snapshot;
        if (DateTimeOffset.UtcNow - snapshot.ReadAt < RescanInterval) return snapshot;
        Rescan();
        return _snapshot;
    }

    private Snapshot Scan()
    {
        var keys = BaseNames.Keys.ToDictionary(k => k, _ => (IReadOnlyList<VersionedKey>)[]);
        foreach (var (kind, name) in BaseNames)
        {
            var found = new List<VersionedKey>();
            foreach (var path in System.IO.Directory.EnumerateFiles(Directory, name + ".*key"))
            {
                var file = Path.GetFileName(path);
                int version;
                if (file == name + ".key") version = 1;
                else if (VersionedName().Match(file) is { Success: true } m && m.Groups[1].Value == name) version = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                else continue;
                found.Add(new VersionedKey(kind, version, Read(path), new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero)));
            }
            keys[kind] = found.OrderBy(k => k.Version).ToList();
        }
        return new Snapshot(keys, DateTimeOffset.UtcNow);
    }

    private void CreateFirstVersionIfNone(SecretKind kind)
    {
        var name = BaseNames[kind];
        if (System.IO.Directory.EnumerateFiles(Directory, name + ".*key").Any(p => Path.GetFileName(p) == name + ".key"
                || VersionedName().Match(Path.GetFileName(p)) is { Success: true } m && m.Groups[1].Value == name))
            return;
        WriteNew(FileName(kind, 1));
    }

    /// <summary>Writes a fresh 256-bit key under a new name; false when the name exists (another instance made it first).</summary>
    private bool WriteNew(string name)
    {
        var path = Path.Combine(Directory, name);
        if (File.Exists(path)) return false;
        var fresh = RandomNumberGenerator.GetBytes(32);
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(fresh));
        try
        {
            // Two instances starting together on one directory must not overwrite each other's key, and one rescanning
            // the directory must never read a key file half written: SecureFiles.WriteNew publishes it whole or not at all.
            return SecureFiles.WriteNew(path, text);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fresh);
            CryptographicOperations.ZeroMemory(text);
        }
    }

    private static byte[] Read(string path)
    {
        var key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        if (key.Length < 32) throw new InvalidOperationException($"The key file '{Path.GetFileName(path)}' holds fewer than 256 bits.");
        return key;
    }

    internal static void CreatePrivateDirectory(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [GeneratedRegex(@"^([a-z-]+)\.v([0-9]{1,6})\.key$")]
    private static partial Regex VersionedName();

    private sealed record Snapshot(Dictionary<SecretKind, IReadOnlyList<VersionedKey>> Keys, DateTimeOffset ReadAt);
}
