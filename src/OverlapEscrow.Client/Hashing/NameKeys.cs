using System.Buffers;
using System.Globalization;
using System.Text;

namespace OverlapEscrow.Client.Hashing;

/// <summary>One name key of a company (without the country) and whether it is generic: made only of common words.</summary>
public readonly record struct NameVariant(string Key, bool Generic);

/// <summary>
/// Company-name keys (docs/hashing.md, "Company name"): case, accents, punctuation, a leading "The", legal forms at
/// either end (Inc., GmbH, PT, 株式会社 …) and common abbreviations (Intl, Mfg …) do not matter, and the country is an
/// ISO 3166-1 alpha-2 code. "ACME Ltd." in "United Kingdom" and "Acme" in "GB" are both "acme|GB". A name can have
/// several keys (<see cref="Variants"/>): its trading name, its German spelling, its transliteration, its words in
/// another order, and its key under specification version 1.
/// </summary>
public static class NameKeys
{
    /// <summary>At most this many name keys per account.</summary>
    public const int MaxKeys = 5;

    /// <summary>At most this many skeleton keys per account.</summary>
    public const int MaxSkeletons = 2;

    private static readonly Dictionary<char, string> Transliterations = new()
    {
        ['ß'] = "ss", ['æ'] = "ae", ['œ'] = "oe", ['ø'] = "o", ['đ'] = "d", ['ð'] = "d", ['ł'] = "l", ['þ'] = "th", ['ı'] = "i",
    };

    private static readonly HashSet<char> Deleted = ['\'', '\u2019', '\u02BC', '`', '.'];

    private static readonly HashSet<string> StopWords = new(["and", "of", "the", "de", "du", "des", "la", "le", "der", "die", "das", "von", "van", "y", "et", "und"], StringComparer.Ordinal);

    private static readonly Dictionary<char, string> Umlauts = new()
    {
        ['ä'] = "ae", ['ö'] = "oe", ['ü'] = "ue", ['å'] = "aa", ['ø'] = "oe", ['Ä'] = "Ae", ['Ö'] = "Oe", ['Ü'] = "Ue", ['Å'] = "Aa", ['Ø'] = "Oe",
    };

    // Trading-name separators, as words, in the order they are tried at each position.
    private static readonly string[][] TradingSeparators =
    [
        ["doing", "business", "as"], ["also", "known", "as"], ["trading", "as"], ["d", "b", "a"], ["a", "k", "a"], ["f", "k", "a"],
        ["t", "a"], ["dba"], ["aka"], ["fka"], ["formerly"],
    ];

    private static readonly Lazy<FormsByWord> LegalFormsV1 = new(() => FormsByWord.ByLast(SpecData.Lines("legal-forms-v1.txt")
        .Select(line => Tokens(line).ToArray())
        .Where(t => t.Length > 0)
        .DistinctBy(t => string.Join(' ', t))
        .OrderByDescending(t => t.Length)
        .ToArray()));

