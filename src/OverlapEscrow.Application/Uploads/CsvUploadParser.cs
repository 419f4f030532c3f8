using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using CsvHelper;
using Microsoft.Extensions.Options;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// RFC 4180 CSV with a header row: recordId, optional op, one column per identifier type (several hashes in one
/// cell separated by '|', or the column repeated) and attr.&lt;name&gt; columns. Row numbers count the header as
/// row 1, as a spreadsheet does.
/// </summary>
public sealed class CsvUploadParser(RowRules rules, IOptions<UploadOptions> options) : IUploadParser
{
    private enum ColumnKind { RecordId, Op, Identifier, Attribute }

    public async IAsyncEnumerable<ParsedRecord> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken ct)
    {
        var maxRow = options.Value.MaxRowBytes;
        var csvOptions = new CsvReaderOptions
        {
            // The header is read as an ordinary record so that its columns are checked here, by our rules.
            HasHeader = false,
            Mode = CsvMode.Rfc4180,
            // Commas, as documented: not detected from the first lines (the library would choose among , ; tab and |, and
            // '|' also separates several hashes in one cell).
            Separator = ',',
            AllowLineBreaksInQuotes = true,
            SkipEmptyLines = true,
            // A record is buffered until its closing quote: bound it so one unterminated quote cannot eat the heap.
            MaxRecordSize = maxRow,
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            IncludeValuesInExceptions = false,
            Encoding = new UTF8Encoding(false),
        };
        // The reader honours a UTF-16 or UTF-32 byte-order mark whatever its options say, and would transcode such a body,
        // turning lone surrogates into U+FFFD (two record ids made one) before any check here could see them: refused.
        var start = new byte[4];
        var got = 0;
        for (int read; got < start.Length && (read = await body.ReadAsync(start.AsMemory(got), ct)) > 0;) got += read;
        if (IsUtf16Or32(start.AsSpan(0, got)))
            throw new UploadRejectedException(400, "The CSV is not UTF-8",
                "The body starts with a UTF-16 or UTF-32 byte-order mark; save the CSV as UTF-8 and upload it again. Nothing was applied.",
                new RowError(1, null, "Not UTF-8 (a UTF-16 or UTF-32 byte-order mark)."));
        await using var reader = CsvReader.Create(new PrefixedStream(start.AsMemory(0, got), body), csvOptions, true);
        if (!await Read(reader, ct)) yield break;
        var columns = MapHeader(Fields(reader));
        while (await Read(reader, ct))
        {
            // The reader's own bound is looser (a record up to about twice it got through): the documented limit is this one.
            if (reader.RawRecord.Length > maxRow) throw Malformed(reader.RowNumber);
            var row = new ParsedRecord { Row = reader.RowNumber };
            // The decoder turns bytes that are not UTF-8 into U+FFFD, so two record ids differing only there would be one
            // (a delete of one removing the other): the row is refused instead, as an NDJSON row is.
            var utf8 = Utf8.IsValid(reader.RawRecord);
            if (!utf8) row.Fail(null, "The row is not valid UTF-8.");
            var fieldCount = reader.FieldCount;
            if (utf8 && fieldCount != columns.Length) row.Fail(null, $"The row has {fieldCount} fields; the header has {columns.Length}.");
            for (var i = 0; i < (utf8 ? Math.Min(fieldCount, columns.Length) : 0); i++)
            {
                var (kind, name) = columns[i];
                var value = reader.GetString(i);
                switch (kind)
                {
                    case ColumnKind.RecordId: rules.SetRecordId(row, value); break;
                    case ColumnKind.Op: rules.SetOp(row, value.Trim()); break;
                    case ColumnKind.Identifier:
                        foreach (var hash in value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                            rules.AddHash(row, name, hash);
                        break;
                    case ColumnKind.Attribute: rules.AddAttribute(row, name, value.Length == 0 ? null : value); break;
                }
            }
            rules.Complete(row);
            yield return row;
        }
    }

    private static bool IsUtf16Or32(ReadOnlySpan<byte> start) =>
        start.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || start.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])
        || start.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]);

    private static UploadRejectedException Malformed(long row) => new(400, "The CSV is malformed",
        $"Row {row} is not valid CSV (RFC 4180), or is longer than the row limit; nothing was applied.",
        new RowError(row, null, "Not valid CSV (an unterminated quote, or a row over the size limit)."));

    private static string[] Fields(CsvReader reader)
    {
        var fields = new string[reader.FieldCount];
        for (var i = 0; i < fields.Length; i++) fields[i] = reader.GetString(i);
        return fields;
    }

    private static async Task<bool> Read(CsvReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadAsync(ct);
        }
        catch (CsvFormatException e)
        {
            throw Malformed(e.RecordNumber > 0 ? e.RecordNumber : reader.RowNumber + 1);
        }
    }

    private static (ColumnKind Kind, string Name)[] MapHeader(string[] header)
    {
        var columns = new (ColumnKind, string)[header.Length];
        var errors = new List<string>();
        var hasId = false;
        // recordId, op and each attribute once: a repeated one would leave which cell counts to the order of the columns.
        // An identifier column may repeat (each adds its hashes).
        var once = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < header.Length; i++)
        {
            var h = header[i].Trim();
            if (h == "recordId") { columns[i] = (ColumnKind.RecordId, h); hasId = true; }
            else if (h == "op") columns[i] = (ColumnKind.Op, h);
            else if (IdentifierTypes.TryParse(h, out _)) columns[i] = (ColumnKind.Identifier, h);
            else if (h.StartsWith("attr.", StringComparison.Ordinal) && AttributeNames.IsValid(h[5..])) columns[i] = (ColumnKind.Attribute, h[5..]);
            else { errors.Add($"column {i + 1}"); continue; }
            if (columns[i].Item1 != ColumnKind.Identifier && !once.Add(h))
                throw new UploadRejectedException(400, "Repeated CSV column",
                    $"The header gives {h} twice (column {i + 1}): recordId, op and each attr.<name> are one column each.",
                    new RowError(1, "header", $"{h} is repeated at column {i + 1}."));
        }
        if (errors.Count > 0)
            throw new UploadRejectedException(400, "Unknown CSV columns",
                $"Unknown header at {string.Join(", ", errors)}: columns are recordId, op, {string.Join(", ", IdentifierTypes.All.Select(t => t.WireName()))} and attr.<name>.",
                new RowError(1, "header", "Unknown column."));
        if (!hasId)
            throw new UploadRejectedException(400, "Missing recordId column", "The CSV header must have a recordId column.", new RowError(1, "header", "No recordId column."));
        return columns;
    }
}
