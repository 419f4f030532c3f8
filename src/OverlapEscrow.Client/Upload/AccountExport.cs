using System.Buffers;
using System.Text.Json;
using OverlapEscrow.Client.Crm;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// Which CRM export columns hold the record id, the identifier fields and the attributes to upload.
/// <see cref="Opportunities"/>: the target is an opportunities population, so attributes with the documented
/// opportunity names are written in their wire forms (<see cref="OpportunityValues"/>).
/// </summary>
public sealed record AccountColumns(
    string IdColumn,
    string? DomainColumn = null,
    string? EmailColumn = null,
    string? NameColumn = null,
    string? CountryColumn = null,
    IReadOnlyList<AttributeColumn>? Attributes = null,
    bool Opportunities = false)
{
    public IReadOnlyList<AttributeColumn> AttributeColumns => Attributes ?? [];

    /// <summary>Throws <see cref="ArgumentException"/> when no identifier column is given or two attributes share a name.</summary>
    public void Validate()
    {
        if (DomainColumn is null && EmailColumn is null && NameColumn is null)
            throw new ArgumentException("Give at least one identifier column: --domain-column, --email-column or --name-column.");
        var duplicate = AttributeColumns.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Two --attribute columns ({string.Join(", ", duplicate.Select(a => $"\"{a.Column}\""))}) give the attribute name \"{duplicate.Key}\"; name one explicitly with \"Column=name\".");
    }
}

/// <summary>
/// The transformation the client applies before anything leaves the company: CRM export rows → normalized keys
/// (docs/hashing.md) → hashes → NDJSON upload lines. The same code serves uploads and the `hash` command, so
/// what a reviewer sees in `hash` output is exactly what an upload sends.
/// </summary>
public static class AccountExport
{
    /// <summary>Opens the export and checks that every named column exists, without reading any row.</summary>
    public static async Task CheckColumnsAsync(string path, AccountColumns columns, CancellationToken ct = default)
    {
        await using var reader = await CrmExportReader.OpenAsync(path, ct);
        _ = Resolve(reader, columns);
    }

    /// <summary>
    /// Reads the export at <paramref name="path"/> and writes its accounts as NDJSON to <paramref name="output"/>.
    /// <paramref name="progress"/> is called every few thousand rows with (rows read, bytes read).
    /// </summary>
    /// <param name="threads">Cores to normalize and hash on; all of them when 0.</param>
    public static async Task<UploadRowWriter> WriteNdjsonAsync(string path, AccountColumns columns, Stream output,
        Action<long, long>? progress = null, CancellationToken ct = default, Action<long, string, AccountKeys>? explain = null, int threads = 0)
    {
        var writer = new UploadRowWriter(output);
        await WriteNdjsonAsync(path, columns, writer, progress, ct, explain, threads);
        return writer;
    }

    /// <summary>
    /// As above, into a writer the caller holds, so its counts and row map are there even when writing fails part-way.
    /// <paramref name="explain"/>, when given, sees every row's source row number, record id and keys before hashing.
    /// </summary>
    /// <remarks>
    /// Normalizing and hashing is most of the work, and each row's is independent of the others: the CSV library
    /// splits the export into records on one thread and hands batches of them, as bytes, to one worker thread per
    /// core, which decodes the mapped fields, normalizes, hashes and encodes each row's line (CrmExportReader.SelectRows).
    /// The lines come back in the export's order whatever the order the work finished in, and this thread writes
    /// and counts them, so the output is the same as row by row. With one thread, all of it runs row by row here.
    /// </remarks>
    public static async Task WriteNdjsonAsync(string path, AccountColumns columns, UploadRowWriter writer,
        Action<long, long>? progress = null, CancellationToken ct = default, Action<long, string, AccountKeys>? explain = null, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        await using var reader = await CrmExportReader.OpenAsync(path, ct);
        var map = Resolve(reader, columns);
        var keepKeys = explain is not null;
        var lastProgress = 0L;
        foreach (var row in reader.SelectRows(record => Compute(record, map, columns.Opportunities, keepKeys), threads == 0 ? -1 : threads))
        {
            if (row.Line is { } line)
            {
                try
                {
                    await writer.AppendAsync(line.AsSpan(0, row.LineLength), ct);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(line);
                }
            }
            explain?.Invoke(row.RowNumber, row.RecordId!, row.Keys!);
            writer.Count(row.Outcome, row.RowNumber);
            if (progress is not null && writer.Stats.RowsRead - lastProgress >= 4096)
            {
                ct.ThrowIfCancellationRequested();
                lastProgress = writer.Stats.RowsRead;
                progress(writer.Stats.RowsRead, reader.BytesRead);
            }
        }
        await writer.FlushAsync(ct);
        progress?.Invoke(writer.Stats.RowsRead, reader.BytesRead);
    }

