using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>
/// Latin letters for names written in Cyrillic (ICAO Doc 9303), Greek (ELOT 743), kana (modified Hepburn) and Hangul
/// (Revised Romanization, letter by letter), from the table transliteration.tsv (docs/hashing.md, "Transliteration").
/// </summary>
internal static class Transliteration
{
    private static readonly Lazy<(Dictionary<string, string> Table, int Longest)> Loaded = new(() =>
    {
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in SpecData.Lines("transliteration.tsv"))
        {
            var tab = line.IndexOf('\t');
            // A source without a target (the soft sign) maps to nothing; trimming the line removed its tab.
            if (tab < 0) table[line] = "";
            else table[line[..tab]] = line[(tab + 1)..];
        }
        return (table, table.Keys.Max(k => k.Length));
    });

    private static bool HasScriptLetter(string text)
    {
        foreach (var c in text)
            if (c is >= '\u0370' and <= '\u052F' or >= '\u1100' and <= '\u11FF' or >= '\u1F00' and <= '\u1FFF'
                or >= '\u3040' and <= '\u30FF' or >= '\uAC00' and <= '\uD7A3')
                return true;
        return false;
    }

    /// <summary>The name with its Cyrillic, Greek, kana and Hangul letters in Latin letters, or null when it has none.</summary>
    public static string? Transliterate(string text)
    {
        // Most names have no letter of these scripts: say so without building anything (a loop over the characters, not
        // LINQ's Any, which boxes a character enumerator per call: one per row).
        if (!HasScriptLetter(text)) return null;
        var (table, longest) = Loaded.Value;
        var lower = new StringBuilder(text.Length);
        foreach (var rune in text.Normalize(NormalizationForm.FormC).EnumerateRunes())
        {
            if (rune.Value is >= 0xAC00 and <= 0xD7A3) lower.Append(rune.ToString().Normalize(NormalizationForm.FormD)); // Hangul syllable into jamo
            else lower.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        var s = lower.ToString();
        var output = new StringBuilder(s.Length * 2);
        var changed = false;
        for (var i = 0; i < s.Length;)
        {
            if (IsKana(s[i]))
            {
                var j = i;
                while (j < s.Length && IsKana(s[j])) j++;
                output.Append(RomanizeKana(s[i..j], table));
                changed = true;
                i = j;
                continue;
            }
            var matched = false;
            for (var n = Math.Min(longest, s.Length - i); n >= 1; n--)
            {
                if (!table.TryGetValue(s.Substring(i, n), out var latin)) continue;
                output.Append(latin);
                changed = matched = true;
                i += n;
                break;
            }
            if (!matched) output.Append(s[i++]);
        }
        return changed ? output.ToString() : null;
    }

    private static bool IsKana(char c) => c is >= '\u3041' and <= '\u3096' or >= '\u30A1' and <= '\u30FA' or '\u30FC';

    private static string RomanizeKana(string run, Dictionary<string, string> table)
    {
        // Katakana are read as hiragana.
        var kana = string.Create(run.Length, run, static (span, r) =>
        {
            for (var k = 0; k < r.Length; k++) span[k] = r[k] is >= '\u30A1' and <= '\u30F6' ? (char)(r[k] - 0x60) : r[k];
        });
        var sb = new StringBuilder(kana.Length * 2);
        var doubled = false;
        for (var i = 0; i < kana.Length;)
        {
            var c = kana[i];
            if (c is '\u3063' or '\u30C3') { doubled = true; i++; continue; } // small tsu: the next consonant is doubled
            if (c == '\u30FC') { i++; continue; } // long vowel mark: written without a macron
            var matched = false;
            for (var n = Math.Min(2, kana.Length - i); n >= 1; n--)
            {
                if (!table.TryGetValue(kana.Substring(i, n), out var roman)) continue;
                if (doubled && roman.Length > 0 && !"aeiou".Contains(roman[0])) roman = (roman.StartsWith("ch", StringComparison.Ordinal) ? "t" : roman[..1]) + roman;
                sb.Append(roman);
                doubled = false;
                matched = true;
                i += n;
                break;
            }
            if (!matched)
            {
                sb.Append(c);
                doubled = false;
                i++;
            }
        }
        // Long vowels are written as one vowel.
        return sb.ToString().Replace("ou", "o", StringComparison.Ordinal).Replace("oo", "o", StringComparison.Ordinal).Replace("uu", "u", StringComparison.Ordinal);
    }
}
