using System.Buffers;
using System.Collections.Concurrent;
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
        UnicodeSupport.EnsureAvailable();
        await using var reader = await CrmExportReader.OpenAsync(path, ct);
        var map = Resolve(reader, columns);
        var keepKeys = explain is not null;
        var lastProgress = 0L;
        // Written lines are given back to their slab a run at a time: consecutive rows nearly always share one (a
        // worker's batch fills a slab in order), so the writer and the workers touch its count once per slab, not per row.
        LineSlab? written = null;
        var writtenLines = 0;
        try
        {
            foreach (var row in reader.SelectRows(record => Compute(record, map, columns.Opportunities, keepKeys), threads == 0 ? -1 : threads))
            {
                if (row.Line is { } line)
                {
                    if (!ReferenceEquals(line, written))
                    {
                        written?.Release(writtenLines);
                        written = line;
                        writtenLines = 0;
                    }
                    writtenLines++; // released once copied, below or on the way out
                    await writer.AppendAsync(line.Bytes.AsSpan(row.LineOffset, row.LineLength), ct);
                }
                explain?.Invoke(row.RowNumber, row.RecordId!, row.Keys!);
                writer.Count(row.Outcome, row.RowNumber);
                if (writer.Stats.RowsRead - lastProgress >= 4096)
                {
                    // Leaving the loop disposes the enumeration, which stops the worker threads.
                    ct.ThrowIfCancellationRequested();
                    lastProgress = writer.Stats.RowsRead;
                    progress?.Invoke(writer.Stats.RowsRead, reader.BytesRead);
                }
            }
        }
        finally
        {
            written?.Release(writtenLines);
        }
        await writer.FlushAsync(ct);
        progress?.Invoke(writer.Stats.RowsRead, reader.BytesRead);
    }

    /// <summary>
    /// One row's result: its outcome for the counts and where its NDJSON line is (in a <see cref="LineSlab"/>), and its
    /// record id and keys only when they are explained. The keys and hashes are garbage the moment the line is
    /// encoded, so rows in flight between the workers and the writer hold their lines as bytes in reused slabs, not
    /// as objects or arrays of their own that the collector would have to copy and promote while they wait.
    /// </summary>
    private readonly record struct RowResult(long RowNumber, RowOutcome Outcome, LineSlab? Line, int LineOffset, int LineLength,
        string? RecordId, AccountKeys? Keys);

    /// <summary>
    /// Lines of consecutive rows encoded by one worker thread, in one array: the worker appends lines until it is full,
    /// the writer releases the lines once written, and when both are done with it the slab goes back to
    /// <see cref="FreeSlabs"/> for any worker to fill again. A line longer than a slab gets a slab of its own.
    /// </summary>
    /// <remarks>
    /// The count of holds is shared by the worker's core and the writer's, so each side changes it as seldom as it can:
    /// a worker takes a slab with a large hold (<see cref="Filling"/>) and, when it moves on, trades it for the number
    /// of lines it appended; the writer gives back a run of consecutive lines at once. The count can only reach zero
    /// when the worker has moved on and every one of its lines is written.
    /// </remarks>
    private sealed class LineSlab
    {
        public const int Size = 64 * 1024;

        /// <summary>The hold of a worker still appending: more than the lines a slab can hold.</summary>
        private const int Filling = 1 << 30;

        private LineSlab(int size, int holds)
        {
            Bytes = new byte[size];
            _holds = holds;
        }

        /// <summary>A pooled-size slab for a worker to fill.</summary>
        public static LineSlab ForWorker() => new(Size, Filling);

        /// <summary>A slab holding one line longer than <see cref="Size"/>, held by that line alone (never pooled).</summary>
        public static LineSlab ForOneLine(int length) => new(length, 1);

        public byte[] Bytes { get; }

        /// <summary>How far the worker has filled it (read and written by that worker only).</summary>
        public int Used;

        /// <summary>The lines the worker has appended (that worker only).</summary>
        public int Lines;

        private int _holds;

        /// <summary>The worker is done appending: its hold becomes one per line it appended.</summary>
        public void Leave() => Done(Interlocked.Add(ref _holds, Lines - Filling));

        /// <summary>The writer has written <paramref name="lines"/> of its lines.</summary>
        public void Release(int lines) => Done(Interlocked.Add(ref _holds, -lines));

        private void Done(int holds)
        {
            if (holds != 0 || Bytes.Length != Size) return;
            Used = 0;
            Lines = 0;
            _holds = Filling;
            FreeSlabs.Enqueue(this);
        }
    }

    /// <summary>Slabs ready to be filled; as many as were ever in flight at once (a few MB), reused from run to run.</summary>
    private static readonly ConcurrentQueue<LineSlab> FreeSlabs = new();

    /// <summary>Each worker thread's line buffer and JSON writer, and the slab it is filling.</summary>
    [ThreadStatic] private static LineBuffer? t_line;

    private sealed class LineBuffer
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(4096);
        public Utf8JsonWriter Json { get; }
        public LineSlab? Slab;

        public LineBuffer() => Json = new Utf8JsonWriter(Buffer, UploadRowWriter.JsonOptions);

        /// <summary>Copies the encoded line into the current slab (a new one when it is full); returns the slab and the offset.</summary>
        public (LineSlab Slab, int Offset) Keep(ReadOnlySpan<byte> line)
        {
            if (line.Length > LineSlab.Size) return (Whole(line), 0);
            if (Slab is null || Slab.Used + line.Length > LineSlab.Size)
            {
                Slab?.Leave(); // this worker is done appending to it
                Slab = FreeSlabs.TryDequeue(out var free) ? free : LineSlab.ForWorker();
            }
            var offset = Slab.Used;
            line.CopyTo(Slab.Bytes.AsSpan(offset));
            Slab.Used += line.Length;
            Slab.Lines++;
            return (Slab, offset);
        }

        private static LineSlab Whole(ReadOnlySpan<byte> line)
        {
            var slab = LineSlab.ForOneLine(line.Length);
            line.CopyTo(slab.Bytes);
            return slab;
        }
    }

    private static readonly KeyValuePair<string, string?>[] NoAttributes = [];

    private static RowResult Compute(CrmRecord record, ColumnMap map, bool opportunities, bool keepKeys)
    {
        // An unmapped column is null (the field is not part of this export), a mapped but empty one is "" (the
        // account has no value), so the summary can tell "no website column" from "website empty".
        string? Field(int index) => index < 0 ? null : record[index];
        var recordId = record[map.Id];
        // Explained keys are shown as text, typo keys included; otherwise the typo keys are hashed from their source.
        var keys = keepKeys
            ? AccountKeys.From(Field(map.Domain), Field(map.Email), Field(map.Name), Field(map.Country))
            : AccountKeys.ForUpload(Field(map.Domain), Field(map.Email), Field(map.Name), Field(map.Country));
        LineSlab? slab = null;
        int offset = 0, length = 0;
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
            (slab, offset) = buffer.Keep(buffer.Buffer.WrittenSpan);
        }
        return new RowResult(record.RowNumber, new RowOutcome(keys), slab, offset, length, keepKeys ? recordId : null, keepKeys ? keys : null);
    }

    private sealed record ColumnMap(int Id, int Domain, int Email, int Name, int Country, (string Name, int Index)[] Attributes);

    private static ColumnMap Resolve(CrmExportReader reader, AccountColumns columns)
    {
        int Index(string? column) => column is null ? -1 : reader.GetColumnIndex(column);
        return new ColumnMap(Index(columns.IdColumn), Index(columns.DomainColumn), Index(columns.EmailColumn), Index(columns.NameColumn),
            Index(columns.CountryColumn), [.. columns.AttributeColumns.Select(a => (a.Name, reader.GetColumnIndex(a.Column)))]);
    }
}
