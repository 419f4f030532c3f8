using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Application.Keys;

/// <summary>One version of an organization's data key, as stored: wrapped by the master key of <see cref="MasterKeyVersion"/>.</summary>
public sealed record DataKey(int Version, int MasterKeyVersion, byte[] Wrapped, DateTimeOffset CreatedAt)
{
    /// <summary>
    /// Names this stored key without revealing anything of it: the first 128 bits of SHA-256 of the wrapped bytes
    /// (ciphertext under the master key), in hex. Deletion receipts and the audit log name destroyed keys by it.
    /// </summary>
    public string KeyId => Convert.ToHexStringLower(SHA256.HashData(Wrapped))[..32];
}

/// <summary>An organization's data keys: the one that seals (<see cref="CurrentVersion"/>) and, during a rotation, older ones that still open.</summary>
public sealed record OrganizationKeySet(string OrganizationId, int CurrentVersion, IReadOnlyList<DataKey> Keys)
{
    public DataKey Current => Keys.Single(k => k.Version == CurrentVersion);
}

/// <summary>What is left of an erased organization in the keyring: that it was erased, when, and the ids of the keys destroyed.</summary>
public sealed record ErasureMark(string OrganizationId, DateTimeOffset ErasedAt, IReadOnlyList<string> KeyIds);

