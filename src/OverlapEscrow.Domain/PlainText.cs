using System.Globalization;
using System.Text;

namespace OverlapEscrow.Domain;

/// <summary>
/// What text people read on another screen may hold: names (an organization's, a population's, a schedule's, a key's,
/// a member's), email addresses and notes. No control characters, and no invisible format characters (Unicode category
/// Cf: the bidirectional overrides and isolates, zero-width spaces, word joiners, tag characters, the soft hyphen),
/// which can make one name look like another or reorder what follows it on screen (Unicode Technical Standard #39,
/// "Unicode Security Mechanisms"; the bidirectional "Trojan Source" attack, CVE-2021-42574). The zero-width joiner
/// and non-joiner stay: scripts such as Persian and Devanagari, and emoji sequences, need them.
/// </summary>
public static class PlainText
{
    /// <summary>Whether <paramref name="text"/> has no control and no invisible format character.</summary>
    public static bool IsPlain(string text) => IsPlain(text, allowLineBreaks: false);

    /// <summary>As <see cref="IsPlain(string)"/>, line feeds, carriage returns and tabs allowed (notes and messages).</summary>
    public static bool IsPlain(string text, bool allowLineBreaks)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (allowLineBreaks && rune.Value is '\n' or '\r' or '\t') continue;
            if (Rune.IsControl(rune)) return false;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format && rune.Value is not (0x200C or 0x200D)) return false;
        }
        return true;
    }
}