    /// <summary>
    /// One row's result: its outcome for the counts and its NDJSON line (in a pooled array, returned once written),
    /// and its record id and keys only when they are explained. The keys and hashes are garbage the moment the line is
    /// encoded, so rows in flight hold their lines as bytes, not as objects the collector must trace and promote.
    /// </summary>
    private readonly record struct RowResult(long RowNumber, RowOutcome Outcome, byte[]? Line, int LineLength, string? RecordId, AccountKeys? Keys);

    /// <summary>Each worker thread's line buffer and the JSON writer over it, reused for every row it encodes.</summary>
    [ThreadStatic] private static LineBuffer? t_line;

    private sealed class LineBuffer
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(4096);
        public Utf8JsonWriter Json { get; }

        public LineBuffer() => Json = new Utf8JsonWriter(Buffer, UploadRowWriter.JsonOptions);
    }

    private static readonly KeyValuePair<string, string?>[] NoAttributes = [];

    private static RowResult Compute(CrmRecord record, ColumnMap map, bool opportunities, bool keepKeys)
    {
        // An unmapped column is null (the field is not part of this export), a mapped but empty one is "" (the
        // account has no value), so the summary can tell "no website column" from "website empty".
        string? Field(int index) => index < 0 ? null : record[index];
        var recordId = record[map.Id];
        var keys = AccountKeys.From(Field(map.Domain), Field(map.Email), Field(map.Name), Field(map.Country));
        byte[]? line = null;
        var length = 0;
        if (!keys.IsEmpty)
        {
            var attributes = map.Attributes.Length == 0 ? NoAttributes : new KeyValuePair<string, string?>[map.Attributes.Length];
            for (var i = 0; i < attributes.Length; i++)
            {
                var (name, index) = map.Attributes[i];
                attributes[i] = new(name, opportunities ? OpportunityValues.Normalize(name, record[index]) : record[index]);
            }
            var buffer = t_line ??= new LineBuffer();
            buffer.Buffer.ResetWrittenCount();
            UploadRowWriter.Encode(buffer.Json, buffer.Buffer, recordId, keys, attributes);
            length = buffer.Buffer.WrittenCount;
            line = ArrayPool<byte>.Shared.Rent(length);
            buffer.Buffer.WrittenSpan.CopyTo(line);
        }
        return new RowResult(record.RowNumber, new RowOutcome(keys), line, length, keepKeys ? recordId : null, keepKeys ? keys : null);
    }

    private sealed record ColumnMap(int Id, int Domain, int Email, int Name, int Country, (string Name, int Index)[] Attributes);

    private static ColumnMap Resolve(CrmExportReader reader, AccountColumns columns)
    {
        int Index(string? column) => column is null ? -1 : reader.GetColumnIndex(column);
        return new ColumnMap(Index(columns.IdColumn), Index(columns.DomainColumn), Index(columns.EmailColumn), Index(columns.NameColumn),
            Index(columns.CountryColumn), [.. columns.AttributeColumns.Select(a => (a.Name, reader.GetColumnIndex(a.Column)))]);
    }
}