    private static readonly Lazy<Dictionary<string, string[]>> Abbreviations = new(() =>
    {
        var table = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var line in SpecData.Lines("abbreviations.tsv"))
        {
            var tab = line.IndexOf('\t');
            var (shortForm, full) = tab < 0 ? (line, "") : (line[..tab], line[(tab + 1)..]);
            var words = Tokens(shortForm);
            if (words.Count == 1) table[words[0]] = [.. Tokens(full)];
        }
        return table;
    });

    private static readonly Lazy<LegalForms> LegalFormsV2 = new(LoadLegalForms);

    private static readonly Lazy<HashSet<string>> CommonWords = new(() =>
        new HashSet<string>(SpecData.Lines("common-words.txt").SelectMany(Tokens), StringComparer.Ordinal));

    private static readonly Lazy<Countries> CountryTable = new(LoadCountries);

    private sealed record Countries(HashSet<string> Alpha2, Dictionary<string, string> Alpha3, Dictionary<string, string> Names);

    private sealed record LegalForms(FormsByWord End, FormsByWord Start, string[] Joined);

    /// <summary>
    /// Legal forms (as words) grouped by the word that must match first: the last word of a form stripped at the end,
    /// the first of one stripped at the start. Each group keeps the list's order (longest first), so the first form of
    /// a name's group that matches is the first form of the whole list that matches: a form whose word differs cannot.
    /// A name is checked against its few candidates instead of every form.
    /// </summary>
    private sealed class FormsByWord(Dictionary<string, string[][]> groups)
    {
        public static FormsByWord ByLast(string[][] ordered) => new(Group(ordered, f => f[^1]));

        public static FormsByWord ByFirst(string[][] ordered) => new(Group(ordered, f => f[0]));

        public string[][] For(string word) => groups.GetValueOrDefault(word) ?? [];

        private static Dictionary<string, string[][]> Group(string[][] ordered, Func<string[], string> word) =>
            ordered.GroupBy(word, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The first name key of a company: with its country ("acme|GB", or "acme|" without one) and without ("acme").</summary>
    public static (KeyResult WithCountry, KeyResult NameOnly) From(string? name, string? country)
    {
        var variants = Variants(name);
        if (variants.Count == 0) return (KeyResult.None("empty"), KeyResult.None("empty"));
        return (KeyResult.Of(variants[0].Key + "|" + CountryCode(country)), KeyResult.Of(variants[0].Key));
    }

    /// <summary>
    /// The name keys of a company name, without the country, in the order of the specification: the key of each part
    /// (legal name, then trading name), then for each part its German/Scandinavian spelling, its transliteration and
    /// its words in sorted order where these differ, then the version 1 key; at most <see cref="MaxKeys"/>.
    /// </summary>
    // The comparison as one delegate: List.Sort(IComparer) makes a delegate of the comparer's Compare on every call.
    private static readonly Comparison<string> ByCodePoint = CodePointComparer.Instance.Compare;

    public static IReadOnlyList<NameVariant> Variants(string? name)
    {
        var text = DomainKeys.Trim(name);
        var tokens = Tokens(text);
        if (tokens.Count == 0) return [];
        var primary = Parts(tokens);
        var candidates = new List<List<string>>(primary);
        var umlaut = UmlautSpelling(text);
        var latin = Transliteration.Transliterate(text);
        var umlautParts = umlaut is null ? null : Parts(umlaut);
        var latinParts = latin is null ? null : Parts(latin);
        for (var i = 0; i < primary.Count; i++)
        {
            if (umlautParts is not null && i < umlautParts.Count) candidates.Add(umlautParts[i]);
            if (latinParts is not null && i < latinParts.Count && latinParts[i].All(IsLatin)) candidates.Add(latinParts[i]);
            // The words without stop words, sorted, when two or more remain (counted first: most names have fewer).
            var kept = 0;
            foreach (var w in primary[i]) if (!StopWords.Contains(w)) kept++;
            if (kept >= 2)
            {
                var rest = new List<string>(kept);
                foreach (var w in primary[i]) if (!StopWords.Contains(w)) rest.Add(w);
                rest.Sort(ByCodePoint);
                candidates.Add(rest);
            }
        }
        // A handful of candidates at most: a linear search of the keys kept so far is what a set of them would answer.
        var result = new List<NameVariant>(candidates.Count + 1);
        foreach (var words in candidates)
        {
            var key = Join(words);
            if (key.Length > 0 && !Contains(result, key)) result.Add(new NameVariant(key, IsGeneric(words)));
        }
        var v1 = KeyV1(tokens);
        if (v1 is not null && !Contains(result, v1) && !IsGeneric(Expand(Tokens(v1)))) result.Add(new NameVariant(v1, false));
        return result.Count > MaxKeys ? result[..MaxKeys] : result;

        static bool Contains(List<NameVariant> variants, string key)
        {
            foreach (var v in variants)
                if (string.Equals(v.Key, key, StringComparison.Ordinal)) return true;
            return false;
        }
    }

    /// <summary>The name key of specification version 1, without the country: legal forms of the v1 list, at the end only.</summary>
    public static string? KeyV1(string? name) => KeyV1(Tokens(DomainKeys.Trim(name)));

    private static string? KeyV1(List<string> tokens)
    {
        if (tokens.Count == 0) return null;
        if (tokens.Count > 1 && tokens[0] == "the") tokens.RemoveAt(0);
        for (var stripped = true; stripped;)
        {
            stripped = false;
            foreach (var form in LegalFormsV1.Value.For(tokens[^1]))
            {
                if (!EndsWith(tokens, form)) continue;
                tokens.RemoveRange(tokens.Count - form.Length, form.Length);
                stripped = true;
                break;
            }
            // "Smith & Co" leaves a dangling "and" once "co" is gone.
            if (stripped && tokens.Count > 1 && tokens[^1] == "and") tokens.RemoveAt(tokens.Count - 1);
        }
        return Join(tokens);
    }

    /// <summary>The words written together (string.Concat over a list, without boxing its enumerator; one word is itself).</summary>
    private static string Join(List<string> words) => words.Count switch
    {
        0 => "",
        1 => words[0],
        2 => string.Concat(words[0], words[1]),
        3 => string.Concat(words[0], words[1], words[2]),
        _ => string.Concat(words),
    };

    /// <summary>Whether a name key is made only of ASCII letters and digits (and so could be a domain label).</summary>
    public static bool IsAsciiKey(string key)
    {
        if (key.Length == 0) return false;
        foreach (var c in key)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9'))) return false;
        return true;
    }

    /// <summary>
    /// The consonant skeleton of a name key of ASCII letters and digits: without a e i o u y, each run of one letter
    /// written once ("mytilineos" and "mytilinaios" are "mtlns"); null when shorter than five characters.
    /// </summary>
    public static string? Skeleton(string key)
    {
        Span<char> buffer = stackalloc char[Math.Min(key.Length, 256)];
        var n = 0;
        foreach (var c in key)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9'))) return null;
            if (c is 'a' or 'e' or 'i' or 'o' or 'u' or 'y') continue;
            if (n > 0 && buffer[n - 1] == c) continue; // a run of one letter is written once
            if (n == buffer.Length) return null;
            buffer[n++] = c;
        }
        return n >= 5 ? new string(buffer[..n]) : null;
    }

    /// <summary>Typo keys come from name keys of at least this many characters (docs/hashing.md, "Typo keys").</summary>
    public const int TypoMinLength = 6;

    /// <summary>Typo keys come from name keys of at most this many characters: at most 25 keys per account.</summary>
    public const int TypoMaxLength = 24;

    /// <summary>
    /// The one-deletion neighbourhood of a name key of ASCII letters and digits (symmetric deletion: Garbe 2012, SymSpell): the
    /// key itself and each string made by deleting one of its characters, distinct, in ordinal order; empty when the
    /// key has fewer than six or more than 24 characters. Two keys one substitution, insertion, deletion or swap of
    /// neighbouring characters apart share at least one of them.
    /// </summary>
    public static IReadOnlyList<string> TypoKeys(string key) => TypoKeys(key, "");

    /// <summary>As <see cref="TypoKeys(string)"/>, each followed by <paramref name="suffix"/> ("|US"): one string per key.</summary>
    public static IReadOnlyList<string> TypoKeys(string key, string suffix)
    {
        if (key.Length is < TypoMinLength or > TypoMaxLength) return [];
        foreach (var c in key)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9'))) return [];
        var keys = new string[key.Length + 1];
        keys[0] = key + suffix;
        for (var i = 0; i < key.Length; i++) keys[i + 1] = string.Concat(key.AsSpan(0, i), key.AsSpan(i + 1), suffix);
        // Ordered without the suffix: "|" sorts after the letters, so a key and its prefix would swap with it.
        var n = suffix.Length;
        Array.Sort(keys, (x, y) => x.AsSpan(0, x.Length - n).SequenceCompareTo(y.AsSpan(0, y.Length - n)));
        var distinct = 1;
        for (var i = 1; i < keys.Length; i++)
            if (!string.Equals(keys[i], keys[distinct - 1], StringComparison.Ordinal)) keys[distinct++] = keys[i];
        return distinct == keys.Length ? keys : keys[..distinct];
    }

    /// <summary>
    /// How many typo keys <paramref name="key"/> gives (what <see cref="TypoOrder"/> returns), without ordering them:
    /// deleting any character of one run of a letter gives one text, deletions in two runs give two (the first run
    /// they differ at tells them apart), and the key itself is longer than all of them; so the runs plus one.
    /// </summary>
    internal static int TypoCount(string key)
    {
        if (key.Length is < TypoMinLength or > TypoMaxLength) return 0;
        var runs = 0;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9'))) return 0;
            if (i == 0 || c != key[i - 1]) runs++;
        }
        return runs + 1;
    }

    /// <summary>
    /// The typo keys of <paramref name="key"/> as <see cref="TypoKeys(string, string)"/> orders them, without a string
    /// each: position <c>i</c> in <paramref name="order"/> stands for the key without its character <c>i</c>, and
    /// <c>key.Length</c> for the key itself. Returns how many were written (distinct, in ordinal order; 0 when the key
    /// gives none); <paramref name="order"/> needs <see cref="TypoMaxLength"/> + 1 entries. Upload lines hash the typo
    /// keys straight from the key with this order (UploadRowWriter), which saves a row about 25 strings.
    /// </summary>
    /// <remarks>
    /// Deleting any character of one run of a letter gives one text (the run's first position stands for it). Deleting
    /// in run <c>k</c> or in a later run gives texts that agree up to the end of run <c>k</c>, where the first holds the
    /// next run's letter and the second run <c>k</c>'s own; so run <c>k</c>'s text comes before every later run's when the
    /// next run's letter is smaller, and after every one of them when it is larger. The key itself behaves as a run past
    /// the end whose letter sorts before every character (a deletion is a prefix of the key when the rest is a run). So
    /// the order is: the runs that come before all later ones, first to last; the key; the others, last to first. No
    /// comparison of two deletions is needed (before, an insertion sort made up to 300 of them per row).
    /// </remarks>
    internal static int TypoOrder(string key, Span<byte> order)
    {
        if (key.Length is < TypoMinLength or > TypoMaxLength) return 0;
        foreach (var c in key)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9'))) return 0;
        var length = key.Length;
        Span<byte> after = stackalloc byte[TypoMaxLength]; // the runs that come after every later one, first to last
        int before = 0, afterCount = 0;
        for (var start = 0; start < length;)
        {
            var end = start;
            while (end + 1 < length && key[end + 1] == key[start]) end++;
            var next = end + 1 < length ? key[end + 1] : -1; // past the end sorts before every character
            if (next < key[start]) order[before++] = (byte)start;
            else after[afterCount++] = (byte)start;
            start = end + 1;
        }
        order[before++] = (byte)length;
        for (var k = afterCount - 1; k >= 0; k--) order[before++] = after[k];
        return before;
    }

    /// <summary>
    /// Whether a domain label and a company name speak of one company: the label (without hyphens) contains one of the
    /// name's keys or is contained in one, or is the initials of the words of one of its parts, with or without the
    /// connecting words ("ibm" for International Business Machines).
    /// </summary>
    public static bool Agrees(string label, string? name) => Agrees(label, name, Variants(name));

    /// <inheritdoc cref="Agrees(string, string?)"/>
    internal static bool Agrees(string label, string? name, IReadOnlyList<NameVariant> variants)
    {
        label = label.Replace("-", "", StringComparison.Ordinal);
        for (var i = 0; i < variants.Count; i++) // an index, not foreach: no boxed enumerator over the interface
            if (variants[i].Key.Contains(label, StringComparison.Ordinal) || label.Contains(variants[i].Key, StringComparison.Ordinal)) return true;
        foreach (var words in Parts(DomainKeys.Trim(name)))
        {
            if (words.Count < 2) continue;
            if (label == string.Concat(words.Select(w => w[0])) || label == string.Concat(words.Where(w => !StopWords.Contains(w)).Select(w => w[0])))
                return true;
        }
        return false;
    }

    // "|" + code for each alpha-2 code, made on first use (two threads may both make one; they are equal).
    private static readonly string?[] Suffixes = new string?[26 * 26];

    /// <summary>"|" and a country code (what follows a name key): one string per code, not one per row.</summary>
    internal static string CountrySuffix(string code)
    {
        if (code.Length != 2 || !char.IsAsciiLetterUpper(code[0]) || !char.IsAsciiLetterUpper(code[1])) return "|" + code;
        var index = (code[0] - 'A') * 26 + (code[1] - 'A');
        return Suffixes[index] ??= "|" + code;
    }

    // A span search rather than LINQ's All over the string, which boxes a character enumerator per call (one per row).
    private static readonly SearchValues<char> AsciiLetters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>The ISO 3166-1 alpha-2 code of a country given as a code or a name, or "" when unknown.</summary>
    public static string CountryCode(string? country)
    {
        var s = DomainKeys.Trim(country);
        if (s.Length == 0) return "";
        var table = CountryTable.Value;
        // Codes are plain ASCII letters; anything else is read as a name.
        var upper = !s.AsSpan().ContainsAnyExcept(AsciiLetters) ? s.ToUpperInvariant() : "";
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
        var text = value.Normalize(NormalizationForm.FormKD);
        // The words are written into one buffer, separated by spaces, and cut out of it: no builder, no joined string and
        // no array of pieces per name (this runs a few times per CRM row). A UTF-16 unit gives at most five characters
        // ("&" is " and "), and a code point of two units at most two.
        var most = text.Length * 5;
        char[]? rented = null;
        var buffer = most <= 512 ? stackalloc char[512] : (rented = ArrayPool<char>.Shared.Rent(most));
        var n = 0;
        // Code points, not UTF-16 units, so letters outside the Basic Multilingual Plane are letters too.
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.IsAscii)
            {
                // Most names are ASCII, where the rule below comes down to this (no ASCII character is a mark or has a
                // transliteration; of the dropped ones only the apostrophe, backtick and period are ASCII).
                var c = (char)rune.Value;
                if (char.IsAsciiLetterOrDigit(c)) buffer[n++] = char.ToLowerInvariant(c);
                else if (c is '&' or '+')
                {
                    " and ".CopyTo(buffer[n..]);
                    n += 5;
                }
                else if (c is not ('\'' or '`' or '.')) buffer[n++] = ' ';
                continue;
            }
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            // Each code point's own lower-case mapping, without context (no final-sigma rule).
            var lower = Rune.ToLowerInvariant(rune);
            if (lower.IsBmp && Transliterations.TryGetValue((char)lower.Value, out var replacement))
            {
                replacement.CopyTo(buffer[n..]);
                n += replacement.Length;
                continue;
            }
            if (lower.Value is '&' or '+')
            {
                " and ".CopyTo(buffer[n..]);
                n += 5;
                continue;
            }
            if (lower.IsBmp && Deleted.Contains((char)lower.Value)) continue;
            var category = Rune.GetUnicodeCategory(lower);
            var isLetter = category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter;
            if (isLetter || category == UnicodeCategory.DecimalDigitNumber) n += lower.EncodeToUtf16(buffer[n..]);
            else buffer[n++] = ' ';
        }
        // The words: the runs between spaces, without empty ones.
        var words = new List<string>(4);
        var start = -1;
        for (var i = 0; i < n; i++)
        {
            if (buffer[i] != ' ')
            {
                if (start < 0) start = i;
                continue;
            }
            if (start >= 0) words.Add(new string(buffer[start..i]));
            start = -1;
        }
        if (start >= 0) words.Add(new string(buffer[start..n]));
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        return words;
    }

    /// <summary>A name made only of common words identifies no company on its own; single characters and numbers count as common next to a common word.</summary>
    internal static bool IsGeneric(List<string> words)
    {
        var common = CommonWords.Value;
        var any = false;
        foreach (var w in words)
        {
            if (common.Contains(w)) { any = true; continue; }
            if (IsOneCodePointOrDigits(w)) continue;
            return false;
        }
        return any;
    }

    /// <summary>Whether a word is a single code point, or only digits (as code points: Rune.IsDigit), counted without an enumerator object.</summary>
    private static bool IsOneCodePointOrDigits(string word)
    {
        var count = 0;
        var digits = true;
        foreach (var rune in word.EnumerateRunes())
        {
            count++;
            digits &= Rune.IsDigit(rune);
        }
        return count == 1 || digits;
    }

    /// <summary>Whether the words end with the form, with at least one word before it (no allocation: this runs per form and row).</summary>
    private static bool EndsWith(List<string> tokens, string[] form)
    {
        if (tokens.Count <= form.Length) return false;
        var offset = tokens.Count - form.Length;
        for (var k = 0; k < form.Length; k++)
            if (!string.Equals(tokens[offset + k], form[k], StringComparison.Ordinal)) return false;
        return true;
    }

    private static bool StartsWith(List<string> tokens, string[] form)
    {
        if (tokens.Count <= form.Length) return false;
        for (var k = 0; k < form.Length; k++)
            if (!string.Equals(tokens[k], form[k], StringComparison.Ordinal)) return false;
        return true;
    }

    private static List<List<string>> Parts(string text) => Parts(Tokens(text));

    /// <summary>The finished words of each part (legal name, trading name) of a name's words.</summary>
    private static List<List<string>> Parts(List<string> tokens)
    {
        var parts = new List<List<string>>(2);
        var split = TradingNameAt(tokens, out var separator);
        if (split < 0) AddPart(parts, tokens);
        else
        {
            AddPart(parts, tokens[..split]);
            AddPart(parts, tokens[(split + separator)..]);
        }
        return parts;

        static void AddPart(List<List<string>> parts, List<string> part)
        {
            var words = StripLegalForms(Expand(part));
            if (words.Count > 0) parts.Add(words);
        }
    }

    /// <summary>
    /// Where the first trading-name separator stands (the legal name is the words before it, the trading name those
    /// after it), and its length in words; -1 when the name has none.
    /// </summary>
    private static int TradingNameAt(List<string> words, out int length)
    {
        for (var i = 1; i < words.Count; i++)
            foreach (var separator in TradingSeparators)
            {
                var n = separator.Length;
                if (i + n >= words.Count) continue;
                var match = true;
                for (var k = 0; k < n && match; k++) match = string.Equals(words[i + k], separator[k], StringComparison.Ordinal);
                if (match)
                {
                    length = n;
                    return i;
                }
            }
        length = 0;
        return -1;
    }

    private static List<string> Expand(List<string> words)
    {
        var table = Abbreviations.Value;
        var result = new List<string>(words.Count);
        foreach (var w in words)
        {
            if (table.TryGetValue(w, out var full)) result.AddRange(full);
            else result.Add(w);
        }
        return result;
    }

    /// <summary>
    /// A leading "the", then legal forms at the end and, where marked, at the start, until none is left; forms of
    /// joined scripts at the end or start of the last or first word. At least one word always remains.
    /// </summary>
    private static List<string> StripLegalForms(List<string> tokens)
    {
        var forms = LegalFormsV2.Value;
        if (tokens.Count > 1 && tokens[0] == "the") tokens.RemoveAt(0);
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var form in forms.End.For(tokens[^1]))
            {
                if (!EndsWith(tokens, form)) continue;
                tokens.RemoveRange(tokens.Count - form.Length, form.Length);
                if (tokens.Count > 1 && tokens[^1] == "and") tokens.RemoveAt(tokens.Count - 1);
                changed = true;
                break;
            }
            if (changed) continue;
            foreach (var form in forms.Start.For(tokens[0]))
            {
                if (!StartsWith(tokens, form)) continue;
                tokens.RemoveRange(0, form.Length);
                changed = true;
                break;
            }
            if (changed) continue;
            foreach (var form in forms.Joined)
            {
                if (tokens[^1].Length > form.Length && tokens[^1].EndsWith(form, StringComparison.Ordinal)) tokens[^1] = tokens[^1][..^form.Length];
                else if (tokens[0].Length > form.Length && tokens[0].StartsWith(form, StringComparison.Ordinal)) tokens[0] = tokens[0][form.Length..];
                else if (tokens.Count > 1 && tokens[^1] == form) tokens.RemoveAt(tokens.Count - 1);
                else if (tokens.Count > 1 && tokens[0] == form) tokens.RemoveAt(0);
                else continue;
                changed = true;
                break;
            }
        }
        return tokens;
    }

    private static string? UmlautSpelling(string text)
    {
        if (Ascii.IsValid(text)) return null;
        text = text.Normalize(NormalizationForm.FormC);
        if (!text.Any(Umlauts.ContainsKey)) return null;
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (Umlauts.TryGetValue(c, out var spelled)) sb.Append(spelled);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool IsLatin(string word)
    {
        foreach (var rune in word.EnumerateRunes())
            if (!(rune.Value <= 0x024F || rune.Value is >= 0x1E00 and <= 0x1EFF)) return false;
        return true;
    }

    /// <summary>Characters of scripts written without spaces between words: Hangul jamo, kana, Han.</summary>
    private static bool IsJoinedScript(string text) => text.All(c => c is >= '\u1100' and <= '\u11FF' or >= '\u3040' and <= '\u30FF'
        or >= '\u3400' and <= '\u4DBF' or >= '\u4E00' and <= '\u9FFF' or >= '\uF900' and <= '\uFAFF');

    private static LegalForms LoadLegalForms()
    {
        var end = new List<string[]>();
        var start = new List<string[]>();
        var joined = new List<string>();
        var seenEnd = new HashSet<string>(StringComparer.Ordinal);
        var seenStart = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in SpecData.Lines("legal-forms.txt"))
        {
            var atStart = line.StartsWith('<');
            var words = Expand(Tokens(atStart ? line[1..] : line)).ToArray();
            if (words.Length == 0) continue;
            if (words.All(IsJoinedScript))
            {
                var form = string.Concat(words);
                if (!joined.Contains(form)) joined.Add(form);
                continue;
            }
            var id = string.Join(' ', words);
            if (seenEnd.Add(id)) end.Add(words);
            if (atStart && seenStart.Add(id)) start.Add(words);
        }
        // Longest first; among forms of one length the order cannot matter, but it is fixed anyway.
        static string[][] Order(List<string[]> forms) =>
            [.. forms.OrderByDescending(f => f.Length).ThenBy(f => string.Join(' ', f), CodePointComparer.Instance)];
        return new LegalForms(FormsByWord.ByLast(Order(end)), FormsByWord.ByFirst(Order(start)), [.. joined.OrderByDescending(f => f.Length).ThenBy(f => f, CodePointComparer.Instance)]);
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

/// <summary>Orders strings by code point (as the specification and Python do), not by UTF-16 unit.</summary>
internal sealed class CodePointComparer : IComparer<string>
{
    public static readonly CodePointComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var a = x.EnumerateRunes();
        var b = y.EnumerateRunes();
        while (true)
        {
            var hasA = a.MoveNext();
            var hasB = b.MoveNext();
            if (!hasA || !hasB) return hasA ? 1 : hasB ? -1 : 0;
            var c = a.Current.Value.CompareTo(b.Current.Value);
            if (c != 0) return c;
        }
    }
}
