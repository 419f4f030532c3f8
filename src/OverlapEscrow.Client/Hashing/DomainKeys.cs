using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// Domain keys from websites and e-mail addresses (docs/hashing.md, "Domain" and "E-mail"): the registrable
/// domain in lower-case A-label form, so "https://www.Acme.co.uk/about", "acme.co.uk" and "investors.acme.co.uk"
/// are one key.
/// </summary>
public static partial class DomainKeys
{
    private static readonly HashSet<string> Placeholders =
        new(["n/a", "na", "n.a.", "-", "--", "none", "null", "nil", "unknown", "tbd", "not available", "no website", "."], StringComparer.Ordinal);

    private static readonly Lazy<HashSet<string>> FreeMail = new(() => new HashSet<string>(SpecData.Lines("free-mail-domains.txt"), StringComparer.Ordinal));

    // UTS #46 nontransitional processing with STD3 rules (ICU), as IDNA 2008 registries expect: "faß.de" stays ß.
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial Regex Scheme();

    [GeneratedRegex(":[0-9]*$")]
    private static partial Regex Port();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+){3}$")]
    private static partial Regex Ipv4();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex LdhLabel();

    /// <summary>The domain key of a website field (a URL, a bare host, or an e-mail address entered there).</summary>
    public static KeyResult FromWebsite(string? value)
    {
        var s = Trim(value).Normalize(NormalizationForm.FormC);
        if (s.Length == 0) return KeyResult.None("empty");
        if (Placeholders.Contains(s.ToLowerInvariant())) return KeyResult.None("placeholder");
        if (s.Contains('@') && !s.Contains("://", StringComparison.Ordinal)) return FromEmail(s);
        s = Scheme().Replace(s, "");
        if (s.StartsWith("//", StringComparison.Ordinal)) s = s[2..];
        var end = s.IndexOfAny(['/', '?', '#', '\\']);
        if (end >= 0) s = s[..end];
        var at = s.LastIndexOf('@');
        if (at >= 0) s = s[(at + 1)..];
        return FromHost(s);
    }

    /// <summary>The domain key of an e-mail field: "jane@acme.com", "Jane &lt;jane@acme.com&gt;", "mailto:…". Free-mail providers give none.</summary>
    public static KeyResult FromEmail(string? value)
    {
        var s = Trim(value).Normalize(NormalizationForm.FormC);
        if (s.Length == 0) return KeyResult.None("empty");
        if (s.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["mailto:".Length..];
            var query = s.IndexOf('?');
            if (query >= 0) s = s[..query];
        }
        var open = s.LastIndexOf('<');
        if (open >= 0)
        {
            var close = s.IndexOf('>', open);
            if (close > open) s = s[(open + 1)..close];
        }
        s = Trim(s);
        var at = s.LastIndexOf('@');
        if (at <= 0) return KeyResult.None("not an e-mail address");
        var key = FromHost(Trim(s[(at + 1)..]));
        if (!key.HasKey) return key;
        return FreeMail.Value.Contains(key.Key!) ? KeyResult.None("free-mail provider") : key;
    }

    /// <summary>The label of a registrable domain left of its public suffix: "acme" for "acme.co.uk".</summary>
    public static string Label(string registrableDomain) => registrableDomain[..registrableDomain.IndexOf('.')];

    private static KeyResult FromHost(string host)
    {
        host = Port().Replace(host, "");
        if (host.StartsWith('[')) return KeyResult.None("ip address");
        // Lower-case A-Z only; UTS #46 mapping lower-cases the rest (and has no final-sigma rule).
        host = string.Create(host.TrimEnd('.').Length, host.TrimEnd('.'), static (span, h) =>
        {
            for (var i = 0; i < h.Length; i++) span[i] = h[i] is >= 'A' and <= 'Z' ? (char)(h[i] + 32) : h[i];
        });
        if (host.Length == 0) return KeyResult.None("empty");
        if (host.Any(char.IsWhiteSpace)) return KeyResult.None("invalid host");
        if (Ipv4().IsMatch(host)) return KeyResult.None("ip address");
        if (host == "localhost" || !host.Contains('.')) return KeyResult.None("no dot");
        string ascii;
        try
        {
            ascii = Idn.GetAscii(host);
        }
        catch (ArgumentException)
        {
            return KeyResult.None("invalid host");
        }
        var labels = ascii.Split('.');
        if (labels.Any(label => !LdhLabel().IsMatch(label) || !IsValidIdnaLabel(label))) return KeyResult.None("invalid host");
        if (labels[^1].All(char.IsAsciiDigit)) return KeyResult.None("invalid host"); // no top-level domain is numeric
        var domain = PublicSuffixList.RegistrableDomain(ascii);
        return domain is null ? KeyResult.None("public suffix") : KeyResult.Of(domain);
    }

    /// <summary>
    /// The IDNA 2008 checks that .NET's UTS #46 mapping leaves out (RFC 5891 §4.2.3): no "--" in positions 3-4
    /// except in an A-label, and a U-label made of letters, combining marks, digits and hyphens only (IDNA 2008
    /// disallows symbols and punctuation such as © that UTS #46 would map).
    /// </summary>
    private static bool IsValidIdnaLabel(string asciiLabel)
    {
        var isALabel = asciiLabel.StartsWith("xn--", StringComparison.Ordinal);
        if (!isALabel) return asciiLabel.Length < 4 || asciiLabel[2..4] != "--";
        string unicode;
        try
        {
            unicode = Idn.GetUnicode(asciiLabel);
        }
        catch (ArgumentException)
        {
            return false;
        }
        if (unicode.Length >= 4 && unicode[2..4] == "--") return false;
        foreach (var rune in unicode.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var ok = rune.Value == '-' || Rune.IsLetter(rune) || category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber;
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>Removes Unicode White_Space from both ends (what string.Trim does).</summary>
    internal static string Trim(string? value) => (value ?? "").Trim();
}
