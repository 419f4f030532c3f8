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
        var batch = new List<PendingRow>(BatchRows);
        Task<List<PendingRow>>? hashing = null;
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
                hashing = HashAsync(batch, parallel);
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
            if (batch.Count > 0) await WriteAsync(await HashAsync(batch, parallel));
            batch = [];
        }

        async Task WriteAsync(List<PendingRow> rows)
        {
            foreach (var row in rows)
            {
                explain?.Invoke(row.RowNumber, row.RecordId, row.Keys!);
                await writer.WriteAsync(row.RecordId, row.Keys!, row.Attributes, row.RowNumber, ct, row.Hashes);
            }
        }
    }

    /// <summary>Rows per batch: large enough to keep every core busy between two hand-overs, small enough to stream.</summary>
    private const int BatchRows = 4096;

    /// <summary>A row read from the export, waiting for its keys and hashes.</summary>
    private sealed class PendingRow(long rowNumber, string recordId, string? domain, string? email, string? name, string? country,
        KeyValuePair<string, string?>[] attributes)
    {
        public long RowNumber { get; } = rowNumber;
        public string RecordId { get; } = recordId;
        public KeyValuePair<string, string?>[] Attributes { get; } = attributes;
        public AccountKeys? Keys { get; private set; }
        public Dictionary<string, string[]>? Hashes { get; private set; }

        public void Compute()
        {
            Keys = AccountKeys.From(domain, email, name, country);
            Hashes = Keys.IsEmpty ? null : Keys.Hashes();
        }
    }

    private static Task<List<PendingRow>> HashAsync(List<PendingRow> rows, ParallelOptions parallel) => Task.Run(() =>
    {
        Parallel.For(0, rows.Count, parallel, i => rows[i].Compute());
        return rows;
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
