using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// The hash of a normalized identifier: lower-case hex of SHA-256 over UTF-8 "oe:v1:" + type + ":" + key
/// (FIPS 180-4). The prefix separates specification versions and identifier types, so equal text under two
/// types never gives one hash.
/// </summary>
public static class IdentifierHashes
{
    public const string SpecVersion = "v1";

    /// <summary>The registrable domain of a website or business e-mail address.</summary>
    public const string Domain = "domain";

    /// <summary>The registrable domain's label left of its public suffix ("acme" of "acme.co.uk").</summary>
    public const string DomainLabel = "domain_label";

    /// <summary>Normalized company name with its country code ("acme|GB").</summary>
    public const string Name = "name";

    /// <summary>Normalized company name without a country ("acme").</summary>
    public const string NameOnly = "name_only";

    public static string Hash(string type, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"oe:{SpecVersion}:{type}:{key}")));
}

/// <summary>The normalized keys of one CRM account, and why a field gave none.</summary>
public sealed record AccountKeys(
    IReadOnlyList<string> Domains,
    IReadOnlyList<string> DomainLabels,
    string? Name,
    string? NameOnly,
    IReadOnlyDictionary<string, string> Missing)
{
    public bool IsEmpty => Domains.Count == 0 && Name is null;

    /// <summary>The keys of an account from its CRM fields; any field may be null.</summary>
    public static AccountKeys From(string? website, string? email, string? name, string? country)
    {
        var missing = new Dictionary<string, string>();
        var domains = new List<string>();
        if (website is not null) Add(DomainKeys.FromWebsite(website), "website");
        if (email is not null) Add(DomainKeys.FromEmail(email), "email");
        string? withCountry = null, nameOnly = null;
        if (name is not null)
        {
            var (full, bare) = NameKeys.From(name, country);
            if (full.HasKey) (withCountry, nameOnly) = (full.Key, bare.Key);
            else missing["name"] = full.Reason!;
        }
        return new AccountKeys(domains, [.. domains.Select(DomainKeys.Label).Distinct()], withCountry, nameOnly, missing);

        void Add(KeyResult result, string field)
        {
            if (result.HasKey) { if (!domains.Contains(result.Key!)) domains.Add(result.Key!); }
            else missing[field] = result.Reason!;
        }
    }

    /// <summary>The identifier hashes to upload, by type (the wire format's "identifiers" object).</summary>
    public Dictionary<string, string[]> Hashes()
    {
        var hashes = new Dictionary<string, string[]>();
        if (Domains.Count > 0)
        {
            hashes[IdentifierHashes.Domain] = [.. Domains.Select(d => IdentifierHashes.Hash(IdentifierHashes.Domain, d))];
            hashes[IdentifierHashes.DomainLabel] = [.. DomainLabels.Select(l => IdentifierHashes.Hash(IdentifierHashes.DomainLabel, l))];
        }
        if (Name is not null)
        {
            hashes[IdentifierHashes.Name] = [IdentifierHashes.Hash(IdentifierHashes.Name, Name)];
            hashes[IdentifierHashes.NameOnly] = [IdentifierHashes.Hash(IdentifierHashes.NameOnly, NameOnly!)];
        }
        return hashes;
    }
}
