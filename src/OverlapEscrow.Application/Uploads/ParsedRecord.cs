using System.Security.Cryptography;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Application.Uploads;

/// <summary>A row error as reported to the uploader: where (row, and field when known) and what is wrong.</summary>
/// <remarks>Messages describe the problem, never quote the value: a row may hold data the uploader did not mean to send.</remarks>
public sealed record RowError(long Row, string? Field, string Message);

/// <summary>One row of an upload as parsed, before re-keying; <see cref="Error"/> set when it cannot be used.</summary>
/// <remarks>
/// The identifier hashes are kept in one array per row (a type byte and the 32 bytes of each hash), not an array per
/// hash and a list of pairs: an upload parses millions of rows, and every object per row is garbage to collect
/// (docs/performance.md, "Uploads"). <see cref="ZeroHashes"/> clears them once re-keyed.
/// </remarks>
public sealed class ParsedRecord
{
    private const int Entry = 1 + TokenKeyer.HashSize;
    private byte[]? _hashes;

    public long Row { get; init; }
    public string? RecordId { get; set; }
    public bool Delete { get; set; }
    public int HashCount { get; private set; }
    public List<RecordAttribute> Attributes { get; } = [];
    public RowError? Error { get; private set; }

    public IdentifierType HashType(int i) => (IdentifierType)_hashes![i * Entry];

    public ReadOnlySpan<byte> Hash(int i) => _hashes.AsSpan(i * Entry + 1, TokenKeyer.HashSize);

    /// <summary>Room for one more hash of <paramref name="type"/>; the caller writes its 32 bytes, then <see cref="CommitHash"/>.</summary>
    internal Span<byte> NextHash(IdentifierType type)
    {
        var at = HashCount * Entry;
        if (_hashes is null) _hashes = new byte[2 * Entry];
        else if (_hashes.Length < at + Entry)
        {
            var larger = new byte[2 * _hashes.Length];
            _hashes.CopyTo(larger, 0);
            CryptographicOperations.ZeroMemory(_hashes);
            _hashes = larger;
        }
        _hashes[at] = (byte)type;
        return _hashes.AsSpan(at + 1, TokenKeyer.HashSize);
    }

    internal void CommitHash() => HashCount++;

    /// <summary>The hashes as received are dictionary-reversible: cleared once re-keyed, never stored or logged.</summary>
    public void ZeroHashes()
    {
        if (_hashes is not null) CryptographicOperations.ZeroMemory(_hashes);
    }

    public void Fail(string? field, string message) => Error ??= new RowError(Row, field, message);
}

/// <summary>The upload failed as a whole (too large, unreadable); nothing was applied.</summary>
public sealed class UploadRejectedException(int statusCode, string title, string detail, RowError? row = null) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;
    public string Title { get; } = title;
    public RowError? RowError { get; } = row;
}

/// <summary>Reads upload rows from a body stream, one format each (NDJSON, CSV).</summary>
public interface IUploadParser
{
    IAsyncEnumerable<ParsedRecord> ReadAsync(Stream body, CancellationToken ct);
}

/// <summary>
/// A format whose body splits into chunks of whole rows without parsing them (NDJSON: at newlines), so that the chunks
/// can be parsed on several threads. Row numbers are the same as <see cref="IUploadParser.ReadAsync"/> gives.
/// </summary>
public interface IChunkedUploadParser : IUploadParser
{
    /// <summary>The body's chunks in order; reading it is done here only. Fails as ReadAsync would (a row too long, the body's limits).</summary>
    IAsyncEnumerable<UploadChunk> SplitAsync(Stream body, CancellationToken ct);

    /// <summary>The rows of one chunk, on any thread; releases the chunk (its buffer is cleared) whatever happens.</summary>
    List<ParsedRecord> Parse(UploadChunk chunk);

    /// <summary>
    /// The rows of one chunk handed to <paramref name="sink"/> in line order, valid rows in their plain form where they have
    /// it, on any thread; the same rows and errors as <see cref="Parse(UploadChunk)"/>. Releases the chunk whatever happens.
    /// </summary>
    void Parse(UploadChunk chunk, IRowSink sink);
}

/// <summary>
/// Takes a chunk's rows as they are parsed, in line order, each either as a <see cref="PlainLine"/> (valid, every field in its
/// plain form, read straight from the line's bytes) or as a <see cref="ParsedRecord"/> (any other row, with its error if it
/// has one). The hashes a row holds are cleared when the call returns.
/// </summary>
public interface IRowSink
{
    void AddPlain(long line, PlainLine row);

    void AddParsed(ParsedRecord row);
}

/// <summary>
/// A valid row whose fields are all plain (no escapes, hashes as 64 hex digits, attribute values strings, a record id in
/// ASCII), as views of its line: what the field-by-field parser would have read from it, without a string or an object.
/// </summary>
public readonly ref struct PlainLine
{
    private const int Entry = 1 + TokenKeyer.HashSize;
    private readonly ReadOnlySpan<byte> _line;
    private readonly ReadOnlySpan<byte> _hashes;
    private readonly ReadOnlySpan<int> _attributes;

    public PlainLine(ReadOnlySpan<byte> line, ReadOnlySpan<byte> recordId, bool delete, ReadOnlySpan<byte> hashes, ReadOnlySpan<int> attributes)
    {
        _line = line;
        RecordId = recordId;
        Delete = delete;
        _hashes = hashes;
        _attributes = attributes;
    }

    /// <summary>The record id's UTF-8 (ASCII) bytes.</summary>
    public ReadOnlySpan<byte> RecordId { get; }
    public bool Delete { get; }
    public int HashCount => _hashes.Length / Entry;
    public IdentifierType HashType(int i) => (IdentifierType)_hashes[i * Entry];
    public ReadOnlySpan<byte> Hash(int i) => _hashes.Slice(i * Entry + 1, TokenKeyer.HashSize);
    public int AttributeCount => _attributes.Length / 4;
    /// <summary>Attribute <paramref name="i"/>'s name and value, as the UTF-8 of the line (valid, unescaped).</summary>
    public ReadOnlySpan<byte> AttributeName(int i) => _line.Slice(_attributes[4 * i], _attributes[4 * i + 1]);
    public ReadOnlySpan<byte> AttributeValue(int i) => _line.Slice(_attributes[4 * i + 2], _attributes[4 * i + 3]);
}

/// <summary>Whole rows of a body, as received, in a buffer of its upload's; <see cref="FirstLine"/> is the number of its first row.</summary>
public sealed class UploadChunk(byte[] bytes, int length, long firstLine, UploadBuffers owner)
{
    private byte[]? _bytes = bytes;

    public int Length { get; } = length;
    public long FirstLine { get; } = firstLine;
    public byte[] Bytes => _bytes ?? throw new ObjectDisposedException(nameof(UploadChunk));

    /// <summary>The bytes hold hashes as received (dictionary-reversible): cleared as the buffer goes back for reuse.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _bytes, null) is { } bytes) owner.Return(bytes);
    }
}
