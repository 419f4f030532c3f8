using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// SHA-256 of the short texts the client hashes (a key with its prefix: one 64-byte block, a dozen per CRM row), with
/// as little work per call as the platform allows. The digest is SHA-256's, byte for byte, whichever path computes it.
/// </summary>
/// <remarks>
/// On Linux the platform's <see cref="SHA256"/> and <see cref="IncrementalHash"/> go through OpenSSL's EVP interface,
/// whose per-call work (resetting the provider's context, clearing the error queue, the interop around each of them)
/// is several times the compression of one block: about 0.45 µs a call, most of a CRM row's hashing
/// (docs/performance.md, "Hashing a CRM export"). OpenSSL's own SHA256_Init/Update/Final, from the same libcrypto the
/// platform loads, compute the same digest on a context on our stack with the same compression code (SHA extensions
/// where the CPU has them) at about 0.07 µs a call. They are deprecated in OpenSSL 3 in favour of EVP but exported by
/// every 3.x release; where they cannot be found, or do not give the platform's digest on the self-check below, the
/// platform's <see cref="IncrementalHash"/> is used, as before. Only on Linux: macOS aborts a process that loads its
/// system libcrypto, and Windows hashes through CNG. Nothing here is a cryptographic primitive of our own.
/// </remarks>
internal static partial class ShortSha256
{
    /// <summary>Whether digests come from OpenSSL's SHA256_* functions rather than the platform's EVP path.</summary>
    public static bool UsesOpenSslDirectly { get; } = ProbeOpenSsl();

    /// <summary>SHA-256 of <paramref name="data"/> into <paramref name="digest"/> (32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        if (UsesOpenSslDirectly) HashWithOpenSsl(data, digest);
        else HashWithPlatform(data, digest);
    }

    /// <summary>The platform's path: one incremental SHA-256 state per thread, reset by each digest.</summary>
    internal static void HashWithPlatform(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        var sha = _platform ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(data);
        sha.GetHashAndReset(digest);
    }

    /// <summary>OpenSSL's low-level path; only call when <see cref="UsesOpenSslDirectly"/> (tests call it to compare).</summary>
    internal static void HashWithOpenSsl(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(digest.Length, SHA256.HashSizeInBytes);
        // SHA256_CTX is 112 bytes in OpenSSL 1.1 and 3.x; twice that leaves room for any layout change.
        Span<byte> context = stackalloc byte[ContextBytes];
        ref var ctx = ref MemoryMarshal.GetReference(context);
        if (Native.Init(ref ctx) != 1
            || Native.Update(ref ctx, ref MemoryMarshal.GetReference(data), (nuint)data.Length) != 1
            || Native.Final(ref MemoryMarshal.GetReference(digest), ref ctx) != 1)
            throw new CryptographicException("OpenSSL's SHA-256 failed.");
    }

    private const int ContextBytes = 224;

    [ThreadStatic]
    private static IncrementalHash? _platform;

    /// <summary>
    /// Whether libcrypto's SHA256_* functions are there and give the platform's digests: on the FIPS 180-2 example
    /// "abc", on the empty text, and on texts of every length across the one- and two-block boundaries (55, 56, 64 …).
    /// </summary>
    private static bool ProbeOpenSsl()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OE_SHA256_PLATFORM") == "1") return false;
        try
        {
            Span<byte> text = stackalloc byte[200];
            for (var i = 0; i < text.Length; i++) text[i] = (byte)('a' + i * 7 % 26);
            Span<byte> ours = stackalloc byte[SHA256.HashSizeInBytes];
            Span<byte> platform = stackalloc byte[SHA256.HashSizeInBytes];
            foreach (var length in (int[])[0, 3, 1, 31, 55, 56, 63, 64, 65, 119, 120, 128, 200])
            {
                var input = length == 3 ? "abc"u8 : text[..length];
                HashWithOpenSsl(input, ours);
                SHA256.HashData(input, platform);
                if (!ours.SequenceEqual(platform)) return false;
            }
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// libcrypto's low-level SHA-256. Each call is a few hundred cycles that neither block nor call back into the
    /// runtime, so the transition to preemptive mode is skipped (it would cost as much as the call).
    /// </summary>
    private static partial class Native
    {
        private const string LibCrypto = "libcrypto.so.3";

        [LibraryImport(LibCrypto, EntryPoint = "SHA256_Init")]
        [SuppressGCTransition]
        public static partial int Init(ref byte context);

        [LibraryImport(LibCrypto, EntryPoint = "SHA256_Update")]
        [SuppressGCTransition]
        public static partial int Update(ref byte context, ref byte data, nuint length);

        [LibraryImport(LibCrypto, EntryPoint = "SHA256_Final")]
        [SuppressGCTransition]
        public static partial int Final(ref byte digest, ref byte context);
    }
}
