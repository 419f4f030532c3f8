using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace OverlapEscrow.Domain.Tokens;

/// <summary>
/// HMAC-SHA256 under one key, computed many times over short messages (an upload re-keys two or more hashes per record),
/// with as little work per call as the platform allows. The MAC is RFC 2104's, byte for byte, whichever path computes it.
/// Not thread-safe: one instance per thread.
/// </summary>
/// <remarks>
/// On Linux the platform's <see cref="HMACSHA256"/> (and <see cref="IncrementalHash"/>) reset an OpenSSL EVP context on
/// every call, with the error queue cleared and the provider's objects freed and allocated around it: about 0.55 µs a
/// call here, three times the two compressions of a 44-byte message (docs/performance.md, "Uploads"). OpenSSL's own
/// HMAC_CTX, from the same libcrypto the platform loads, re-initialized with the key it holds (HMAC_Init_ex with no key,
/// as its manual allows), computes the same MAC at about 0.18 µs. HMAC_CTX is deprecated in OpenSSL 3 in favour of
/// EVP_MAC but exported by every 3.x release; where it cannot be found, or does not give the platform's MAC on the
/// self-check below, the platform's <see cref="HMACSHA256"/> is used. Only on Linux (as the CLI's SHA-256,
/// OverlapEscrow.Client's ShortSha256). Nothing here is a cryptographic primitive of our own: the HMAC is OpenSSL's.
/// OE_HMAC_PLATFORM=1 forces the platform's path.
/// </remarks>
internal sealed class ReusedHmacSha256 : IDisposable
{
    public const int MacSize = 32;

    /// <summary>Whether MACs come from OpenSSL's HMAC_CTX rather than the platform's <see cref="HMACSHA256"/>.</summary>
    public static bool UsesOpenSslDirectly { get; } = ProbeOpenSsl();

    private readonly HmacContext? _native;
    private readonly HMACSHA256? _platform;

    public ReusedHmacSha256(ReadOnlySpan<byte> key) : this(key, UsesOpenSslDirectly) { }

    internal ReusedHmacSha256(ReadOnlySpan<byte> key, bool openSsl)
    {
        if (openSsl) _native = HmacContext.Create(key);
        else _platform = new HMACSHA256(key.ToArray());
    }

    public void Compute(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mac.Length, MacSize);
        if (_native is null)
        {
            _platform!.TryComputeHash(message, mac, out _);
            return;
        }
        ObjectDisposedException.ThrowIf(_native.IsClosed, this);
        var ctx = _native.DangerousGetHandle();
        uint length = MacSize;
        if (Native.Init(ctx, ref MemoryMarshal.GetReference(ReadOnlySpan<byte>.Empty), 0, IntPtr.Zero, IntPtr.Zero) != 1
            || Native.Update(ctx, ref MemoryMarshal.GetReference(message), (nuint)message.Length) != 1
            || Native.Final(ctx, ref MemoryMarshal.GetReference(mac), ref length) != 1 || length != MacSize)
            throw new CryptographicException("OpenSSL's HMAC-SHA256 failed.");
    }

    public void Dispose()
    {
        _native?.Dispose();
        _platform?.Dispose();
    }

    /// <summary>
    /// Whether libcrypto's HMAC_CTX is there and gives the platform's MACs: RFC 4231's test case 2, and random keys of 32 and
    /// 64 bytes over messages of every length across SHA-256's one- and two-block boundaries, each computed twice on one
    /// context (the re-initialization is what is used).
    /// </summary>
    private static bool ProbeOpenSsl()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OE_HMAC_PLATFORM") == "1") return false;
        try
        {
            Span<byte> ours = stackalloc byte[MacSize];
            Span<byte> platform = stackalloc byte[MacSize];
            using (var rfc = new ReusedHmacSha256("Jefe"u8, openSsl: true))
            {
                rfc.Compute("what do ya want for nothing?"u8, ours);
                if (!ours.SequenceEqual(Convert.FromHexString("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))) return false;
            }
            var text = RandomNumberGenerator.GetBytes(200);
            foreach (var keyLength in (int[])[32, 64])
            {
                var key = RandomNumberGenerator.GetBytes(keyLength);
                using var hmac = new ReusedHmacSha256(key, openSsl: true);
                foreach (var length in (int[])[0, 1, 44, 44, 55, 56, 63, 64, 65, 119, 120, 128, 200])
                {
                    hmac.Compute(text.AsSpan(0, length), ours);
                    HMACSHA256.HashData(key, text.AsSpan(0, length), platform);
                    if (!ours.SequenceEqual(platform)) return false;
                }
            }
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>An HMAC_CTX holding its key; freed (and cleansed by OpenSSL) once.</summary>
    private sealed class HmacContext : SafeHandle
    {
        private HmacContext() : base(IntPtr.Zero, ownsHandle: true) { }

        public override bool IsInvalid => handle == IntPtr.Zero;

        public static HmacContext Create(ReadOnlySpan<byte> key)
        {
            var context = new HmacContext();
            context.SetHandle(Native.New());
            if (context.IsInvalid) throw new CryptographicException("OpenSSL could not allocate an HMAC context.");
            if (Native.Init(context.handle, ref MemoryMarshal.GetReference(key), key.Length, Native.Sha256(), IntPtr.Zero) != 1)
            {
                context.Dispose();
                throw new CryptographicException("OpenSSL could not key an HMAC context.");
            }
            return context;
        }

        protected override bool ReleaseHandle()
        {
            Native.Free(handle);
            return true;
        }
    }

    /// <summary>
    /// libcrypto's HMAC. Each call is short and neither blocks nor calls back into the runtime, so the transition to
    /// preemptive mode is skipped for the per-message calls (it would cost as much as they do).
    /// </summary>
    private static class Native
    {
        private const string LibCrypto = "libcrypto.so.3";

        [DllImport(LibCrypto, EntryPoint = "HMAC_CTX_new")]
        public static extern IntPtr New();

        [DllImport(LibCrypto, EntryPoint = "HMAC_CTX_free")]
        public static extern void Free(IntPtr context);

        [DllImport(LibCrypto, EntryPoint = "EVP_sha256")]
        public static extern IntPtr Sha256();

        [DllImport(LibCrypto, EntryPoint = "HMAC_Init_ex"), SuppressGCTransition]
        public static extern int Init(IntPtr context, ref byte key, int keyLength, IntPtr md, IntPtr engine);

        [DllImport(LibCrypto, EntryPoint = "HMAC_Update"), SuppressGCTransition]
        public static extern int Update(IntPtr context, ref byte data, nuint length);

        [DllImport(LibCrypto, EntryPoint = "HMAC_Final"), SuppressGCTransition]
        public static extern int Final(IntPtr context, ref byte mac, ref uint length);
    }
}
