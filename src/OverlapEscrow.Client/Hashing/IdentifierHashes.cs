using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// The hash of a normalized identifier: lower-case hex of SHA-256 over UTF-8 "oe:v1:" + type + ":" + key
/// (FIPS 180-4). The prefix separates identifier types, so equal text under two types never gives one hash. It names
/// the hash construction, not the rules: specification v2 keeps "oe:v1:", so a key that versions 1 and 2 derive alike
/// hashes alike and partners on different versions still match on it.
/// </summary>
public static class IdentifierHashes
{
    /// <summary>The version of the hashing specification this client implements (docs/hashing.md).</summary>
    public const string SpecVersion = "v2";

    /// <summary>The prefix of every hashed text, unchanged since version 1.</summary>
    public const string HashPrefix = "oe:v1:";

    /// <summary>The registrable domain of a website or business e-mail address.</summary>
    public const string Domain = "domain";

    /// <summary>The registrable domain's label left of its public suffix ("acme" of "acme.co.uk").</summary>
    public const string DomainLabel = "domain_label";

    /// <summary>Normalized company name with its country code ("acme|GB").</summary>
    public const string Name = "name";

    /// <summary>Normalized company name without a country ("acme").</summary>
    public const string NameOnly = "name_only";

    /// <summary>A generic company name (only common words) with its country code: "summitconsulting|US" (spec v2).</summary>
    public const string NameGeneric = "name_generic";

    /// <summary>The consonant skeleton of a distinctive company name with its country code: "mtlns|GR" (spec v2).</summary>
    public const string NameSkeleton = "name_skeleton";

    /// <summary>
    /// The one-deletion neighbourhood of a distinctive company name key with its country code: "quals|US" of "qualys"
    /// (spec v2). Two names within one typo share one.
    /// </summary>
    public const string NameTypo = "name_typo";

    private static readonly string[] TypeArray = [Domain, DomainLabel, Name, NameGeneric, NameOnly, NameSkeleton, NameTypo];

    /// <summary>The identifier types in the order an upload lists them.</summary>
    public static readonly IReadOnlyList<string> Types = TypeArray;

    // "oe:v1:" + type + ":" in UTF-8 per type, in the order of Types: the part of every hashed text that is not the key.
    private static readonly byte[][] TypePrefixes = [.. TypeArray.Select(t => Encoding.UTF8.GetBytes(HashPrefix + t + ":"))];

    /// <summary>The position of an identifier type in <see cref="Types"/>, or -1 when it is none of them.</summary>
    public static int IndexOfType(string type)
    {
        // Keys carry the constants above, so a reference comparison nearly always decides.
        for (var t = 0; t < TypeArray.Length; t++)
            if (ReferenceEquals(TypeArray[t], type)) return t;
        for (var t = 0; t < TypeArray.Length; t++)
            if (string.Equals(TypeArray[t], type, StringComparison.Ordinal)) return t;
        return -1;
    }

    public static string Hash(string type, string key)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        HashTo(type, key, digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>
    /// The hash of a key as lower-case hex in UTF-8, written to <paramref name="hex"/> (64 bytes): what
    /// <see cref="Hash"/> returns, without a string. Upload lines are written from it.
    /// </summary>
    public static void HashHex(string type, string key, Span<byte> hex)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        HashTo(type, key, digest);
        Convert.TryToHexStringLower(digest, hex, out _);
    }

    /// <summary>The position of <see cref="NameTypo"/> in <see cref="Types"/>: the last, so typo keys end a line's identifiers.</summary>
    internal static readonly int NameTypoIndex = Array.IndexOf(TypeArray, NameTypo);

    /// <summary>
    /// <see cref="HashHex"/> of the <see cref="NameTypo"/> key that is <paramref name="key"/> without its character
    /// <paramref name="deleted"/> (none when it is <c>key.Length</c>), followed by <paramref name="suffix"/>: the
    /// typo keys of NameKeys.TypoOrder, hashed without a string each. <paramref name="key"/> is ASCII letters and digits.
    /// </summary>
    internal static void TypoHashHex(string key, int deleted, string suffix, Span<byte> hex)
    {
        var prefix = TypePrefixes[NameTypoIndex];
        var length = prefix.Length + key.Length + Encoding.UTF8.GetMaxByteCount(suffix.Length);
        var rented = length > 512 ? new byte[length] : null;
        Span<byte> text = rented ?? stackalloc byte[length];
        prefix.CopyTo(text);
        var n = prefix.Length;
        for (var i = 0; i < key.Length; i++)
            if (i != deleted) text[n++] = (byte)key[i];
        n += Encoding.UTF8.GetBytes(suffix, text[n..]);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        ShortSha256.Hash(text[..n], digest);
        Convert.TryToHexStringLower(digest, hex, out _);
    }

