using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Tests.Shared;

/// <summary>
/// A deterministic source of random bits for tests: xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom
/// number generators", 2021) seeded through SplitMix64. Reproducible from its seed; never for production, where
/// <see cref="SecureRandomBits"/> is injected. Thread-safe (the service draws from request and background threads).
/// </summary>
public sealed class SeededRandomBits : IRandomBits
{
    private ulong _s0, _s1, _s2, _s3;

    public SeededRandomBits(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>Bits drawn so far (each call counts what it returned).</summary>
    public long BitsUsed { get; private set; }

    private readonly Lock _lock = new();

    public ulong NextBits(int count)
    {
        lock (_lock) return Next(count);
    }

    private ulong Next(int count)
    {
        BitsUsed += count;
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return count == 64 ? result : result >> (64 - count);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
