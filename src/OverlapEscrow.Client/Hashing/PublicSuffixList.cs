using System.Globalization;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// The registrable domain of a host per the Public Suffix List algorithm (https://publicsuffix.org/list/):
/// the longest matching rule wins, an exception rule beats every other rule, and "*" applies when none matches.
/// Both the ICANN and the PRIVATE sections are used, so "acme.github.io" and "other.github.io" stay two domains.
/// The list is the copy embedded in this assembly; its date is part of the specification version.
/// </summary>
public static class PublicSuffixList
{
    private static readonly Lazy<Rules> Loaded = new(Load);

    private sealed record Rules(HashSet<string> Normal, HashSet<string> Wildcards, HashSet<string> Exceptions);

    /// <summary>The registrable domain (public suffix plus one label) of a lower-case A-label host, or null when the host is itself a public suffix.</summary>
    public static string? RegistrableDomain(string host)
    {
        var rules = Loaded.Value;
        var labels = host.Split('.');
        var suffixLength = 1;
        for (var i = 0; i < labels.Length; i++)
        {
            var candidate = string.Join('.', labels[i..]);
            if (rules.Exceptions.Contains(candidate))
                return labels.Length - i - 1 < 1 ? null : string.Join('.', labels[i..]); // an exception rule wins outright
            if (rules.Normal.Contains(candidate)) suffixLength = Math.Max(suffixLength, labels.Length - i);
            else if (i + 1 < labels.Length && rules.Wildcards.Contains(string.Join('.', labels[(i + 1)..])))
                suffixLength = Math.Max(suffixLength, labels.Length - i);
        }
        return labels.Length <= suffixLength ? null : string.Join('.', labels[^(suffixLength + 1)..]);
    }

    private static Rules Load()
    {
        var idn = new IdnMapping { UseStd3AsciiRules = false, AllowUnassigned = true };
        var normal = new HashSet<string>(StringComparer.Ordinal);
        var wildcards = new HashSet<string>(StringComparer.Ordinal);
        var exceptions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in SpecData.Lines("public_suffix_list.dat"))
        {
            if (raw.StartsWith("//", StringComparison.Ordinal)) continue;
            var rule = raw.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant();
            if (rule.StartsWith('!')) exceptions.Add(Ascii(idn, rule[1..]));
            else if (rule.StartsWith("*.", StringComparison.Ordinal)) wildcards.Add(Ascii(idn, rule[2..]));
            else normal.Add(Ascii(idn, rule));
        }
        return new Rules(normal, wildcards, exceptions);
    }

    private static string Ascii(IdnMapping idn, string rule) =>
        string.Join('.', rule.Split('.').Select(label => label.All(char.IsAscii) ? label : idn.GetAscii(label)));
}
