namespace OverlapEscrow.Domain;

public static class Ids
{
    /// <summary>A new opaque id: a prefix naming the kind, then 128 random bits (time-ordered, RFC 9562 v7).</summary>
    public static string New(string prefix) => prefix + "_" + Guid.CreateVersion7().ToString("N");
}
