using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using CsvHelper;

namespace OverlapEscrow.Client.Crm;

/// <summary>
/// Streams a CRM export: RFC 4180 CSV in UTF-8 (with or without a byte-order mark), comma- or
/// semicolon-delimited, with a header row. Rows are read one at a time, so a file of any size needs only one
/// record in memory.
/// </summary>
/// <remarks>
/// The delimiter is chosen from the header line: whichever of ',' and ';' splits it into more fields (outside
/// quotes), a comma on a tie. Spreadsheet programs in locales whose decimal separator is a comma write
/// semicolons, and a header almost never contains the other delimiter, so the header decides reliably.
/// Row numbers count the header as row 1 and do not count blank lines; a quoted line break stays inside its
/// record. This is the rule of the escrow's own CSV uploads (docs/api.md, "Row numbers").
/// </remarks>
public sealed class CrmExportReader : IAsyncDisposable
{
    /// <summary>The largest record read, in bytes; one unterminated quote would otherwise swallow the whole file.</summary>
    public const int MaxRecordBytes = 1 << 20;

    private readonly CsvReader _csv;
    private readonly Dictionary<string, int> _index;

    private CrmExportReader(CsvReader csv, string source, char separator, string[] columns)
    {
        _csv = csv;
        Source = source;
        Separator = separator;
        Columns = columns;
        // Header names are compared case-insensitively and without surrounding blanks, but otherwise exactly:
        // "Web site" is not "Website". A name that appears twice is ambiguous and marked with -1.
        _index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < columns.Length; i++)
            _index[columns[i]] = _index.ContainsKey(columns[i]) ? -1 : i;
    }

    /// <summary>The file name used in messages.</summary>
    public string Source { get; }

    public char Separator { get; }

    /// <summary>The header's column names, trimmed.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>How far into the input the reader is, in bytes (for progress displays).</summary>
    public long BytesRead => _csv.ByteOffset;

    public static async Task<CrmExportReader> OpenAsync(string path, CancellationToken ct = default)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        try
        {
            return await OpenAsync(stream, Path.GetFileName(path), leaveOpen: false, ct);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads the header of <paramref name="stream"/>; the rows follow with <see cref="ReadRowsAsync"/>.</summary>
    public static async Task<CrmExportReader> OpenAsync(Stream stream, string source, bool leaveOpen = false, CancellationToken ct = default)
    {
        var (prefix, separator) = await DetectSeparatorAsync(stream, source, ct);
        var csv = CsvReader.Create(new PrefixedStream(prefix, stream, leaveOpen), new CsvReaderOptions
        {
            HasHeader = false,
            Separator = separator,
            Mode = CsvMode.Rfc4180,
            AllowLineBreaksInQuotes = true,
            SkipEmptyLines = true,
            MaxRecordSize = MaxRecordBytes,
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            // Messages must not quote account data: they end up in terminals, logs and tickets.
            IncludeValuesInExceptions = false,
            Encoding = new UTF8Encoding(false),
        }, false);
        try
        {
            if (!await ReadAsync(csv, source, ct)) throw new CrmExportException($"{source} is empty: a CRM export needs a header row.");
            var columns = new string[csv.FieldCount];
            for (var i = 0; i < columns.Length; i++) columns[i] = Decode(csv, i, source).Trim();
            return new CrmExportReader(csv, source, separator, columns);
        }
        catch
        {
            await csv.DisposeAsync();
            throw;
        }
    }

    /// <summary>The index of a column by its header name, or a <see cref="CrmExportException"/> that lists the columns there are.</summary>
    public int GetColumnIndex(string name)
    {
        if (!_index.TryGetValue(name.Trim(), out var index))
        {
            // The columns there are are not listed: in an export without a header row they are its first account, in clear, on
            // a terminal or in a log. Only a column that differs from the one asked for by case, spaces or punctuation is named.
            var key = Simplified(name);
            var near = Columns.Where(c => Simplified(c) == key).Select(c => $"\"{c}\"").ToList();
            throw new CrmExportException($"{Source} has no column \"{name}\"" + (near.Count > 0
                ? $"; did you mean {string.Join(" or ", near)}?"
                : $"; its first row names {Columns.Count} columns (not shown: without a header row they would be an account)."));
        }
        if (index < 0) throw new CrmExportException($"{Source} has the column \"{name}\" more than once; rename one of them.");
        return index;
    }

    /// <summary>A column name without case, spaces or punctuation ("Web Site" and "website" alike).</summary>
    private static string Simplified(string column) => string.Concat(column.Where(char.IsLetterOrDigit)).ToLowerInvariant();

    /// <summary>The data rows, in file order. Each row is checked to have as many fields as the header.</summary>
    public async IAsyncEnumerable<CrmRow> ReadRowsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        while (await ReadAsync(_csv, Source, ct))
        {
            var count = _csv.FieldCount;
            // A row with another number of fields is nearly always a quoting or delimiter problem; reading it
            // anyway would shift values into the wrong columns and hash the wrong thing.
            if (count != Columns.Count)
                throw new CrmExportException($"{Source}, row {_csv.RowNumber}: {count} field{(count == 1 ? "" : "s")} where the header has {Columns.Count}; check the quoting and the delimiter ('{Separator}').");
            var fields = new string[count];
            for (var i = 0; i < count; i++) fields[i] = Decode(_csv, i, Source);
            yield return new CrmRow(_csv.RowNumber, fields, this);
        }
    }

    /// <summary>
    /// The data rows, in file order, each turned into a <typeparamref name="T"/> by <paramref name="selector"/> on
    /// <paramref name="threads"/> threads (-1: one per core; 1: row by row on the caller's thread). The checks are those
    /// of <see cref="ReadRowsAsync"/>: a row with another number of fields than the header, or not in UTF-8, ends the
    /// rows with a <see cref="CrmExportException"/> after every row before it has been returned.
    /// </summary>
    /// <remarks>
    /// The CSV library splits the input into records on one thread, in order, and hands batches of them, still as
    /// bytes, to worker threads, which run the selector (decoding only the fields it asks for) and whose results come
    /// back in the file's order. So what runs on one thread per row is the library's scan of the bytes, and the
    /// quoting, line breaks in quotes, byte-order mark and row numbering are the library's, as in <see cref="ReadRowsAsync"/>.
    /// </remarks>
    public IEnumerable<T> SelectRows<T>(Func<CrmRecord, T> selector, int threads)
    {
        if (threads == 1) return SelectRowByRow(selector);
        var source = Source;
        var columns = Columns.Count;
        var separator = Separator;
        return Rethrow(_csv.ParallelEnumerate(csv => selector(Check(csv, source, columns, separator)), threads), _csv, source);
    }

    private IEnumerable<T> SelectRowByRow<T>(Func<CrmRecord, T> selector)
    {
        while (Read(_csv, Source)) yield return selector(Check(_csv, Source, Columns.Count, Separator));
    }

    /// <summary>The rows' results, with the library's format errors turned into the reader's own (which name the row, not the data).</summary>
    private static IEnumerable<T> Rethrow<T>(IEnumerable<T> results, CsvReader csv, string source)
    {
        using var enumerator = results.GetEnumerator();
        while (true)
        {
            T current;
            try
            {
                if (!enumerator.MoveNext()) yield break;
                current = enumerator.Current;
            }
            catch (CsvFormatException e)
            {
                throw FormatError(e, csv, source);
            }
            yield return current;
        }
    }

    private static CrmRecord Check(CsvReader csv, string source, int columns, char separator)
    {
        var count = csv.FieldCount;
        if (count != columns)
            throw new CrmExportException($"{source}, row {csv.RowNumber}: {count} field{(count == 1 ? "" : "s")} where the header has {columns}; check the quoting and the delimiter ('{separator}').");
        // Every field of the row is checked, not only those the selector decodes: a file in Windows-1252 is refused
        // whichever column holds its accents, as when every field is decoded (Decode).
        if (!Utf8.IsValid(csv.RawRecord))
            throw new CrmExportException($"{source}, row {csv.RowNumber}: not valid UTF-8; save the export as UTF-8 (CSV UTF-8) and try again.");
        return new CrmRecord(csv);
    }

    internal bool TryGetIndex(string name, out int index) => _index.TryGetValue(name.Trim(), out index) && index >= 0;

    public ValueTask DisposeAsync() => _csv.DisposeAsync();

    private static string Decode(CsvReader csv, int field, string source)
    {
        var value = csv.GetString(field);
        // The decoder replaces invalid bytes with U+FFFD. A file in Windows-1252 or Latin-1 would hash "Softcatalà"
        // as something no partner has; refuse it instead of uploading keys that silently never match.
        if (value.Contains('\uFFFD') && !Utf8.IsValid(csv.GetRawSpan(field)))
            throw new CrmExportException($"{source}, row {csv.RowNumber}: not valid UTF-8; save the export as UTF-8 (CSV UTF-8) and try again.");
        return value;
    }

    private static async Task<bool> ReadAsync(CsvReader csv, string source, CancellationToken ct)
    {
        try
        {
            return await csv.ReadAsync(ct);
        }
        catch (CsvFormatException e)
        {
            throw FormatError(e, csv, source);
        }
    }

    private static bool Read(CsvReader csv, string source)
    {
        try
        {
            return csv.Read();
        }
        catch (CsvFormatException e)
        {
            throw FormatError(e, csv, source);
        }
    }

    private static CrmExportException FormatError(CsvFormatException e, CsvReader csv, string source)
    {
        var row = e.RecordNumber > 0 ? e.RecordNumber : csv.RowNumber + 1;
        return new CrmExportException($"{source}, row {row}: not valid CSV (an unterminated or misplaced quote, or a record over {MaxRecordBytes / 1024 / 1024} MiB).", e);
    }

    /// <summary>
    /// Reads the input up to the end of its first non-blank line (outside quotes) and counts the fields that each
    /// candidate delimiter would give. Returns the bytes read, to be replayed in front of the rest of the stream.
    /// </summary>
    private static async Task<(byte[] Prefix, char Separator)> DetectSeparatorAsync(Stream stream, string source, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int commas = 0, semicolons = 0;
        var inQuotes = false;
        var sawContent = false;
        while (true)
        {
            var n = await stream.ReadAsync(chunk, ct);
            if (n == 0) break;
            buffer.Write(chunk, 0, n);
            for (var i = 0; i < n; i++)
            {
                var b = chunk[i];
                if (b == (byte)'"') inQuotes = !inQuotes;
                else if (inQuotes) continue;
                else if (b == (byte)',') commas++;
                else if (b == (byte)';') semicolons++;
                else if (b is (byte)'\n' or (byte)'\r')
                {
                    if (sawContent) return (buffer.ToArray(), semicolons > commas ? ';' : ',');
                    continue;
                }
                if (b is not ((byte)' ' or (byte)'\t' or 0xEF or 0xBB or 0xBF)) sawContent = true;
            }
            if (buffer.Length > MaxRecordBytes)
                throw new CrmExportException($"{source}, row 1: the header is longer than {MaxRecordBytes / 1024 / 1024} MiB, or has an unterminated quote.");
        }
        return (buffer.ToArray(), semicolons > commas ? ';' : ',');
    }
}