    private static void HashTo(string type, string key, Span<byte> digest)
    {
        // One stack buffer for the hashed text and none for the digest: this runs several times per CRM row. The
        // prefix of a known type is copied from its encoded form; another type is encoded as it comes.
        var index = IndexOfType(type);
        var prefix = index >= 0 ? TypePrefixes[index].Length : HashPrefix.Length + Encoding.UTF8.GetMaxByteCount(type.Length) + 1;
        var length = prefix + Encoding.UTF8.GetMaxByteCount(key.Length);
        var rented = length > 512 ? new byte[length] : null;
        Span<byte> text = rented ?? stackalloc byte[length];
        int n;
        if (index >= 0)
        {
            TypePrefixes[index].CopyTo(text);
            n = TypePrefixes[index].Length;
        }
        else
        {
            n = Encoding.UTF8.GetBytes(HashPrefix, text);
            n += Encoding.UTF8.GetBytes(type, text[n..]);
            text[n++] = (byte)':';
        }
        n += Encoding.UTF8.GetBytes(key, text[n..]);
        // Most of a key's cost is the hash call's overhead, not the one block of compression: ShortSha256 keeps it small.
        ShortSha256.Hash(text[..n], digest);
    }
}

/// <summary>One normalized key of an account and the identifier type it is hashed as.</summary>
public readonly record struct AccountKey(string Type, string Key)
{
    public string Hash() => IdentifierHashes.Hash(Type, Key);

    public override string ToString() => $"{Type}:{Key}";
}

/// <summary>The normalized keys of one CRM account, in upload order, and why a field gave none.</summary>
public sealed record AccountKeys(IReadOnlyList<AccountKey> Identifiers, IReadOnlyDictionary<string, string> Missing)
{
    /// <summary>The domain keys (website, and e-mail where it agrees).</summary>
    public IReadOnlyList<string> Domains => Of(IdentifierHashes.Domain);

    public IReadOnlyList<string> DomainLabels => Of(IdentifierHashes.DomainLabel);

    /// <summary>The first name key with its country, distinctive or generic; null without a name key with a known country.</summary>
    public string? Name => Identifiers.FirstOrDefault(k => k.Type is IdentifierHashes.Name or IdentifierHashes.NameGeneric).Key;

    /// <summary>The first name key without a country.</summary>
    public string? NameOnly => Identifiers.FirstOrDefault(k => k.Type == IdentifierHashes.NameOnly).Key;

    /// <summary>No key that can match: nothing but domain labels, or nothing at all.</summary>
    public bool IsEmpty
    {
        get
        {
            for (var i = 0; i < Identifiers.Count; i++)
                if (Identifiers[i].Type != IdentifierHashes.DomainLabel) return false;
            return true;
        }
    }

    /// <summary>
    /// The keys of an account from its CRM fields (docs/hashing.md, "What one account uploads"); any field may be null.
    /// </summary>
    public static AccountKeys From(string? website, string? email, string? name, string? country) =>
        Build(website, email, name, country, typosAsText: true);

    /// <summary>
    /// The keys of <see cref="From"/> with the typo keys left out of <see cref="Identifiers"/> and kept as their source
    /// (<see cref="TypoKey"/>, <see cref="TypoSuffix"/>, <see cref="TypoCount"/>): what an upload line needs, since
    /// UploadRowWriter hashes them straight from the name key, without a string per typo key. Same keys, same order.
    /// </summary>
    internal static AccountKeys ForUpload(string? website, string? email, string? name, string? country) =>
        Build(website, email, name, country, typosAsText: false);

    /// <summary>The name key whose typo keys follow the identifiers (only from <see cref="ForUpload"/>; null otherwise).</summary>
    internal string? TypoKey { get; private init; }

    /// <summary>What follows each typo key ("|" and the country code).</summary>
    internal string TypoSuffix { get; private init; } = "";

    /// <summary>How many typo keys <see cref="TypoKey"/> gives (NameKeys.TypoOrder).</summary>
    internal int TypoCount { get; private init; }

