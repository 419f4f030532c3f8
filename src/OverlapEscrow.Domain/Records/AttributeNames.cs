namespace OverlapEscrow.Domain.Records;

/// <summary>The names a record's attributes may have (upload wire format, and the fields a sharing rule names).</summary>
public static class AttributeNames
{
    public const string Rule = "1-64 letters, digits or underscores, starting with a letter";

    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