/// <summary>One data row of a CRM export: its row number (the header is row 1) and its fields.</summary>
public sealed class CrmRow
{
    private readonly string[] _fields;
    private readonly CrmExportReader _reader;

    internal CrmRow(long rowNumber, string[] fields, CrmExportReader reader)
    {
        RowNumber = rowNumber;
        _fields = fields;
        _reader = reader;
    }

    public long RowNumber { get; }

    public IReadOnlyList<string> Fields => _fields;

    /// <summary>The field at a column index from <see cref="CrmExportReader.GetColumnIndex"/>.</summary>
    public string this[int index] => _fields[index];

    /// <summary>The field under a header name (case-insensitive); a <see cref="CrmExportException"/> when there is no such column.</summary>
    public string this[string column] => _fields[_reader.GetColumnIndex(column)];

    /// <summary>The row as column name → value (the first of duplicate names wins).</summary>
    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var dictionary = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < _fields.Length; i++) dictionary.TryAdd(_reader.Columns[i], _fields[i]);
        return dictionary;
    }
}

/// <summary>
/// One data row as <see cref="CrmExportReader.SelectRows"/> hands it to its selector: valid only during the call, and
/// decoding only the fields asked for.
/// </summary>
public readonly struct CrmRecord
{
    private readonly CsvReader _csv;

    internal CrmRecord(CsvReader csv) => _csv = csv;

    /// <summary>The row number (the header is row 1), as <see cref="CrmRow.RowNumber"/>.</summary>
    public long RowNumber => _csv.RowNumber;

    /// <summary>The field at a column index from <see cref="CrmExportReader.GetColumnIndex"/>, decoded as <see cref="CrmRow"/> decodes it.</summary>
    public string this[int index] => _csv.GetString(index);
}

/// <summary>A CRM export that cannot be read as asked: a missing column, malformed CSV, wrong encoding. The message is one line and quotes no account data.</summary>
public sealed class CrmExportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Replays bytes already read (to detect the delimiter) in front of the rest of a stream.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner, bool leaveOpen) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position < prefix.Length) return Replay(buffer);
        return inner.Read(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefix.Length) return ValueTask.FromResult(Replay(buffer.Span));
        return inner.ReadAsync(buffer, cancellationToken);
    }

    private int Replay(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, prefix.Length - _position);
        prefix.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!leaveOpen) await inner.DisposeAsync();
        await base.DisposeAsync();
    }
}
