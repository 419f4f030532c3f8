using System.Globalization;
using System.Text;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// NameKeys.Tokens writes a name's words into one buffer and cuts them out of it; it must give the words the rule gives
/// (docs/hashing.md, "Company name"), which the implementation below spells out with a builder and a split, as the
/// client did before.
/// </summary>
public class NameTokensTests
{
    [Theory]
    [InlineData("ACME, Inc.", new[] { "acme", "inc" })]
    [InlineData("Smith & Wesson+Co", new[] { "smith", "and", "wesson", "and", "co" })]
    [InlineData("  S.p.A.  ", new[] { "spa" })]
    [InlineData("Straße Ærø Łódź", new[] { "strasse", "aero", "lodz" })]
    [InlineData("O\u2019Brien\u00A0Ltd", new[] { "obrien", "ltd" })]
    [InlineData("株式会社 ソニー", new[] { "株式会社", "ソニー" })]
    [InlineData("\U0001D400BC 12", new[] { "abc", "12" })] // a letter outside the Basic Multilingual Plane (NFKD: "A")
    [InlineData("--- ...", new string[0])]
    [InlineData("", new string[0])]
    public void ANamesWordsAreWhatTheRuleGives(string name, string[] words) =>
        Assert.Equal(words, NameKeys.Tokens(name));

    [Fact]
    public void TokensAreTheBuilderAndSplitsWordsForEveryTextOfTheSamplesAndForRandomText()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "data");
        var texts = Directory.EnumerateFiles(root, "*.csv", SearchOption.AllDirectories)
            .SelectMany(File.ReadLines).SelectMany(line => line.Split(',')).Distinct().ToList();
        Assert.True(texts.Count > 1_000, $"only {texts.Count} texts under {root}");
        // Random text from the characters the rule treats apart: ASCII, marks, ligatures, transliterated letters,
        // apostrophes, "&" and "+", spaces of several kinds, CJK, and letters outside the Basic Multilingual Plane;
        // long enough now and then for a buffer larger than the stack's.
        string[] pieces = ["a", "Z", "7", " ", "`", "_", "@", "\"", "(", "|", "~", "\u007F", "\0", "\u00A0", "\t", "&", "+", "'", "\u2019", ".", "-", "é", "e\u0301", "ß", "Æ", "ø", "Ł", "þ", "ı",
            "ﬁ", "Ⅻ", "²", "株", "ソ", "한", "Σ", "ς", "\U0001D400", "\U00020000", "İ", "ǅ", "٣", "Д"];
        var random = new Random(7);
        for (var n = 0; n < 5_000; n++)
            texts.Add(string.Concat(Enumerable.Range(0, random.Next(0, n % 50 == 0 ? 400 : 30)).Select(_ => pieces[random.Next(pieces.Length)])));
        foreach (var text in texts)
            Assert.Equal(BuilderAndSplit(text), NameKeys.Tokens(text));
    }

    /// <summary>The words of a name as the client took them before: a builder per name, then a split on spaces.</summary>
    private static List<string> BuilderAndSplit(string value)
    {
        var transliterations = new Dictionary<char, string>
        {
            ['ß'] = "ss", ['æ'] = "ae", ['œ'] = "oe", ['ø'] = "o", ['đ'] = "d", ['ð'] = "d", ['ł'] = "l", ['þ'] = "th", ['ı'] = "i",
        };
        char[] deleted = ['\'', '\u2019', '\u02BC', '`', '.'];
        var sb = new StringBuilder();
        foreach (var rune in value.Normalize(NormalizationForm.FormKD).EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            var lower = Rune.ToLowerInvariant(rune);
            if (lower.IsBmp && transliterations.TryGetValue((char)lower.Value, out var replacement)) { sb.Append(replacement); continue; }
            if (lower.Value is '&' or '+') { sb.Append(" and "); continue; }
            if (lower.IsBmp && deleted.Contains((char)lower.Value)) continue;
            var category = Rune.GetUnicodeCategory(lower);
            if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber)
                sb.Append(lower.ToString());
            else sb.Append(' ');
        }
        return [.. sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }
}
