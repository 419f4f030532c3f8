using System.Buffers;
using System.Text;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Records;

/// <summary>
/// The compact binary encoding of records inside a stored segment (before encryption).
/// Layout per record: flags byte (bit 0 = deletion), record id, token count, (type byte, 16-byte token)*,
/// attribute count, (name, value)*; strings are UTF-8 with a 7-bit-encoded length prefix. Format version 1.
/// </summary>
public static class RecordCodec
{
    public const byte FormatVersion = 1;

    public static void Write(ArrayBufferWriter<byte> output, EscrowRecord record)
    {
        WriteByte(output, record.Deleted ? (byte)1 : (byte)0);
        WriteString(output, record.RecordId);
        WriteLength(output, record.Tokens.Length);
        foreach (var t in record.Tokens)
        {
            var span = output.GetSpan(1 + Token.Size);
            span[0] = (byte)t.Type;
            t.Token.Write(span[1..]);
            output.Advance(1 + Token.Size);
        }
        WriteLength(output, record.Attributes.Length);
        foreach (var a in record.Attributes)
        {
            WriteString(output, a.Name);
            WriteString(output, a.Value);
        }
    }

    /// <summary>Reads all records of a segment, in the order they were written.</summary>
    public static List<EscrowRecord> ReadAll(ReadOnlySpan<byte> data, int expectedCount)
    {
        var records = new List<EscrowRecord>(expectedCount);
        var pos = 0;
        while (pos < data.Length)
        {
            var deleted = (data[pos++] & 1) != 0;
            var id = ReadString(data, ref pos);
            var tokenCount = ReadLength(data, ref pos);
            var tokens = tokenCount == 0 ? [] : new RecordToken[tokenCount];
            for (var i = 0; i < tokenCount; i++)
            {
                tokens[i] = new RecordToken((IdentifierType)data[pos], Token.Read(data.Slice(pos + 1, Token.Size)));
                pos += 1 + Token.Size;
            }
            var attributeCount = ReadLength(data, ref pos);
            var attributes = attributeCount == 0 ? [] : new RecordAttribute[attributeCount];
            for (var i = 0; i < attributeCount; i++)
                attributes[i] = new RecordAttribute(ReadString(data, ref pos), ReadString(data, ref pos));
            records.Add(new EscrowRecord(id, tokens, attributes, deleted));
        }
        if (records.Count != expectedCount)
            throw new InvalidDataException($"Segment holds {records.Count} records, expected {expectedCount}.");
        return records;
    }

    /// <summary>A string already in UTF-8 (valid), written as <see cref="WriteString"/> writes its string: the same bytes.</summary>
    public static void WriteUtf8(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        WriteLength(output, utf8.Length);
        output.Write(utf8);
    }

    /// <summary>The length of the record encoded at the start of <paramref name="data"/> (<see cref="Write"/>'s bytes), without decoding it.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> data)
    {
        var pos = 1;
        var idLength = ReadLength(data, ref pos);
        pos += idLength;
        var tokenCount = ReadLength(data, ref pos);
        pos += tokenCount * (1 + Token.Size);
        var attributeCount = ReadLength(data, ref pos);
        for (var i = 0; i < 2 * attributeCount; i++)
        {
            var length = ReadLength(data, ref pos);
            pos += length;
        }
        if (pos > data.Length) throw new InvalidDataException("A record's encoding runs past its data.");
        return pos;
    }

    /// <summary>The record id's UTF-8 bytes inside one record's encoding (after the flags byte and the length prefix).</summary>
    public static ReadOnlySpan<byte> RecordIdBytes(ReadOnlySpan<byte> record)
    {
        var pos = 1;
        var length = ReadLength(record, ref pos);
        return record.Slice(pos, length);
    }

    public static void WriteByte(ArrayBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    public static void WriteLength(ArrayBufferWriter<byte> output, int value)
    {
        var span = output.GetSpan(5);
        var n = 0;
        var v = (uint)value;
        while (v >= 0x80) { span[n++] = (byte)(v | 0x80); v >>= 7; }
        span[n++] = (byte)v;
        output.Advance(n);
    }

    internal static void WriteString(ArrayBufferWriter<byte> output, string value)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value);
        WriteLength(output, byteCount);
        var written = Encoding.UTF8.GetBytes(value, output.GetSpan(byteCount));
        output.Advance(written);
    }

    internal static int ReadLength(ReadOnlySpan<byte> data, ref int pos)
    {
        uint result = 0;
        var shift = 0;
        while (true)
        {
            var b = data[pos++];
            result |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return checked((int)result);
            shift += 7;
            if (shift > 28) throw new InvalidDataException("Length prefix too long.");
        }
    }

    internal static string ReadString(ReadOnlySpan<byte> data, ref int pos)
    {
        var length = ReadLength(data, ref pos);
        var s = Encoding.UTF8.GetString(data.Slice(pos, length));
        pos += length;
        return s;
    }

}
