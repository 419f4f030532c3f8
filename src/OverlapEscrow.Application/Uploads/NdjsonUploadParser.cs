using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// Newline-delimited JSON, one record object per line (blank lines ignored). Reads the body through a pipe a
/// buffer at a time, so memory stays bounded by the longest allowed row whatever the body size. Row numbers
/// are line numbers.
/// </summary>
public sealed class NdjsonUploadParser(RowRules rules, IOptions<UploadOptions> options) : IUploadParser
{
    public async IAsyncEnumerable<ParsedRecord> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken ct)
    {
        var maxRow = options.Value.MaxRowBytes;
        var reader = PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        long line = 0;
        var batch = new List<ParsedRecord>(256);
        var strings = new AttributeStrings();
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(ct);
                var buffer = result.Buffer;
                while (TryTakeLine(ref buffer, out var text))
                {
                    line++;
                    if (text.Length > maxRow) throw TooLong(line, maxRow);
                    if (!IsBlank(text)) batch.Add(ParseLine(text, line, strings));
                }
                if (buffer.Length > maxRow) throw TooLong(line + 1, maxRow);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty && !IsBlank(buffer)) batch.Add(ParseLine(buffer, ++line, strings));
                    buffer = buffer.Slice(buffer.End);
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                foreach (var row in batch) yield return row;
                batch.Clear();
                if (result.IsCompleted) break;
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static UploadRejectedException TooLong(long line, int max) =>
        new(400, "A row is too long", $"Row {line} is longer than {max} bytes; nothing was applied.", new RowError(line, null, $"The row is longer than {max} bytes."));

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null) { line = default; return false; }
        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private static bool IsBlank(ReadOnlySequence<byte> text)
    {
        foreach (var segment in text)
            foreach (var b in segment.Span)
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
        return true;
    }

    private ParsedRecord ParseLine(ReadOnlySequence<byte> text, long line, AttributeStrings strings)
    {
        var row = new ParsedRecord { Row = line };
        try
        {
            var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { row.Fail(null, "A row is one JSON object."); return row; }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // Property names are compared as UTF-8, without allocating a string per field.
                if (reader.ValueTextEquals("recordId"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) { row.Fail("recordId", "recordId must be a string."); reader.Skip(); }
                    else rules.SetRecordId(row, reader.GetString());
                }
                else if (reader.ValueTextEquals("identifiers"u8))
                {
                    reader.Read();
                    ReadIdentifiers(ref reader, row);
                }
                else if (reader.ValueTextEquals("attributes"u8))
                {
                    reader.Read();
                    ReadAttributes(ref reader, row, strings);
                }
                else if (reader.ValueTextEquals("op"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) { row.Fail("op", "op must be a string."); reader.Skip(); }
                    else rules.SetOp(row, reader.GetString());
                }
                else
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    row.Fail(name, "Unknown field; a row has recordId, op, identifiers and attributes.");
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                row.Fail(null, "A row is one JSON object.");
        }
        catch (JsonException)
        {
            row.Fail(null, "The row is not valid JSON.");
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader.GetString throws this for a string that is not valid UTF-8.
            row.Fail(null, "The row is not valid UTF-8.");
        }
        rules.Complete(row);
        return row;
    }

    private void ReadIdentifiers(ref Utf8JsonReader reader, ParsedRecord row)
    {
        if (reader.TokenType != JsonTokenType.StartObject) { row.Fail("identifiers", "identifiers must be an object of type → hash or [hashes]."); reader.Skip(); return; }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            IdentifierType? known = reader.ValueTextEquals("domain"u8) ? IdentifierType.Domain
                : reader.ValueTextEquals("name"u8) ? IdentifierType.Name
                : reader.ValueTextEquals("domain_label"u8) ? IdentifierType.DomainLabel
                : reader.ValueTextEquals("name_only"u8) ? IdentifierType.NameOnly : null;
            var typeName = known?.WireName() ?? reader.GetString()!;
            reader.Read();
            if (reader.TokenType == JsonTokenType.String) AddHash(ref reader, row, known, typeName);
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.String) AddHash(ref reader, row, known, typeName);
                    else { row.Fail("identifiers." + typeName, "Identifier hashes are strings."); reader.Skip(); }
                }
            }
            else if (reader.TokenType != JsonTokenType.Null) { row.Fail("identifiers." + typeName, "Identifier hashes are strings."); reader.Skip(); }
        }
    }

    private void AddHash(ref Utf8JsonReader reader, ParsedRecord row, IdentifierType? known, string typeName)
    {
        if (known is { } type && !reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            if (reader.ValueSpan.Length > 0) rules.AddHash(row, type, reader.ValueSpan);
        }
        else rules.AddHash(row, typeName, reader.GetString());
    }

    private void ReadAttributes(ref Utf8JsonReader reader, ParsedRecord row, AttributeStrings strings)
    {
        if (reader.TokenType != JsonTokenType.StartObject) { row.Fail("attributes", "attributes must be an object of name → string."); reader.Skip(); return; }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var slot = strings.Name(ref reader);
            var name = slot?.Name ?? reader.GetString()!;
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.String: rules.AddAttribute(row, name, slot is null ? reader.GetString() : slot.Value(ref reader)); break;
                // The number exactly as written (100.10 stays "100.10"), not as a double would print it.
                case JsonTokenType.Number: rules.AddAttribute(row, name, System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan)); break;
                case JsonTokenType.True or JsonTokenType.False: rules.AddAttribute(row, name, reader.GetBoolean() ? "true" : "false"); break;
                case JsonTokenType.Null: rules.AddAttribute(row, name, null); break;
                default: row.Fail("attributes." + name, "Attribute values are strings, numbers or booleans."); reader.Skip(); break;
            }
        }
    }

    /// <summary>
    /// The attribute names of one upload, and the last value of each, as strings made once: a CRM export repeats its
    /// column names on every row and many of its values (stage, country, owner) on most, so a row's attributes
    /// usually cost no new string. Compared as UTF-8 bytes, only for names and values the reader holds unescaped
    /// in one span; anything else is read as before. At most <see cref="MaxNames"/> names are kept per upload.
    /// </summary>
    private sealed class AttributeStrings
    {
        private const int MaxNames = 64;
        private const int MaxValueBytes = 64;
        private readonly List<Slot> _slots = [];

        public Slot? Name(ref Utf8JsonReader reader)
        {
            if (reader.HasValueSequence || reader.ValueIsEscaped) return null;
            var utf8 = reader.ValueSpan;
            foreach (var slot in _slots)
                if (utf8.SequenceEqual(slot.NameUtf8)) return slot;
            if (_slots.Count == MaxNames) return null;
            var added = new Slot(utf8.ToArray(), reader.GetString()!);
            _slots.Add(added);
            return added;
        }

        public sealed class Slot(byte[] nameUtf8, string name)
        {
            private readonly byte[] _last = new byte[MaxValueBytes];
            private int _lastLength = -1;
            private string? _lastValue;

            public byte[] NameUtf8 { get; } = nameUtf8;
            public string Name { get; } = name;

            /// <summary>The string value the reader is on: the last one of this name if it has the same bytes.</summary>
            public string? Value(ref Utf8JsonReader reader)
            {
                if (reader.HasValueSequence || reader.ValueIsEscaped) return reader.GetString();
                var utf8 = reader.ValueSpan;
                if (utf8.Length == _lastLength && utf8.SequenceEqual(_last.AsSpan(0, _lastLength))) return _lastValue;
                var value = reader.GetString();
                if (utf8.Length <= MaxValueBytes)
                {
                    utf8.CopyTo(_last);
                    (_lastLength, _lastValue) = (utf8.Length, value);
                }
                return value;
            }
        }
    }
}