/// <summary>
/// The keyring: every organization's data keys, wrapped by the master key, in files outside the database
/// (<c>Escrow:KeyringDirectory</c>, by default <c>SecretsDirectory/keyring</c>): <c>&lt;organization id&gt;.json</c>
/// per organization, and <c>&lt;organization id&gt;.erased</c> once it was deleted.
/// </summary>
/// <remarks>
/// Why outside the database: a database backup then holds only data sealed under keys it does not contain.
/// Destroying an organization's keys here (<see cref="Erase"/>) makes every copy of its sealed data unreadable,
/// backups included, without touching the backups. The erasure mark is positive evidence of a deletion: a database
/// restored from before the deletion is erased again at start-up because of it (a missing key file alone, which a
/// wrong directory setting would also produce, erases nothing). Every change replaces one file atomically
/// (<see cref="SecureFiles.WriteAtomic"/>) under a lock shared by every process on the directory, so the service
/// and the operator's command line can both change the keyring, and a crash leaves each file wholly old or wholly new.
/// </remarks>
public sealed partial class KeyringStore
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public KeyringStore(string directory)
    {
        Directory = directory;
        EscrowSecrets.CreatePrivateDirectory(directory);
    }

    public string Directory { get; }

    public OrganizationKeySet? Read(string organizationId)
    {
        var path = KeyPath(organizationId);
        if (!File.Exists(path)) return null;
        var file = JsonSerializer.Deserialize<KeyFile>(File.ReadAllBytes(path), Json)
            ?? throw new CryptographicException($"The keyring file of {organizationId} is empty.");
        if (file.OrganizationId != organizationId) throw new CryptographicException($"The keyring file of {organizationId} names another organization.");
        return new OrganizationKeySet(file.OrganizationId, file.CurrentVersion,
            file.Keys.Select(k => new DataKey(k.Version, k.MasterKeyVersion, Convert.FromBase64String(k.Wrapped), k.CreatedAt)).ToList());
    }

    public ErasureMark? ReadErasure(string organizationId)
    {
        var path = ErasedPath(organizationId);
        return File.Exists(path) ? JsonSerializer.Deserialize<ErasureMark>(File.ReadAllBytes(path), Json) : null;
    }

    /// <summary>Stores the keys of an organization that has none yet; false when it already has a key file or was erased.</summary>
    public bool TryCreate(OrganizationKeySet keys)
    {
        using var _ = SecureFiles.Lock(LockPath, LockTimeout);
        if (File.Exists(KeyPath(keys.OrganizationId)) || File.Exists(ErasedPath(keys.OrganizationId))) return false;
        Write(keys);
        return true;
    }

    /// <summary>
    /// Changes an organization's keys under the keyring's lock: <paramref name="change"/> gets the keys as stored now
    /// and returns the new set, or null to leave them as they are. Returns what is stored afterwards.
    /// </summary>
    public OrganizationKeySet? Update(string organizationId, Func<OrganizationKeySet, OrganizationKeySet?> change)
    {
        using var _ = SecureFiles.Lock(LockPath, LockTimeout);
        var current = Read(organizationId);
        if (current is null) return null;
        var changed = change(current);
        if (changed is null) return current;
        if (changed.OrganizationId != organizationId || changed.Keys.All(k => k.Version != changed.CurrentVersion))
            throw new InvalidOperationException("A key set must keep its organization and hold its current version.");
        Write(changed);
        return changed;
    }

    /// <summary>
    /// Destroys every data key of an organization: first the erasure mark is written (so a crash from here on still
    /// counts as an erasure), then the key file is overwritten and deleted. Idempotent; returns the mark.
    /// </summary>
    public ErasureMark Erase(string organizationId, DateTimeOffset at)
    {
        using var _ = SecureFiles.Lock(LockPath, LockTimeout);
        var mark = ReadErasure(organizationId);
        if (mark is null)
        {
            var keyIds = Read(organizationId)?.Keys.Select(k => k.KeyId).ToList() ?? [];
            mark = new ErasureMark(organizationId, at, keyIds);
            SecureFiles.WriteAtomic(ErasedPath(organizationId), JsonSerializer.SerializeToUtf8Bytes(mark, Json));
        }
        SecureFiles.Destroy(KeyPath(organizationId));
        return mark;
    }

    /// <summary>Destroys the key file of an organization that never came to exist (no erasure mark: nothing was sealed with it).</summary>
    public void Discard(string organizationId)
    {
        using var _ = SecureFiles.Lock(LockPath, LockTimeout);
        SecureFiles.Destroy(KeyPath(organizationId));
    }

    /// <summary>Organizations that have a key file.</summary>
    public IReadOnlyList<string> ListOrganizations() => List(".json");

    /// <summary>Organizations that were erased.</summary>
    public IReadOnlyList<string> ListErased() => List(".erased");

    private IReadOnlyList<string> List(string extension) =>
        System.IO.Directory.EnumerateFiles(Directory, "org_*" + extension)
            .Select(p => Path.GetFileName(p)[..^extension.Length])
            .Where(id => OrganizationIdPattern().IsMatch(id))
            .Order(StringComparer.Ordinal)
            .ToList();

    private void Write(OrganizationKeySet keys)
    {
        var file = new KeyFile(keys.OrganizationId, keys.CurrentVersion,
            keys.Keys.OrderBy(k => k.Version).Select(k => new KeyEntry(k.Version, k.MasterKeyVersion, Convert.ToBase64String(k.Wrapped), k.CreatedAt)).ToList());
        SecureFiles.WriteAtomic(KeyPath(keys.OrganizationId), JsonSerializer.SerializeToUtf8Bytes(file, Json));
    }

    private string LockPath => Path.Combine(Directory, ".lock");

    private string KeyPath(string organizationId) => Path.Combine(Directory, Checked(organizationId) + ".json");

    private string ErasedPath(string organizationId) => Path.Combine(Directory, Checked(organizationId) + ".erased");

    /// <summary>Organization ids become file names: only the shape Ids.New makes is accepted (no path can be smuggled in).</summary>
    private static string Checked(string organizationId) =>
        OrganizationIdPattern().IsMatch(organizationId) ? organizationId : throw new ArgumentException("Not an organization id.", nameof(organizationId));

    [GeneratedRegex("^org_[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex OrganizationIdPattern();

    private sealed record KeyFile(string OrganizationId, int CurrentVersion, List<KeyEntry> Keys);

    private sealed record KeyEntry(int Version, int MasterKeyVersion, string Wrapped, DateTimeOffset CreatedAt);
}
