using System.Buffers.Binary;
using System.Security.Cryptography;

namespace OverlapEscrow.Domain.Privacy;

/// <summary>
/// A source of uniformly random bits: the only randomness the privacy mechanism uses. Production injects
/// <see cref="SecureRandomBits"/>; tests inject a seeded deterministic source, so noise can be reproduced.
/// </summary>
public interface IRandomBits
{
    /// <summary><paramref name="count"/> (1 to 64) independent uniform random bits, in the low bits of the result.</summary>
    ulong NextBits(int count);
}

/// <summary>
/// Random bits from the operating system's cryptographically secure generator
/// (<see cref="RandomNumberGenerator"/>). A predictable generator would let whoever can predict it subtract the
/// noise; this one cannot be predicted from its output. Stateless and thread-safe.
/// </summary>
public sealed class SecureRandomBits : IRandomBits
{
    public static readonly SecureRandomBits Instance = new();

    public ulong NextBits(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 64);
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var value = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return count == 64 ? value : value & ((1UL << count) - 1);
    }
}
