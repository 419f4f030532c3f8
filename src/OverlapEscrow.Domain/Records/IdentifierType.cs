namespace OverlapEscrow.Domain.Records;

/// <summary>The kind of account identifier a hash was computed from (see docs/hashing.md).</summary>
/// <remarks>The numeric values are part of the token derivation and of the stored record encoding: never renumber.</remarks>
public enum IdentifierType : byte
{
    /// <summary>A registrable domain, from a website or a business email address.</summary>
    Domain = 1,

    /// <summary>A normalized company name, with its ISO country code when known.</summary>
    Name = 2,

    /// <summary>The label of a registrable domain left of its public suffix ("acme" of "acme.co.uk"). Never matches alone.</summary>
    DomainLabel = 3,

    /// <summary>
    /// A normalized company name without its country. On its own it matches only a record whose country is unknown
    /// (a strong match) or, on request, as a possible match (docs/hashing.md, "Server match rules").
    /// </summary>
    NameOnly = 4,

    /// <summary>A generic company name (only common words) with its country code, sent instead of <see cref="Name"/> (spec v2). A possible match alone.</summary>
    NameGeneric = 5,

    /// <summary>The consonant skeleton of a distinctive company name with its country code (spec v2): robust to vowel typos.</summary>
    NameSkeleton = 6,

    /// <summary>
    /// A one-deletion variant of a distinctive company name key with its country code (spec v2): two names one typo
    /// apart share one (docs/hashing.md, "Typo keys").
    /// </summary>
    NameTypo = 7,
}

public static class IdentifierTypes
{
    public static readonly IReadOnlyList<IdentifierType> All =
        [IdentifierType.Domain, IdentifierType.Name, IdentifierType.DomainLabel, IdentifierType.NameOnly, IdentifierType.NameGeneric, IdentifierType.NameSkeleton, IdentifierType.NameTypo];

    /// <summary>The wire name of a type, as used in upload fields and API responses.</summary>
    public static string WireName(this IdentifierType type) => type switch
    {
        IdentifierType.Domain => "domain",
        IdentifierType.Name => "name",
        IdentifierType.DomainLabel => "domain_label",
        IdentifierType.NameOnly => "name_only",
        IdentifierType.NameGeneric => "name_generic",
        IdentifierType.NameSkeleton => "name_skeleton",
        IdentifierType.NameTypo => "name_typo",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(ReadOnlySpan<char> wireName, out IdentifierType type)
    {
        if (wireName.Equals("domain", StringComparison.Ordinal)) { type = IdentifierType.Domain; return true; }
        if (wireName.Equals("name", StringComparison.Ordinal)) { type = IdentifierType.Name; return true; }
        if (wireName.Equals("domain_label", StringComparison.Ordinal)) { type = IdentifierType.DomainLabel; return true; }
        if (wireName.Equals("name_only", StringComparison.Ordinal)) { type = IdentifierType.NameOnly; return true; }
        if (wireName.Equals("name_generic", StringComparison.Ordinal)) { type = IdentifierType.NameGeneric; return true; }
        if (wireName.Equals("name_skeleton", StringComparison.Ordinal)) { type = IdentifierType.NameSkeleton; return true; }
        if (wireName.Equals("name_typo", StringComparison.Ordinal)) { type = IdentifierType.NameTypo; return true; }
        type = default;
        return false;
    }
}
