using System.Globalization;
using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// Company-name keys (docs/hashing.md, "Company name"): case, accents, punctuation, a leading "The" and trailing
/// legal forms (Inc., GmbH, S.p.A., K.K. …) do not matter, and the country is an ISO 3166-1 alpha-2 code.
/// "ACME Ltd." in "United Kingdom" and "Acme" in "GB" are both "acme|GB".
/// </summary>
public static class NameKeys
{
    private static readonly Dictionary<char, string> Transliterations = new()
    {
        ['ß'] = "ss", ['æ'] = "ae", ['œ'] = "oe", ['ø'] = "o", ['đ'] = "d", ['ð'] = "d", ['ł'] = "l", ['þ'] = "th", ['ı'] = "i",
    };

    private static readonly HashSet<char> Deleted = ['\'', '\u2019', '\u02BC', '`', '.'];

    private static readonly Lazy<string[][]> LegalForms = new(() => SpecData.Lines("legal-forms.txt")
        .Select(line => Tokens(line).ToArray())
        .Where(t => t.Length > 0)
        .DistinctBy(t => string.Join(' ', t))
        .OrderByDescending(t => t.Length)
        .ToArray());

    private static readonly Lazy<Countries> CountryTable = new(LoadCountries);

    private sealed record Countries(HashSet<string> Alpha2, Dictionary<string, string> Alpha3, Dictionary<string, string> Names);

    /// <summary>The name keys of a company: with its country ("acme|GB", or "acme|" without one) and without ("acme").</summary>
    public static (KeyResult WithCountry, KeyResult NameOnly) From(string? name, string? country)
    {
        var tokens = Tokens(DomainKeys.Trim(name));
        if (tokens.Count == 0) return (KeyResult.None("empty"), KeyResult.None("empty"));
        if (tokens.Count > 1 && tokens[0] == "the") tokens.RemoveAt(0);
        for (var stripped = true; stripped;)
        {
            stripped = false;
            foreach (var form in LegalForms.Value)
            {
                if (tokens.Count <= form.Length || !tokens[^form.Length..].SequenceEqual(form)) continue;
                tokens.RemoveRange(tokens.Count - form.Length, form.Length);
                stripped = true;
                break;
            }
            // "Smith & Co" leaves a dangling "and" once "co" is gone.
            if (stripped && tokens.Count > 1 && tokens[^1] == "and") tokens.RemoveAt(tokens.Count - 1);
        }
        var bare = string.Concat(tokens);
        return (KeyResult.Of(bare + "|" + CountryCode(country)), KeyResult.Of(bare));
    }

    /// <summary>The ISO 3166-1 alpha-2 code of a country given as a code or a name, or "" when unknown.</summary>
    public static string CountryCode(string? country)
    {
        var s = DomainKeys.Trim(country);
        if (s.Length == 0) return "";
        var table = CountryTable.Value;
        // Codes are plain ASCII letters; anything else is read as a name.
        var upper = s.All(char.IsAsciiLetter) ? s.ToUpperInvariant() : "";
        if (upper == "UK") return "GB";
        if (upper.Length == 2 && table.Alpha2.Contains(upper)) return upper;
        if (upper.Length == 3 && table.Alpha3.TryGetValue(upper, out var fromAlpha3)) return fromAlpha3;
        return table.Names.GetValueOrDefault(string.Join(' ', Tokens(s))) ?? "";
    }

    /// <summary>
    /// The words of a name: NFKD without nonspacing marks, lower case, a few letters transliterated, "&amp;" and "+"
    /// read as "and", apostrophes and periods dropped (so "S.p.A." is "spa"), any other non-letter, non-digit a break.
    /// </summary>
    internal static List<string> Tokens(string value)
    {
        var sb = new StringBuilder(value.Length);
        // Code points, not UTF-16 units, so letters outside the Basic Multilingual Plane are letters too.
        foreach (var rune in value.Normalize(NormalizationForm.FormKD).EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            // Each code point's own lower-case mapping, without context (no final-sigma rule).
            var lower = Rune.ToLowerInvariant(rune);
            if (lower.IsBmp && Transliterations.TryGetValue((char)lower.Value, out var replacement)) { sb.Append(replacement); continue; }
            if (lower.Value is '&' or '+') { sb.Append(" and "); continue; }
            if (lower.IsBmp && Deleted.Contains((char)lower.Value)) continue;
            var category = Rune.GetUnicodeCategory(lower);
            var isLetter = category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;
            if (isLetter || category == UnicodeCategory.DecimalDigitNumber) sb.Append(lower.ToString());
            else sb.Append(' ');
        }
        return [.. sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static Countries LoadCountries()
    {
        var alpha2 = new HashSet<string>(StringComparer.Ordinal);
        var alpha3 = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in SpecData.Lines("countries.tsv"))
        {
            var parts = line.Split('\t');
            alpha2.Add(parts[0]);
            alpha3[parts[1]] = parts[0];
            foreach (var name in parts[2].Split('|')) names[string.Join(' ', Tokens(name))] = parts[0];
        }
        return new Countries(alpha2, alpha3, names);
    }
}
