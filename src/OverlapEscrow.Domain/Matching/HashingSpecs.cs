using System.Globalization;

namespace OverlapEscrow.Domain.Matching;

/// <summary>The two sides of a cell were hashed under different specification versions, which may cost matches.</summary>
public sealed record HashingSpecMismatch(int Mine, int Partner);

/// <summary>
/// The hashing specification versions the escrow knows (docs/hashing.md, "Versioning"). A client names the version of
/// an upload in the <c>Hashing-Spec</c> header (<c>v2</c>); an upload without it is version 1, which predates the
/// header. A population version made of layers hashed under several versions has the lowest of them: its records may
/// carry the older keys.
/// </summary>
public static class HashingSpecs
{
    public const string Header = "Hashing-Spec";
    public const int Oldest = 1;
    public const int Current = 2;

    /// <summary>The version an upload names, or the field error: absent is version 1; a version this escrow does not know is refused.</summary>
    public static (int Version, string? Error) Parse(string? header)
    {
        if (string.IsNullOrEmpty(header)) return (Oldest, null);
        var text = header.Trim();
        if (text.Length < 2 || text[0] is not ('v' or 'V')
            || !int.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            return (0, $"{Header} is v followed by the specification version, such as v{Current}.");
        if (version is < Oldest or > Current)
            return (0, $"This escrow knows hashing specification versions v{Oldest} to v{Current}; upgrade the escrow or hash with v{Current}.");
        return (version, null);
    }

    public static string Wire(int version) => "v" + version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The version of a delta on its base: the lower of the two.</summary>
    public static int Layered(int delta, int baseVersion) => Math.Min(delta, baseVersion);

    /// <summary>
    /// A notice for a cell whose two sides were hashed under different versions (an empty side has none). Either
    /// side may see it: the version says which client a partner runs, nothing about its accounts.
    /// </summary>
    public static HashingSpecMismatch? Compare(int? mine, int? partner) =>
        mine is { } m && partner is { } p && m != p ? new HashingSpecMismatch(m, p) : null;
}