    private static AccountKeys Build(string? website, string? email, string? name, string? country, bool typosAsText)
    {
        // Most rows give a key for every field: their Missing is one shared empty dictionary, not one each.
        Dictionary<string, string>? missing = null;
        var names = name is null ? [] : NameKeys.Variants(name);
        if (name is not null && names.Count == 0) (missing ??= [])["name"] = "empty";
        string? site = null, mail = null;
        if (website is not null)
        {
            var result = DomainKeys.FromWebsite(website, name);
            if (result.HasKey) site = result.Key; else (missing ??= [])["website"] = result.Reason!;
        }
        if (email is not null)
        {
            var result = DomainKeys.FromEmail(email);
            if (result.HasKey) mail = result.Key; else (missing ??= [])["email"] = result.Reason!;
        }
        // Room for every key the account can give (domains and labels, two per name variant, the skeletons, the
        // typo keys of the first variant), so the list is allocated once and no larger than it needs to be.
        var identifiers = new List<AccountKey>(5 + 2 * names.Count + NameKeys.MaxSkeletons + (typosAsText && names.Count > 0 ? Math.Min(names[0].Key.Length, NameKeys.TypoMaxLength) + 1 : 0));
        // At most two labels, in this order: the website's, then the e-mail's when it differs; or, without a domain key
        // (so without a website), the e-mail's and the name's. Kept in two variables rather than a list per row.
        string? label0 = null, label1 = null;
        if (site is not null)
        {
            identifiers.Add(new AccountKey(IdentifierHashes.Domain, site));
            label0 = DomainKeys.Label(site);
        }
        if (mail is not null)
        {
            // A contact writing from another organization's domain (a parent company, an agency) does not make the
            // account that organization: the e-mail domain counts as a domain only when the website agrees with it,
            // or, without a website, when the account's name does (or the account has no name). Its label still
            // corroborates name matches.
            var label = site is not null && mail == site ? label0! : DomainKeys.Label(mail);
            var agrees = site is not null ? label == label0 : names.Count == 0 || NameKeys.Agrees(label, name, names);
            if (agrees && mail != site) identifiers.Add(new AccountKey(IdentifierHashes.Domain, mail));
            if (label0 is null) label0 = label;
            else if (label != label0) label1 = label;
        }
        // Without a domain key, the distinctive first name key is also a label when it could be one (ASCII letters and
        // digits): the label the account's own domain would have if named after the company. It meets the label of a
        // partner record whose domain is named so (rule c); the server ignores it between two records without domains.
        if (identifiers.Count == 0 && names.Count > 0 && !names[0].Generic && NameKeys.IsAsciiKey(names[0].Key) && names[0].Key != label0 && names[0].Key != label1)
        {
            if (label0 is null) label0 = names[0].Key;
            else label1 = names[0].Key; // label0 is the e-mail's: without a domain key there is no website
        }
        if (label0 is not null) identifiers.Add(new AccountKey(IdentifierHashes.DomainLabel, label0));
        if (label1 is not null) identifiers.Add(new AccountKey(IdentifierHashes.DomainLabel, label1));
        var code = NameKeys.CountryCode(country);
        // "|" and the code, one string per country rather than one per row.
        var suffix = NameKeys.CountrySuffix(code);
        // Without a known country a distinctive name is sent as name_only alone: the server reads a record with
        // name_only keys and no name key as one whose country is unknown.
        // The variants by index, not foreach: foreach over the interface boxes an enumerator, once per loop and row.
        for (var i = 0; i < names.Count; i++)
            if (names[i].Generic || code.Length > 0)
                identifiers.Add(new AccountKey(names[i].Generic ? IdentifierHashes.NameGeneric : IdentifierHashes.Name, string.Concat(names[i].Key, suffix)));
        for (var i = 0; i < names.Count; i++) identifiers.Add(new AccountKey(IdentifierHashes.NameOnly, names[i].Key));
        if (code.Length > 0)
        {
            // The first NameKeys.MaxSkeletons (two) distinct skeletons of the distinctive keys, in their order.
            string? skeleton0 = null, skeleton1 = null;
            for (var i = 0; i < names.Count; i++)
                if (!names[i].Generic && skeleton1 is null && NameKeys.Skeleton(names[i].Key) is { } skeleton && skeleton != skeleton0)
                {
                    if (skeleton0 is null) skeleton0 = skeleton;
                    else skeleton1 = skeleton;
                }
            if (skeleton0 is not null) identifiers.Add(new AccountKey(IdentifierHashes.NameSkeleton, string.Concat(skeleton0, suffix)));
            if (skeleton1 is not null) identifiers.Add(new AccountKey(IdentifierHashes.NameSkeleton, string.Concat(skeleton1, suffix)));
            // The typo neighbourhood of the name's own key (the first), when it is distinctive.
            if (names.Count > 0 && !names[0].Generic)
            {
                if (typosAsText)
                    foreach (var typo in NameKeys.TypoKeys(names[0].Key, suffix)) identifiers.Add(new AccountKey(IdentifierHashes.NameTypo, typo));
                else
                {
                    // Only the count here: the line's writer orders them as it hashes them.
                    var typos = NameKeys.TypoCount(names[0].Key);
                    if (typos > 0)
                        return new AccountKeys(identifiers, missing ?? NoneMissing) { TypoKey = names[0].Key, TypoSuffix = suffix, TypoCount = typos };
                }
            }
        }
        return new AccountKeys(identifiers, missing ?? NoneMissing);
    }

    private static readonly IReadOnlyDictionary<string, string> NoneMissing = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    /// <summary>The identifier hashes to upload, by type in upload order (the wire format's "identifiers" object).</summary>
    public Dictionary<string, string[]> Hashes()
    {
        var hashes = new Dictionary<string, string[]>(IdentifierHashes.Types.Count);
        foreach (var type in IdentifierHashes.Types)
        {
            var count = 0;
            foreach (var k in Identifiers) if (k.Type == type) count++;
            if (count == 0) continue;
            var values = new string[count];
            var i = 0;
            foreach (var k in Identifiers) if (k.Type == type) values[i++] = IdentifierHashes.Hash(type, k.Key);
            hashes[type] = values;
        }
        return hashes;
    }

    private List<string> Of(string type) => [.. Identifiers.Where(k => k.Type == type).Select(k => k.Key)];
}
