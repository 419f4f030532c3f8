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
    /// Normalizing and hashing is most of the work, and each row's is independent of the others: rows are read in
    /// batches, and while one batch is normalized and hashed on every core the next is read. Lines are written in
    /// the export's order whatever the order the work finished in, so the output is the same as row by row.
    /// </remarks>
    public static async Task WriteNdjsonAsync(string path, AccountColumns columns, UploadRowWriter writer,
        Action<long, long>? progress = null, CancellationToken ct = default, Action<long, string, AccountKeys>? explain = null, int threads = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        var parallel = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = threads == 0 ? -1 : threads };
        await using var reader = await CrmExportReader.OpenAsync(path, ct);
        var map = Resolve(reader, columns);
        var chunks = new ChunkPool();
        var batch = new List<PendingRow>(BatchRows);
        Task<Batch>? hashing = null;
        var lastProgress = 0L;
        try
        {
            await foreach (var row in reader.ReadRowsAsync(ct))
            {
                var attributes = new KeyValuePair<string, string?>[map.Attributes.Length];
                for (var i = 0; i < attributes.Length; i++)
                {
                    var (name, index) = map.Attributes[i];
                    attributes[i] = new(name, columns.Opportunities ? OpportunityValues.Normalize(name, row[index]) : row[index]);
                }
                batch.Add(new PendingRow(row.RowNumber, row[map.Id], Field(row, map.Domain), Field(row, map.Email), Field(row, map.Name),
                    Field(row, map.Country), attributes));
                if (batch.Count < BatchRows) continue;
                if (hashing is not null) await WriteAsync(await hashing);
                hashing = HashAsync(batch, chunks, explain is not null, parallel);
                batch = new List<PendingRow>(BatchRows);
                if (progress is not null && writer.Stats.RowsRead - lastProgress >= 2048)
                {
                    lastProgress = writer.Stats.RowsRead;
                    progress(writer.Stats.RowsRead, reader.BytesRead);
                }
            }
        }
        catch (CrmExportException)
        {
            // A row that cannot be read ends the export; the rows before it are written, as they would be row by row.
            await DrainAsync();
            throw;
        }
        await DrainAsync();
        await writer.FlushAsync(ct);
        progress?.Invoke(writer.Stats.RowsRead, reader.BytesRead);

        async Task DrainAsync()
        {
            if (hashing is not null) await WriteAsync(await hashing);
            hashing = null;
            if (batch.Count > 0) await WriteAsync(await HashAsync(batch, chunks, explain is not null, parallel));
            batch = [];
        }

        async Task WriteAsync(Batch done)
        {
            for (var c = 0; c < done.Chunks.Length; c++)
            {
                var chunk = done.Chunks[c];
                await writer.AppendAsync(chunk.Lines, ct);
                chunks.Return(chunk);
                var end = Math.Min(done.Rows.Count, (c + 1) * ChunkRows);
                for (var i = c * ChunkRows; i < end; i++)
                {
                    var row = done.Rows[i];
                    explain?.Invoke(row.RowNumber, row.RecordId, row.Keys!);
                    writer.Count(row.Outcome, row.RowNumber);
                }
            }
        }
    }

    /// <summary>Rows per batch: large enough to keep every core busy between two hand-overs, small enough to stream.</summary>
    private const int BatchRows = 4096;

    /// <summary>Rows one core encodes into one buffer.</summary>
    private const int ChunkRows = 256;

    /// <summary>
    /// A row read from the export, waiting for its line. Once computed it keeps only its outcome (and its keys when
    /// they are explained): the keys and hashes are garbage the moment its line is encoded, so a batch in flight
    /// holds its lines as bytes in pooled buffers, not as objects the collector must trace and promote.
    /// </summary>
    private sealed class PendingRow(long rowNumber, string recordId, string? domain, string? email, string? name, string? country,
        KeyValuePair<string, string?>[] attributes)
    {
        public long RowNumber { get; } = rowNumber;
        public string RecordId { get; } = recordId;
        public AccountKeys? Keys { get; private set; }
        public RowOutcome Outcome { get; private set; }

        public void Compute(Chunk chunk, bool keepKeys)
        {
            var keys = AccountKeys.From(domain, email, name, country);
            if (!keys.IsEmpty) UploadRowWriter.Encode(chunk.Json, chunk.Buffer, RecordId, keys, attributes);
            Outcome = new RowOutcome(keys);
            if (keepKeys) Keys = keys;
        }
    }

    /// <summary>A batch's rows and, per <see cref="ChunkRows"/> of them, the lines they gave.</summary>
    private sealed record Batch(List<PendingRow> Rows, Chunk[] Chunks);

    /// <summary>One core's output buffer and the JSON writer over it.</summary>
    private sealed class Chunk
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(ChunkRows * 1024);
        public Utf8JsonWriter Json { get; }

        public Chunk() => Json = new Utf8JsonWriter(Buffer, UploadRowWriter.JsonOptions);

        public ReadOnlySpan<byte> Lines => Buffer.WrittenSpan;
    }

    /// <summary>Chunks reused from batch to batch: their buffers reach their working size once.</summary>
    private sealed class ChunkPool
    {
        private readonly ConcurrentBag<Chunk> _free = [];

        public Chunk Rent() => _free.TryTake(out var chunk) ? chunk : new Chunk();

        public void Return(Chunk chunk)
        {
            chunk.Buffer.ResetWrittenCount();
            chunk.Json.Reset();
            _free.Add(chunk);
        }
    }

    private static Task<Batch> HashAsync(List<PendingRow> rows, ChunkPool pool, bool keepKeys, ParallelOptions parallel) => Task.Run(() =>
    {
        var chunks = new Chunk[(rows.Count + ChunkRows - 1) / ChunkRows];
        Parallel.For(0, chunks.Length, parallel, c =>
        {
            var chunk = pool.Rent();
            var end = Math.Min(rows.Count, (c + 1) * ChunkRows);
            for (var i = c * ChunkRows; i < end; i++) rows[i].Compute(chunk, keepKeys);
            chunks[c] = chunk;
        });
        return new Batch(rows, chunks);
    }, parallel.CancellationToken);

    private sealed record ColumnMap(int Id, int Domain, int Email, int Name, int Country, (string Name, int Index)[] Attributes);

    private static ColumnMap Resolve(CrmExportReader reader, AccountColumns columns)
    {
        int Index(string? column) => column is null ? -1 : reader.GetColumnIndex(column);
        return new ColumnMap(Index(columns.IdColumn), Index(columns.DomainColumn), Index(columns.EmailColumn), Index(columns.NameColumn),
            Index(columns.CountryColumn), [.. columns.AttributeColumns.Select(a => (a.Name, reader.GetColumnIndex(a.Column)))]);
    }

    // An unmapped column is null (the field is not part of this export), a mapped but empty one is "" (the
    // account has no value), so the summary can tell "no website column" from "website empty".
    private static string? Field(CrmRow row, int index) => index < 0 ? null : row[index];
}
