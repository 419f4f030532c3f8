using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// Turns account identifiers into the hashes a partner uploads: hex(SHA-256(UTF-8("oe:v1:" + type + ":" + normalized))).
/// </summary>
/// <remarks>
/// PRELIMINARY (spec v0). The normalization here is deliberately simple: lower-case host without scheme, "www.",
/// port and path, reduced to its last two labels (three under a small set of second-level suffixes); names
/// lower-cased with punctuation and a few legal suffixes removed. The published, versioned specification with
/// the Public Suffix List, IDNA, free-mail and legal-form rules replaces it (docs/hashing.md). Only the hash
/// format is fixed here: 32 bytes, lower-case hex.
/// </remarks>
public static class IdentifierHasher
{
    private static readonly HashSet<string> SecondLevel = ["co", "com", "org", "net", "ac", "gov", "edu"];
    private static readonly HashSet<string> FreeMail = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "gmx.de", "proton.me"];
    private static readonly string[] LegalSuffixes = ["inc", "llc", "ltd", "gmbh", "corp", "corporation", "co", "sa", "ag", "bv", "plc", "limited", "holdings"];

    public static string Hash(string type, string normalized) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"oe:v1:{type}:{normalized}")));

    public static string? NormalizeDomain(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        var s = raw.Trim().ToLowerInvariant();
        var at = s.LastIndexOf('@');
        if (at >= 0) s = s[(at + 1)..];
        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) s = s[(scheme + 3)..];
        var end = s.IndexOfAny(['/', '?', '#', ':']);
        if (end >= 0) s = s[..end];
        s = s.TrimEnd('.');
        var labels = s.Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (labels.Length < 2 || labels.Any(l => !l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))) return null;
        if (labels.All(l => l.All(char.IsAsciiDigit))) return null;
        var take = labels.Length >= 3 && SecondLevel.Contains(labels[^2]) && labels[^1].Length == 2 ? 3 : 2;
        return string.Join('.', labels[^take..]);
    }

    public static string? NormalizeEmailDomain(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw) || !raw.Contains('@')) return null;
        var domain = NormalizeDomain(raw);
        return domain is null || FreeMail.Contains(domain) ? null : domain;
    }

    public static string? NormalizeName(string? name, string? country)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var folded = name.Normalize(NormalizationForm.FormKD).ToLowerInvariant();
        var sb = new StringBuilder();
        foreach (var c in folded)
        {
            var cat = CharUnicodeInfo.GetUnicodeCategory(c);
            if (cat == UnicodeCategory.NonSpacingMark) continue;
            sb.Append(char.IsLetterOrDigit(c) ? c : ' ');
        }
        var words = sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        while (words.Count > 1 && LegalSuffixes.Contains(words[^1])) words.RemoveAt(words.Count - 1);
        if (words.Count > 1 && words[0] == "the") words.RemoveAt(0);
        if (words.Count == 0) return null;
        var cc = string.IsNullOrWhiteSpace(country) ? "" : country.Trim().ToUpperInvariant();
        return string.Join(' ', words) + "|" + cc;
    }
}
