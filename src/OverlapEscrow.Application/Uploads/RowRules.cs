using Microsoft.Extensions.Options;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Application.Uploads;

/// <summary>The field rules of the upload wire format (docs/api.md, "Upload format"), shared by every parser.</summary>
public sealed class RowRules(IOptions<UploadOptions> options)
{
    private readonly UploadOptions _o = options.Value;

    public void SetRecordId(ParsedRecord row, string? value)
    {
        if (string.IsNullOrEmpty(value)) { row.Fail("recordId", "recordId is required."); return; }
        if (value.Length > _o.MaxRecordIdLength) { row.Fail("recordId", $"recordId is longer than {_o.MaxRecordIdLength} characters."); return; }
        // char.IsControl's ranges, searched vectorized (no enumerator, no delegate call per character).
        if (value.AsSpan().IndexOfAnyInRange('\u0000', '\u001F') >= 0 || value.AsSpan().IndexOfAnyInRange('\u007F', '\u009F') >= 0)
        {
            row.Fail("recordId", "recordId contains control characters.");
            return;
        }
        row.RecordId = value;
    }

    public void SetOp(ParsedRecord row, string? value)
    {
        if (string.IsNullOrEmpty(value) || value == "upsert") row.Delete = false;
        else if (value == "delete") row.Delete = true;
        else row.Fail("op", "op must be \"upsert\" or \"delete\".");
    }

    /// <summary>
    /// The field an error names for a member the row named itself (an unknown field, identifier type or attribute name):
    /// <paramref name="prefix"/> and the name when it reads like a field name (at most 32 letters, digits or underscores,
    /// starting with a letter or underscore), else <paramref name="prefix"/> alone. Errors are answered and kept in the
    /// audit log, in clear and for good, and a name in a member's place can be anything the row holds — an identifier hash
    /// as uploaded (dictionary-reversible), an e-mail address, a company name, 60,000 characters (a hostile trial,
    /// 2026-12-04).
    /// </summary>
    public static string? Named(string? prefix, string name) =>
        name.Length is > 0 and <= 32 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.AsSpan().ContainsAnyExcept(FieldNameChars) is false
            ? (prefix is null ? name : prefix + "." + name)
            : prefix;

    private static readonly System.Buffers.SearchValues<char> FieldNameChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    public void AddHash(ParsedRecord row, string typeName, string? value)
    {
        if (!IdentifierTypes.TryParse(typeName, out var type))
        {
            // Never named: an unknown type is as likely a hash or a value in the wrong place as a misspelt type.
            row.Fail("identifiers", $"Unknown identifier type; known types: {string.Join(", ", IdentifierTypes.All.Select(t => t.WireName()))}.");
            return;
        }
        var field = "identifiers." + typeName;
        if (string.IsNullOrEmpty(value)) return;
        if (row.HashCount >= _o.MaxIdentifiersPerRecord) { row.Fail(field, $"A record has at most {_o.MaxIdentifiersPerRecord} identifiers."); return; }
        if (value.Length != TokenKeyer.HashSize * 2 || value.AsSpan().ContainsAnyExcept(HexDigits)
            || Convert.FromHexString(value, row.NextHash(type), out _, out var written) != System.Buffers.OperationStatus.Done || written != TokenKeyer.HashSize)
        {
            row.Fail(field, "An identifier hash is 64 hexadecimal characters (SHA-256, see docs/hashing.md).");
            return;
        }
        row.CommitHash();
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>The fast path of the NDJSON parser: a hash given as UTF-8 hex, decoded without a string.</summary>
    public void AddHash(ParsedRecord row, IdentifierType type, ReadOnlySpan<byte> utf8Hex)
    {
        if (row.HashCount >= _o.MaxIdentifiersPerRecord) { row.Fail("identifiers." + type.WireName(), $"A record has at most {_o.MaxIdentifiersPerRecord} identifiers."); return; }
        // Decoded straight into the row's hash array: no string, no array per hash.
        if (utf8Hex.Length != TokenKeyer.HashSize * 2
            || Convert.FromHexString(utf8Hex, row.NextHash(type), out _, out var written) != System.Buffers.OperationStatus.Done || written != TokenKeyer.HashSize)
        {
            row.Fail("identifiers." + type.WireName(), "An identifier hash is 64 hexadecimal characters (SHA-256, see docs/hashing.md).");
            return;
        }
        row.CommitHash();
    }

    public void AddAttribute(ParsedRecord row, string name, string? value)
    {
        var field = Named("attributes", name);
        if (!AttributeNames.IsValid(name)) { row.Fail(field, $"Attribute names are {AttributeNames.Rule}."); return; }
        if (value is null) return;
        if (row.Attributes.Count >= _o.MaxAttributesPerRecord) { row.Fail(field, $"A record has at most {_o.MaxAttributesPerRecord} attributes."); return; }
        if (value.Length > _o.MaxAttributeLength) { row.Fail(field, $"Attribute values are at most {_o.MaxAttributeLength} characters."); return; }
        foreach (var a in row.Attributes)
            if (a.Name == name) { row.Fail(field, "The attribute is given twice."); return; }
        row.Attributes.Add(new RecordAttribute(name, value));
    }

    /// <summary>Checks that need the whole row (run after parsing it).</summary>
    public void Complete(ParsedRecord row)
    {
        if (row.Error is not null) return;
        if (row.RecordId is null) row.Fail("recordId", "recordId is required.");
        else if (!row.Delete && row.HashCount == 0) row.Fail("identifiers", "A record needs at least one identifier hash.");
        else if (row.Delete && (row.HashCount > 0 || row.Attributes.Count > 0)) row.Fail("op", "A delete names only the recordId.");
    }
}
