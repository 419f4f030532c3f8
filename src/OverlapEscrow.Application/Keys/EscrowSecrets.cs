using System.Security.Cryptography;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// The escrow's secrets, kept in files outside the database (created with owner-only permissions at first start):
/// the token key (re-keys identifier hashes), the master key (wraps each organization's data key) and the
/// access-token signing key. None of them is ever written to the database or a log.
/// </summary>
public sealed class EscrowSecrets
{
    /// <summary>The version of the master key in <c>master.key</c>; every wrapped key records the version that wrapped it.</summary>
    public const int MasterKeyVersion = 1;

    public EscrowSecrets(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(Directory);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        TokenKey = LoadOrCreate("token.key");
        MasterKey = LoadOrCreate("master.key");
        SigningKey = LoadOrCreate("jwt-signing.key");
    }

    public string Directory { get; }
    public byte[] TokenKey { get; }
    public byte[] MasterKey { get; }
    public byte[] SigningKey { get; }

    private byte[] LoadOrCreate(string name)
    {
        var path = Path.Combine(Directory, name);
        if (!File.Exists(path))
        {
            var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            try
            {
                // CreateNew: two instances starting together on one directory must not overwrite each other's key.
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                using var writer = new StreamWriter(stream);
                writer.Write(fresh);
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }
        var key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        if (key.Length < 32) throw new InvalidOperationException($"The key file '{name}' holds fewer than 256 bits.");
        return key;
    }
}
