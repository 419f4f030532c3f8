using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace OverlapEscrow.Domain.Records;

/// <summary>
/// A record's attributes (or the part of them a rule lets through) read as a dictionary by name, in their own order,
/// without copying them into one: a list page shows 50–1,000 records, each with its attributes and its partner
/// matches' fields, and a hash table per record and match was most of what building a page allocated. Names are
/// unique within a record (an upload refuses a field given twice), and a record has a handful of attributes, so a
/// look-up by name is a scan. Read-only: the array it reads is the record's own and is never changed.
/// </summary>
public sealed class AttributeMap : IReadOnlyDictionary<string, string>
{
    public static readonly AttributeMap Empty = new([]);

    private readonly RecordAttribute[] _attributes;

    public AttributeMap(RecordAttribute[] attributes) => _attributes = attributes;

    /// <summary>The attributes, in order (for writers that want no enumerator).</summary>
    public ReadOnlySpan<RecordAttribute> Attributes => _attributes;

    public int Count => _attributes.Length;

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No attribute '{key}'.");

    public IEnumerable<string> Keys => _attributes.Select(a => a.Name);

    public IEnumerable<string> Values => _attributes.Select(a => a.Value);

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        foreach (var a in _attributes)
            if (string.Equals(a.Name, key, StringComparison.Ordinal))
            {
                value = a.Value;
                return true;
            }
        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        foreach (var a in _attributes) yield return new KeyValuePair<string, string>(a.Name, a.Value);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
