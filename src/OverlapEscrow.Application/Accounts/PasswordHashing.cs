using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;

namespace OverlapEscrow.Application.Accounts;

/// <summary>Hashes and checks member passwords.</summary>
public interface IPasswordHasher
{
    string Hash(string password);

    /// <summary>Whether <paramref name="password"/> matches <paramref name="hash"/>.</summary>
    bool Verify(string hash, string password);

    /// <summary>Whether a hash that verified should be replaced at this sign-in (an older scheme, or weaker parameters than configured).</summary>
    bool NeedsRehash(string hash) => false;
}

/// <summary>Checks hashes of a scheme used before Argon2id (the platform's PBKDF2), so they keep working until the member's next sign-in upgrades them.</summary>
public interface ILegacyPasswordVerifier
{
    bool Verify(string hash, string password);
}

/// <summary>Settings under Escrow:Passwords. The defaults are RFC 9106 §4's second recommended option.</summary>
public sealed class PasswordOptions
{
    /// <summary>Memory per hash in KiB (64 MiB).</summary>
    [Range(1024, 4 * 1024 * 1024)]
    public int MemoryKiB { get; set; } = 64 * 1024;

    /// <summary>Passes over the memory (t).</summary>
    [Range(1, 16)]
    public int Iterations { get; set; } = 3;

    /// <summary>Lanes (p).</summary>
    [Range(1, 16)]
    public int Parallelism { get; set; } = 4;

    /// <summary>
    /// Hashes computed at once; more wait. Each holds <see cref="MemoryKiB"/>, so this bounds the memory a burst of
    /// sign-ins can take (and a flood of them cannot exhaust the machine). 0: the number of processors.
    /// </summary>
    [Range(0, 256)]
    public int MaxConcurrent { get; set; }
}

/// <summary>
/// Member passwords hashed with Argon2id (RFC 9106) through BouncyCastle's Argon2BytesGenerator, with a 128-bit random
/// salt and a 256-bit tag, stored in the PHC string format (<c>$argon2id$v=19$m=…,t=…,p=…$salt$hash</c>, unpadded
/// base64) so each hash carries its own parameters. Argon2id is memory-hard: guessing costs an attacker memory as well
/// as time, which GPUs and ASICs do not make cheap. Hashes of the platform's PBKDF2 (the scheme before this one) still
/// verify through <see cref="ILegacyPasswordVerifier"/> and are reported as needing a rehash, so the next sign-in
/// upgrades them.
/// </summary>
public sealed class Argon2idPasswordHasher : IPasswordHasher, IDisposable
{
    private const string Prefix = "$argon2id$v=19$";
    private const int SaltBytes = 16;
    private const int TagBytes = 32;

    private readonly PasswordOptions _options;
    private readonly ILegacyPasswordVerifier _legacy;
    private readonly SemaphoreSlim _slots;

    public Argon2idPasswordHasher(IOptions<PasswordOptions> options, ILegacyPasswordVerifier legacy)
    {
        _options = options.Value;
        _legacy = legacy;
        var slots = _options.MaxConcurrent > 0 ? _options.MaxConcurrent : Environment.ProcessorCount;
        _slots = new SemaphoreSlim(slots, slots);
    }

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var tag = Derive(password, salt, _options.MemoryKiB, _options.Iterations, _options.Parallelism);
        return $"{Prefix}m={_options.MemoryKiB},t={_options.Iterations},p={_options.Parallelism}${B64(salt)}${B64(tag)}";
    }

    public bool Verify(string hash, string password)
    {
        if (!hash.StartsWith(Prefix, StringComparison.Ordinal)) return _legacy.Verify(hash, password);
        if (Parse(hash) is not { } p) return false;
        var tag = Derive(password, p.Salt, p.MemoryKiB, p.Iterations, p.Parallelism, p.Tag.Length);
        return CryptographicOperations.FixedTimeEquals(tag, p.Tag);
    }

    public bool NeedsRehash(string hash) =>
        Parse(hash) is not { } p || p.MemoryKiB < _options.MemoryKiB || p.Iterations < _options.Iterations || p.Parallelism != _options.Parallelism;

    /// <summary>The raw Argon2id tag (RFC 9106 §3), computed in one of the limited slots.</summary>
    public byte[] Derive(string password, byte[] salt, int memoryKiB, int iterations, int parallelism, int tagBytes = TagBytes)
    {
        var parameters = new Argon2Parameters.Builder(Argon2Parameters.Argon2id)
            .WithVersion(Argon2Parameters.Version13)
            .WithMemoryAsKB(memoryKiB)
            .WithIterations(iterations)
            .WithParallelism(parallelism)
            .WithSalt(salt)
            .Build();
        var generator = new Argon2BytesGenerator();
        generator.Init(parameters);
        var secret = Encoding.UTF8.GetBytes(password);
        var tag = new byte[tagBytes];
        _slots.Wait();
        try
        {
            generator.GenerateBytes(secret, tag);
        }
        finally
        {
            _slots.Release();
            CryptographicOperations.ZeroMemory(secret);
        }
        return tag;
    }

    private sealed record Parsed(int MemoryKiB, int Iterations, int Parallelism, byte[] Salt, byte[] Tag);

    private static Parsed? Parse(string hash)
    {
        if (!hash.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        var parts = hash[Prefix.Length..].Split('$');
        if (parts.Length != 3) return null;
        var settings = parts[0].Split(',').Select(kv => kv.Split('=')).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1]);
        if (!settings.TryGetValue("m", out var m) || !int.TryParse(m, out var memory)
            || !settings.TryGetValue("t", out var t) || !int.TryParse(t, out var iterations)
            || !settings.TryGetValue("p", out var p) || !int.TryParse(p, out var parallelism))
            return null;
        // Bounds a stored hash could not exceed unless forged: a hash must not make verifying it a denial of service.
        if (memory is < 8 or > 4 * 1024 * 1024 || iterations is < 1 or > 16 || parallelism is < 1 or > 16) return null;
        try
        {
            return new Parsed(memory, iterations, parallelism, FromB64(parts[1]), FromB64(parts[2]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static byte[] FromB64(string text) => Convert.FromBase64String(text.PadRight(text.Length + (4 - text.Length % 4) % 4, '='));

    public void Dispose() => _slots.Dispose();
}
