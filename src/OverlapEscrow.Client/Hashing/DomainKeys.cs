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

    // Hosts whose URLs are profiles, searches, short links or hosted pages: the project's list and the upstream list
    // of link shorteners (the first field of each line).
    private static readonly Lazy<HashSet<string>> Platforms = new(() => new HashSet<string>(
        SpecData.Lines("platform-domains.txt").Concat(SpecData.Lines("url-shorteners.txt"))
            .Select(line => line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant()),
        StringComparer.Ordinal));

    private static readonly Lazy<HashSet<string>.AlternateLookup<ReadOnlySpan<char>>> PlatformTails =
        new(() => Platforms.Value.GetAlternateLookup<ReadOnlySpan<char>>());

    // UTS #46 nontransitional processing with STD3 rules (ICU), as IDNA 2008 registries expect: "faß.de" stays ß.
    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true, AllowUnassigned = false };

    // The scheme, the port and the IPv4 test of every website and e-mail host are the specification's regular expressions
    // written out as loops (WithoutScheme, WithoutPort, IsIpv4; DomainKeysTests checks them against the expressions). A
    // Regex instance shared by threads was the costliest part of hashing on several cores: each call takes and gives back
    // the instance's one cached runner, so with two threads the runner and the instance bounced between the cores'
    // caches, and a call that found it taken built a runner of its own.

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex LdhLabel();

    /// <summary>
    /// The domain key of a website field (a URL, a bare host, or an e-mail address entered there). A website on a
    /// platform (a profile, a search, a short link, a hosted page) gives none unless <paramref name="name"/>, the
    /// account's company name, says the account is that platform.
    /// </summary>
    public static KeyResult FromWebsite(string? value, string? name = null)
    {
        var s = Trim(value).Normalize(NormalizationForm.FormC);
        if (s.Length == 0) return KeyResult.None("empty");
        if (Placeholders.Contains(s.ToLowerInvariant())) return KeyResult.None("placeholder");
        var end = s.IndexOfAny(['/', '?', '#', '\\']);
        // An e-mail address only when an '@' stands before any path, query or fragment, and the address is what
        // precedes them (spec v2): "acme.com/careers?ref=jobs@indeed.com" is a URL of acme.com.
        var head = end < 0 ? s : s[..end];
        if (!s.Contains("://", StringComparison.Ordinal) && head.Contains('@')) return FromEmail(head);
        s = WithoutScheme(s);
        if (s.StartsWith("//", StringComparison.Ordinal)) s = s[2..];
        end = s.IndexOfAny(['/', '?', '#', '\\']);
        if (end >= 0) s = s[..end];
        var at = s.LastIndexOf('@');
        if (at >= 0) s = s[(at + 1)..];
        var key = FromHost(s, out var asciiHost);
        if (key.HasKey && OnPlatform(asciiHost!) && !IsPlatformOwner(key.Key!, name)) return KeyResult.None("platform");
        return key;
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
        var key = FromHost(Trim(s[(at + 1)..]), out _);
        if (!key.HasKey) return key;
        return FreeMail.Value.Contains(key.Key!) ? KeyResult.None("free-mail provider") : key;
    }

    /// <summary>The label of a registrable domain left of its public suffix: "acme" for "acme.co.uk".</summary>
    public static string Label(string registrableDomain) => registrableDomain[..registrableDomain.IndexOf('.')];

    /// <summary>Whether the host is a listed platform host or below one.</summary>
    private static bool OnPlatform(string asciiHost)
    {
        // Each tail looked up as a span of the host, not as a string of its own (this runs for every website).
        var platforms = PlatformTails.Value;
        for (var i = 0; ; i++)
        {
            if (platforms.Contains(asciiHost.AsSpan(i))) return true;
            i = asciiHost.IndexOf('.', i);
            if (i < 0) return false;
        }
    }

    /// <summary>The account is the platform itself when one of its name keys is the domain's label, or starts with it and the label has three characters or more.</summary>
    private static bool IsPlatformOwner(string domain, string? name)
    {
        var label = Label(domain);
        foreach (var variant in NameKeys.Variants(name))
            if (variant.Key == label || (label.Length >= 3 && variant.Key.StartsWith(label, StringComparison.Ordinal))) return true;
        return false;
    }

    private static KeyResult FromHost(string host, out string? asciiHost)
    {
        asciiHost = null;
        host = WithoutPort(host);
        if (host.StartsWith('[')) return KeyResult.None("ip address");
        // Lower-case A-Z only; UTS #46 mapping lower-cases the rest (and has no final-sigma rule). A host with nothing
        // to change (most are lower case already) is kept as it is rather than copied.
        host = host.TrimEnd('.');
        if (host.AsSpan().IndexOfAnyInRange('A', 'Z') >= 0)
            host = string.Create(host.Length, host, static (span, h) =>
            {
                for (var i = 0; i < h.Length; i++) span[i] = h[i] is >= 'A' and <= 'Z' ? (char)(h[i] + 32) : h[i];
            });
        if (host.Length == 0) return KeyResult.None("empty");
        foreach (var c in host)
            if (char.IsWhiteSpace(c)) return KeyResult.None("invalid host");
        if (IsIpv4(host)) return KeyResult.None("ip address");
        if (host == "localhost" || !host.Contains('.')) return KeyResult.None("no dot");
        string ascii;
        if (IsPlainAsciiHost(host))
        {
            // Nearly every host: lower-case letters, digits and hyphens in valid labels, no A-label. UTS #46 ToASCII
            // maps, encodes and rejects nothing in it and returns it unchanged, and every check below holds, so ICU is
            // not called (it was the largest single cost of a website key).
            ascii = host;
        }
        else
        {
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
        }
        if (IsAllDigits(ascii.AsSpan(ascii.LastIndexOf('.') + 1))) return KeyResult.None("invalid host"); // no top-level domain is numeric
        var domain = PublicSuffixList.RegistrableDomain(ascii);
        if (domain is null) return KeyResult.None("public suffix");
        asciiHost = ascii;
        return KeyResult.Of(domain);
    }

    /// <summary>The text without a leading URL scheme: what <c>Regex.Replace(s, "^[A-Za-z][A-Za-z0-9+.-]*://", "")</c> gives.</summary>
    internal static string WithoutScheme(string s)
    {
        // The scheme's characters never include ':', so the only candidate is the longest run of them from the start.
        if (s.Length == 0 || !char.IsAsciiLetter(s[0])) return s;
        var i = 1;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '+' or '.' or '-')) i++;
        return s.AsSpan(i).StartsWith("://") ? s[(i + 3)..] : s;
    }

    /// <summary>The host without a trailing port: what <c>Regex.Replace(host, ":[0-9]*$", "")</c> gives.</summary>
    internal static string WithoutPort(string host)
    {
        // Only the last ':' can start a match (any other is followed by one), and "$" matches at the end or before a
        // final line feed, as in .NET's regular expressions without RegexOptions.Multiline.
        var colon = host.LastIndexOf(':');
        if (colon < 0) return host;
        var end = colon + 1;
        while (end < host.Length && char.IsAsciiDigit(host[end])) end++;
        if (end == host.Length) return host[..colon];
        return end == host.Length - 1 && host[end] == '\n' ? string.Concat(host.AsSpan(0, colon), "\n") : host;
    }

    /// <summary>Whether the host is four dot-separated runs of ASCII digits: <c>Regex.IsMatch(host, @"^[0-9]+(\.[0-9]+){3}$")</c>.</summary>
    internal static bool IsIpv4(string host)
    {
        // "$" also matches before a final line feed.
        var text = host.EndsWith('\n') ? host.AsSpan(0, host.Length - 1) : host.AsSpan();
        var parts = 0;
        var digits = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c)) { digits++; continue; }
            if (c != '.' || digits == 0) return false;
            parts++;
            digits = 0;
        }
        return digits > 0 && parts == 3;
    }

    /// <summary>
    /// Whether a lower-cased host is already what UTS #46 ToASCII gives for it and passes the label checks: at most
    /// 253 characters, labels of 1-63 characters of a-z, 0-9 and "-", none starting or ending with "-", none with
    /// "--" in positions 3-4 (so no A-label, which ToASCII would have to decode and validate).
    /// </summary>
    internal static bool IsPlainAsciiHost(string host)
    {
        if (host.Length is 0 or > 253) return false;
        var start = 0;
        for (var i = 0; i <= host.Length; i++)
        {
            if (i < host.Length && host[i] != '.')
            {
                if (host[i] is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) return false;
                continue;
            }
            var length = i - start;
            if (length is 0 or > 63 || host[start] == '-' || host[i - 1] == '-') return false;
            if (length >= 4 && host[start + 2] == '-' && host[start + 3] == '-') return false;
            start = i + 1;
        }
        return true;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> label)
    {
        foreach (var c in label)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
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
