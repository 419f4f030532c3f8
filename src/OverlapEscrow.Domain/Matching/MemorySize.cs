using System.Runtime.CompilerServices;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// Sizes of managed objects on a 64-bit CLR, for the estimates caches budget with: an object carries a 16-byte
/// header (sync block and method table) before its fields, an array 8 more for its length, a string a length and a
/// terminating char; every object is rounded up to 8 bytes and takes at least 24. Shared empty arrays cost nothing.
/// </summary>
public static class MemorySize
{
    public const int Reference = 8;

    public static long Object(long fieldBytes) => Math.Max(24, Align(16 + fieldBytes));

    public static long Array(long elementBytes, long length) => length == 0 ? 0 : Align(24 + elementBytes * length);

    public static long String(string value) => value.Length == 0 ? 0 : Align(22 + 2L * value.Length);

    /// <summary>A record with its id, token array, attribute array and attribute strings.</summary>
    public static long Of(EscrowRecord record)
    {
        // RecordId, Tokens, Attributes and the Deleted flag.
        var bytes = Object(3 * Reference + sizeof(bool)) + String(record.RecordId)
            + Array(Unsafe.SizeOf<RecordToken>(), record.Tokens.Length)
            + Array(Unsafe.SizeOf<RecordAttribute>(), record.Attributes.Length);
        foreach (var a in record.Attributes) bytes += String(a.Name) + String(a.Value);
        return bytes;
    }

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
