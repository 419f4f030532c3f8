using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// Attribute names on the wire are 1–64 of A-Z a-z 0-9 _ starting with a letter (docs/api.md, "NDJSON").
/// A CRM column name becomes one in camelCase: accents are dropped, every run of other characters (spaces,
/// punctuation, underscores) separates words, the first word is lower-cased and each later word capitalized; a
/// word written in capitals counts as one word ("CRM ID" → "crmId"), a word already in mixed case keeps its
/// inner capitals ("AccountName" → "accountName").
/// </summary>
/// <example>"Account Name" → "accountName"; "Owner" → "owner"; "Billing Country" → "billingCountry";
/// "Primary Contact Email" → "primaryContactEmail"; "ARR (USD)" → "arrUsd"; "Région" → "region".</example>
public static partial class AttributeNames
{
    public const int MaxLength = 64;

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    private static partial Regex Valid();

    public static bool IsValid(string name) => Valid().IsMatch(name);

    /// <summary>The wire name for a column, or null when the column name gives no valid one (no letters, a leading digit, too long).</summary>
    public static string? FromColumn(string column)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var c in column.Normalize(NormalizationForm.FormKD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            if (char.IsAsciiLetterOrDigit(c)) word.Append(c);
            else if (word.Length > 0) { words.Add(word.ToString()); word.Clear(); }
        }
        if (word.Length > 0) words.Add(word.ToString());
        var sb = new StringBuilder();
        foreach (var w in words)
        {
            var part = w.Any(char.IsAsciiLetterLower) ? w : w.ToLowerInvariant();
            sb.Append(sb.Length == 0 ? char.ToLowerInvariant(part[0]) : char.ToUpperInvariant(part[0])).Append(part, 1, part.Length - 1);
        }
        var name = sb.ToString();
        return IsValid(name) ? name : null;
    }

    /// <summary>
    /// Parses an --attribute value: "Column" (its name converted by <see cref="FromColumn"/>) or "Column=wireName"
    /// (the name given explicitly). Throws <see cref="ArgumentException"/> with a one-line reason.
    /// </summary>
    public static AttributeColumn Parse(string spec)
    {
        var eq = spec.LastIndexOf('=');
        if (eq >= 0)
        {
            var column = spec[..eq].Trim();
            var name = spec[(eq + 1)..].Trim();
            if (column.Length == 0) throw new ArgumentException($"--attribute \"{spec}\": the column name before '=' is empty.");
            if (!IsValid(name))
                throw new ArgumentException($"--attribute \"{spec}\": \"{name}\" is not a valid attribute name (1–{MaxLength} of A-Z a-z 0-9 _, starting with a letter).");
            return new AttributeColumn(column, name);
        }
        var trimmed = spec.Trim();
        if (trimmed.Length == 0) throw new ArgumentException("--attribute needs a column name.");
        return new AttributeColumn(trimmed, FromColumn(trimmed)
            ?? throw new ArgumentException($"--attribute \"{spec}\": the column name gives no valid attribute name; name it explicitly, e.g. --attribute \"{trimmed}=myName\"."));
    }
}

/// <summary>A CRM column uploaded as an attribute, and its name on the wire.</summary>
public sealed record AttributeColumn(string Column, string Name);
