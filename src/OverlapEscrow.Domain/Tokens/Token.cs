using System.Buffers.Binary;

namespace OverlapEscrow.Domain.Tokens;

/// <summary>
/// The escrow-keyed form of an identifier hash: the first 128 bits of an HMAC-SHA256 (see <see cref="TokenKeyer"/>).
/// 128 bits keep accidental collisions out of reach (about 2^-64 for 2^32 tokens) at half the memory of a full MAC.
/// </summary>
/// <remarks>Its layout (High, then Low) is part of the stored token columns' format on little-endian machines (<see cref="Matching.VersionColumns"/>).</remarks>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
public readonly record struct Token(ulong High, ulong Low) : IComparable<Token>
{
    public const int Size = 16;

    public static Token Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt64BigEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    public int CompareTo(Token other)
    {
        var c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }
}
