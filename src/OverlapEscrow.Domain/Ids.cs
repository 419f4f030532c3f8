namespace OverlapEscrow.Domain;

public static class Ids
{
    /// <summary>A new opaque id: a prefix naming the kind, then a UUID version 7 (RFC 9562: a 48-bit millisecond timestamp and 74 random bits), so ids sort by creation time.</summary>
    public static string New(string prefix) => prefix + "_" + Guid.CreateVersion7().ToString("N");
}
