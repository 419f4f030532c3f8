using System.Buffers;
using OverlapEscrow.Domain.Tokens;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// Newline-delimited JSON, one record object per line (blank lines ignored). Row numbers are line numbers.
/// <para>The body is read in chunks of about <see cref="ChunkBytes"/> that end at a newline (<see cref="SplitAsync"/>):
/// only finding the chunks' last newlines and counting their lines is done in body order, on one thread; every chunk's
/// lines can then be parsed on any thread (<see cref="Parse"/>), since a line never spans two chunks and each chunk
/// knows the number of its first line. Memory stays bounded by the chunks in flight and the longest allowed row,
/// whatever the body size. A row longer than the limit is reported by the chunk that holds it, so the first such row
/// in file order is the one named.</para>
/// </summary>
public sealed class NdjsonUploadParser(RowRules rules, IOptions<UploadOptions> options) : IChunkedUploadParser
{
    /// <summary>About a thousand rows of a typical CRM export: enough work per chunk to be worth a thread hop.</summary>
    public const int ChunkBytes = 256 * 1024;

    public async IAsyncEnumerable<ParsedRecord> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var chunk in SplitAsync(body, ct))
            foreach (var row in Parse(chunk))
                yield return row;
    }

    public async IAsyncEnumerable<UploadChunk> SplitAsync(Stream body, [EnumeratorCancellation] CancellationToken ct)
    {
        var maxRow = options.Value.MaxRowBytes;
        long lines = 0; // lines ended in the chunks handed on so far
        var buffers = new UploadBuffers(ChunkBytes);
        var buffer = buffers.Rent(ChunkBytes);
        var filled = 0;
        try
        {
            var done = false;
            while (!done)
            {
                // Reads until the buffer is full or a read gives less than asked (the body has no more at hand just now):
                // the rows that have arrived are handed on then, so an upload is processed as it streams in, in chunks as
                // large as the body arrives faster than it is parsed.
                while (filled < buffer.Length)
                {
                    var asked = buffer.Length - filled;
                    var read = await body.ReadAsync(buffer.AsMemory(filled), ct);
                    if (read == 0) { done = true; break; }
                    filled += read;
                    if (read < asked) break;
                }
                int end;
                if (done) end = filled;
                else
                {
                    end = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (end == 0)
                    {
                        if (filled > maxRow) throw TooLong(lines + 1, maxRow);
                        if (filled < buffer.Length) continue; // the line's end has not arrived yet
                        // One line fills the buffer: a longer buffer for it (the limit may exceed a chunk).
                        var larger = buffers.Rent(2 * buffer.Length);
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        buffers.Return(buffer);
                        buffer = larger;
                        continue;
                    }
                }
                if (end == 0) break;
                var tail = filled - end;
                var chunk = new UploadChunk(buffer, end, lines + 1, buffers);
                lines += buffer.AsSpan(0, end).Count((byte)'\n');
                var next = buffers.Rent(Math.Max(ChunkBytes, 2 * tail));
                buffer.AsSpan(end, tail).CopyTo(next);
                buffer = next;
                filled = tail;
                yield return chunk; // the chunk owns the old buffer now; Parse gives it back
                // The unfinished line is already longer than allowed: reported after the chunk before it, whose rows come first.
                if (tail > maxRow) throw TooLong(lines + 1, maxRow);
            }
        }
        finally
        {
            // The body holds hashes as received (dictionary-reversible): no copy of them goes back to the pool uncleared.
            buffers.Return(buffer);
        }
    }

    public List<ParsedRecord> Parse(UploadChunk chunk)
    {
        var rows = new List<ParsedRecord>(chunk.Length / 128 + 1);
        var strings = new AttributeStrings();
        try
        {
            var lines = new ChunkLines(chunk, options.Value.MaxRowBytes);
            while (lines.Next(out var text, out var line)) rows.Add(ParseLine(text, line, strings));
            return rows;
        }
        catch
        {
            // The upload is refused; the hashes of the rows parsed so far go nowhere, and not as received either.
            foreach (var row in rows) row.ZeroHashes();
            throw;
        }
        finally
        {
            chunk.Release();
        }
    }

    public void Parse(UploadChunk chunk, IRowSink sink)
    {
        var strings = new AttributeStrings();
        var plain = new PlainScratch(options.Value);
        try
        {
            var lines = new ChunkLines(chunk, options.Value.MaxRowBytes);
            while (lines.Next(out var text, out var line))
            {
                if (TryParsePlain(text, line, sink, plain)) continue;
                var row = ParseLine(text, line, strings);
                try { sink.AddParsed(row); }
                finally { row.ZeroHashes(); }
            }
        }
        finally
        {
            chunk.Release();
        }
    }

    /// <summary>
    /// The rows of a chunk with their numbers in the body, blank lines skipped; a line longer than the row limit is the
    /// upload's error (before it is judged blank), as when the body is cut into chunks.
    /// </summary>
    private ref struct ChunkLines(UploadChunk chunk, int maxRow)
    {
        private ReadOnlySpan<byte> _rest = chunk.Bytes.AsSpan(0, chunk.Length);
        private long _line = chunk.FirstLine - 1;

        public bool Next(out ReadOnlySpan<byte> text, out long line)
        {
            while (!_rest.IsEmpty)
            {
                var newline = _rest.IndexOf((byte)'\n');
                text = newline < 0 ? _rest : _rest[..newline];
                _rest = newline < 0 ? default : _rest[(newline + 1)..];
                line = ++_line;
                // A byte-order mark before the first line, as Windows tools write one (RFC 8259 §8.1 lets a parser ignore it).
                if (line == 1 && text.StartsWith("\uFEFF"u8)) text = text[3..];
                if (text.Length > maxRow) throw TooLong(line, maxRow);
                if (!IsBlank(text)) return true;
            }
            text = default;
            line = _line;
            return false;
        }
    }

    /// <summary>The scratch of one chunk's plain rows: decoded hashes (cleared after each row) and attribute positions.</summary>
    private sealed class PlainScratch(UploadOptions o)
    {
        public readonly byte[] Hashes = new byte[o.MaxIdentifiersPerRecord * (1 + TokenKeyer.HashSize)];
        public readonly int[] Attributes = new int[4 * o.MaxAttributesPerRecord];
        private readonly List<byte[]> _validNames = [];

        /// <summary>Whether an attribute name (UTF-8, unescaped) follows the naming rule; a few names are remembered.</summary>
        public bool IsValidName(ReadOnlySpan<byte> name)
        {
            foreach (var known in _validNames)
                if (name.SequenceEqual(known)) return true;
            if (!System.Text.Ascii.IsValid(name) || !AttributeNames.IsValid(System.Text.Encoding.ASCII.GetString(name))) return false;
            if (_validNames.Count < 64) _validNames.Add(name.ToArray());
            return true;
        }
    }

    /// <summary>
    /// The fast path of a row: reads it straight from its bytes when it is valid and every field is in its plain form
    /// (no name escaped, recordId an ASCII string without escapes, each identifier of a known type given once as 64 hex
    /// digits, attributes strings without escapes, op a string, no field twice), and hands it to the sink. Anything else,
    /// valid or not, is left to the field-by-field parser (<see cref="ParseLine"/>), which decides the row and its error
    /// exactly as before: this path only ever accepts rows that parser accepts, with the same fields.
    /// </summary>
    private bool TryParsePlain(ReadOnlySpan<byte> text, long line, IRowSink sink, PlainScratch scratch)
    {
        const int entry = 1 + TokenKeyer.HashSize;
        var o = options.Value;
        var hashes = scratch.Hashes.AsSpan();
        var attributes = scratch.Attributes.AsSpan();
        int hashCount = 0, attributeCount = 0;
        ReadOnlySpan<byte> id = default;
        bool haveId = false, haveIdentifiers = false, haveAttributes = false, haveOp = false, delete = false, handed = false;
        try
        {
            var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // An escaped name is not plain, and comparing it unescapes it: a lone surrogate (\uD800) throws
                // InvalidOperationException there, which the field-by-field parser reports as the row's error.
                if (reader.ValueIsEscaped) return false;
                if (reader.ValueTextEquals("recordId"u8))
                {
                    if (haveId || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                    id = reader.ValueSpan;
                    haveId = true;
                }
                else if (reader.ValueTextEquals("identifiers"u8))
                {
                    if (haveIdentifiers || !reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                    haveIdentifiers = true;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        IdentifierType type;
                        if (reader.ValueIsEscaped) return false;
                        if (reader.ValueTextEquals("domain"u8)) type = IdentifierType.Domain;
                        else if (reader.ValueTextEquals("name"u8)) type = IdentifierType.Name;
                        else if (reader.ValueTextEquals("domain_label"u8)) type = IdentifierType.DomainLabel;
                        else if (reader.ValueTextEquals("name_only"u8)) type = IdentifierType.NameOnly;
                        else return false;
                        if (!reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                        var hex = reader.ValueSpan;
                        if (hex.Length != 2 * TokenKeyer.HashSize || hashCount == o.MaxIdentifiersPerRecord) return false;
                        var at = hashes.Slice(hashCount * entry, entry);
                        if (Convert.FromHexString(hex, at[1..], out _, out var written) != OperationStatus.Done || written != TokenKeyer.HashSize)
                            return false;
                        at[0] = (byte)type;
                        hashCount++;
                    }
                    if (reader.TokenType != JsonTokenType.EndObject) return false;
                }
                else if (reader.ValueTextEquals("attributes"u8))
                {
                    if (haveAttributes || !reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
                    haveAttributes = true;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueIsEscaped || attributeCount == o.MaxAttributesPerRecord) return false;
                        var name = reader.ValueSpan;
                        if (!scratch.IsValidName(name)) return false;
                        var nameAt = Offset(text, name);
                        for (var a = 0; a < attributeCount; a++)
                            if (name.SequenceEqual(text.Slice(attributes[4 * a], attributes[4 * a + 1]))) return false;
                        if (!reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                        var value = reader.ValueSpan;
                        // Valid UTF-8 (as GetString would require), at most MaxAttributeLength UTF-16 characters as the rule counts them.
                        if (!System.Text.Ascii.IsValid(value) && !System.Text.Unicode.Utf8.IsValid(value)) return false;
                        if (value.Length > o.MaxAttributeLength && System.Text.Encoding.UTF8.GetCharCount(value) > o.MaxAttributeLength) return false;
                        attributes[4 * attributeCount] = nameAt;
                        attributes[4 * attributeCount + 1] = name.Length;
                        attributes[4 * attributeCount + 2] = Offset(text, value);
                        attributes[4 * attributeCount + 3] = value.Length;
                        attributeCount++;
                    }
                    if (reader.TokenType != JsonTokenType.EndObject) return false;
                }
                else if (reader.ValueTextEquals("op"u8))
                {
                    if (haveOp || !reader.Read() || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) return false;
                    haveOp = true;
                    var op = reader.ValueSpan;
                    if (op.Length == 0 || op.SequenceEqual("upsert"u8)) delete = false;
                    else if (op.SequenceEqual("delete"u8)) delete = true;
                    else return false;
                }
                else return false;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
            // recordId: 1 to MaxRecordIdLength characters (ASCII here: one byte each), no control characters.
            if (!haveId || id.Length == 0 || id.Length > o.MaxRecordIdLength || !System.Text.Ascii.IsValid(id)
                || id.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || id.Contains((byte)0x7F)) return false;
            if (delete ? hashCount > 0 || attributeCount > 0 : hashCount == 0) return false;
            var plain = new PlainLine(text, id, delete, hashes[..(hashCount * entry)], attributes[..(4 * attributeCount)]);
            handed = true;
            sink.AddPlain(line, plain);
            return true;
        }
        catch (Exception e) when (!handed && e is JsonException or InvalidOperationException)
        {
            // Whatever the reader refuses while this path reads (a JSON error; a value it cannot decode, which the escapes
            // it declines should already rule out): the field-by-field parser decides the row and names its error.
            return false;
        }
        finally
        {
            // The hashes as received are dictionary-reversible: cleared whatever became of the row (one entry more: a partial decode).
            hashes[..Math.Min(hashes.Length, (hashCount + 1) * entry)].Clear();
        }
    }

    /// <summary>Where a span the reader gives (a slice of the line) starts in the line.</summary>
    private static int Offset(ReadOnlySpan<byte> text, ReadOnlySpan<byte> part) =>
        (int)System.Runtime.CompilerServices.Unsafe.ByteOffset(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(text),
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(part));

    private static UploadRejectedException TooLong(long line, int max) =>
        new(400, "A row is too long", $"Row {line} is longer than {max} bytes; nothing was applied.", new RowError(line, null, $"The row is longer than {max} bytes."));

    private static bool IsBlank(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(" \t\r"u8) < 0;

    private ParsedRecord ParseLine(ReadOnlySpan<byte> text, long line, AttributeStrings strings)
    {
        var row = new ParsedRecord { Row = line };
        try
        {
            var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) { row.Fail(null, "A row is one JSON object."); return row; }
            // Each field once: a repeated name is ambiguous (RFC 8259 §4: names SHOULD be unique, and readers differ on which
            // value counts), so the row is refused rather than read as one of them.
            var seen = 0;
            bool Twice(int field, string name, ref Utf8JsonReader r)
            {
                if ((seen & field) == 0) { seen |= field; return false; }
                r.Read();
                r.Skip();
                row.Fail(name, $"The field {name} is given twice.");
                return true;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // Property names are compared as UTF-8, without allocating a string per field.
                if (reader.ValueTextEquals("recordId"u8))
                {
                    if (Twice(1, "recordId", ref reader)) continue;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) { row.Fail("recordId", "recordId must be a string."); reader.Skip(); }
                    else rules.SetRecordId(row, reader.GetString());
                }
                else if (reader.ValueTextEquals("identifiers"u8))
                {
                    if (Twice(2, "identifiers", ref reader)) continue;
                    reader.Read();
                    ReadIdentifiers(ref reader, row);
                }
                else if (reader.ValueTextEquals("attributes"u8))
                {
                    if (Twice(4, "attributes", ref reader)) continue;
                    reader.Read();
                    ReadAttributes(ref reader, row, strings);
                }
                else if (reader.ValueTextEquals("op"u8))
                {
                    if (Twice(8, "op", ref reader)) continue;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) { row.Fail("op", "op must be a string."); reader.Skip(); }
                    else rules.SetOp(row, reader.GetString());
                }
                else
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    row.Fail(RowRules.Named(null, name), "Unknown field; a row has recordId, op, identifiers and attributes.");
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
                    else { row.Fail(known is null ? "identifiers" : "identifiers." + typeName, "Identifier hashes are strings."); reader.Skip(); }
                }
            }
            else if (reader.TokenType != JsonTokenType.Null) { row.Fail(known is null ? "identifiers" : "identifiers." + typeName, "Identifier hashes are strings."); reader.Skip(); }
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
