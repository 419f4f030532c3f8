using System.Text;
using OverlapEscrow.Cli.Tests.Infrastructure;
using OverlapEscrow.Client.Crm;
using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Tests;

/// <summary>
/// The export is normalized and hashed in batches on every core; what it writes must be what one row after the other
/// gives, in the export's order, at sizes spanning many batches.
/// </summary>
public sealed class AccountExportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("oe-export-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly AccountColumns Columns = new("Account ID", "Website", "Primary Contact Email", "Account Name", "Billing Country",
        [new AttributeColumn("Stage", "stage")]);

    /// <summary>The partner sample's rows repeated under fresh ids until <paramref name="rows"/>, as one CRM export.</summary>
    private string Export(int rows, string? badRowAfter = null)
    {
        var sample = File.ReadAllLines(CliRunner.PartnerFile("alpha", "customers"));
        var path = Path.Combine(_directory, $"export-{rows}.csv");
        using var file = new StreamWriter(path, false, new UTF8Encoding(false));
        file.WriteLine(sample[0]);
        for (var i = 0; i < rows; i++)
        {
            var line = sample[1 + i % (sample.Length - 1)];
            file.WriteLine($"R-{i:D6}" + line[line.IndexOf(',')..]);
            if (badRowAfter is not null && i == rows - 1) file.WriteLine(badRowAfter);
        }
        return path;
    }

    /// <summary>The row-by-row reference: each row read, its keys taken and written before the next is read.</summary>
    private static async Task<(string Text, UploadStats Stats, List<long> Rows)> OneByOneAsync(string path)
    {
        var output = new MemoryStream();
        var writer = new UploadRowWriter(output);
        var explained = new List<long>();
        await using var reader = await CrmExportReader.OpenAsync(path);
        int Index(string c) => reader.GetColumnIndex(c);
        await foreach (var row in reader.ReadRowsAsync())
        {
            var keys = AccountKeys.From(row[Index("Website")], row[Index("Primary Contact Email")], row[Index("Account Name")], row[Index("Billing Country")]);
            explained.Add(row.RowNumber);
            await writer.WriteAsync(row[Index("Account ID")], keys, [new("stage", row[Index("Stage")])], row.RowNumber);
        }
        await writer.FlushAsync();
        return (Encoding.UTF8.GetString(output.ToArray()), writer.Stats, explained);
    }

    [Theory]
    [InlineData(1, 0, true)]
    [InlineData(4096, 0, true)]
    [InlineData(4097, 0, true)]
    [InlineData(30_001, 0, true)]
    [InlineData(9_000, 1, true)]
    [InlineData(9_000, 3, true)]
    // Without explanations the typo keys are hashed from their source rather than from their text (AccountKeys.ForUpload).
    [InlineData(30_001, 0, false)]
    [InlineData(9_000, 1, false)]
    public async Task BatchedHashingWritesExactlyWhatRowByRowWritesInTheSameOrder(int rows, int threads, bool explain)
    {
        var path = Export(rows);
        var output = new MemoryStream();
        var explained = new List<long>();
        var progress = new List<long>();
        var writer = await AccountExport.WriteNdjsonAsync(path, Columns, output, (read, _) => progress.Add(read),
            explain: explain ? (row, _, _) => explained.Add(row) : null, threads: threads);

        var reference = await OneByOneAsync(path);
        Assert.Equal(reference.Text, Encoding.UTF8.GetString(output.ToArray()));
        Assert.Equal((reference.Stats.RowsRead, reference.Stats.RowsWritten, reference.Stats.RowsWithoutKey),
            (writer.Stats.RowsRead, writer.Stats.RowsWritten, writer.Stats.RowsWithoutKey));
        Assert.Equal(reference.Stats.HashesByType, writer.Stats.HashesByType);
        Assert.Equal(reference.Stats.RowsWithType, writer.Stats.RowsWithType);
        if (explain) Assert.Equal(reference.Rows, explained);
        Assert.Equal(rows, progress[^1]);
        Assert.Equal(progress.Order(), progress);
        // Line numbers still lead back to the export's rows (the escrow reports row errors by line).
        for (var line = 1L; line <= writer.Stats.RowsWritten; line += 997)
            Assert.NotNull(writer.SourceRow(line));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task LinesLongerThanTheWorkersBuffersAreWrittenWholeAndInOrder(int threads)
    {
        // Workers keep the lines of consecutive rows in 64 KB slabs; a line over that gets an array of its own.
        var path = Path.Combine(_directory, "long-lines.csv");
        await using (var file = new StreamWriter(path, false, new UTF8Encoding(false)))
        {
            await file.WriteLineAsync("Account ID,Account Name,Website,Primary Contact Email,Billing Country,Owner,Stage");
            for (var i = 0; i < 5_000; i++)
            {
                var stage = i % 997 == 0 ? new string((char)('a' + i % 26), 70_000 + i) : "Proposal";
                await file.WriteLineAsync($"R-{i},Acme {i} GmbH,acme{i}.example,jo@acme{i}.example,DE,dee,{stage}");
            }
        }
        var output = new MemoryStream();

        await AccountExport.WriteNdjsonAsync(path, Columns, output, threads: threads);

        var reference = await OneByOneAsync(path);
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(reference.Text.Length, text.Length);
        Assert.Equal(reference.Text, text);
        Assert.Contains(new string('a', 70_000), text);
    }

    [Fact]
    public async Task ARowThatCannotBeReadEndsTheExportAfterEveryRowBeforeItIsWritten()
    {
        var path = Export(10_000, badRowAfter: "R-bad,\"unterminated");
        var output = new MemoryStream();
        var writer = new UploadRowWriter(output);

        var error = await Assert.ThrowsAsync<CrmExportException>(() => AccountExport.WriteNdjsonAsync(path, Columns, writer));
        Assert.Contains("row 10002", error.Message);
        await writer.FlushAsync();
        Assert.Equal(10_000, writer.Stats.RowsRead);
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(writer.Stats.RowsWritten, lines.Length);
        Assert.StartsWith("{\"recordId\":\"R-009", lines[^1]);
    }

    [Theory]
    [InlineData("fields")]
    [InlineData("utf8")]
    [InlineData("quote")]
    public async Task ABadRowInTheMiddleOfManyBatchesOnThreeThreadsEndsAFileExportAfterExactlyTheRowsBeforeIt(string fault)
    {
        // 200,000 rows are about 70 of the CSV library's batches; the bad row is row 100,002 (the header is row 1), so
        // workers are hashing batches after it when it is found. The output is a file opened for synchronous I/O, as
        // `hash -o` opens it.
        var sample = File.ReadAllLines(CliRunner.PartnerFile("alpha", "customers"));
        var path = Path.Combine(_directory, $"bad-{fault}.csv");
        await using (var file = new FileStream(path, FileMode.CreateNew))
        {
            void Line(string text) => file.Write(Encoding.UTF8.GetBytes(text + "\n"));
            Line(sample[0]);
            for (var i = 0; i < 200_000; i++)
            {
                var line = sample[1 + i % (sample.Length - 1)];
                line = $"R-{i:D6}" + line[line.IndexOf(',')..];
                if (i != 100_000) Line(line);
                else if (fault == "fields") Line(line + ",one too many");
                else if (fault == "quote") Line(line + ",\"unterminated"); // swallows the rest of the file: over the record limit
                else
                {
                    // Windows-1252 "é" (0xE9) in the Owner column, which is not mapped: the row is still refused.
                    file.Write(Encoding.UTF8.GetBytes(line[..line.LastIndexOf(',')] + ",caf"));
                    file.Write([0xE9, (byte)'\n']);
                }
            }
        }
        var prefix = Path.Combine(_directory, "prefix.csv");
        await File.WriteAllLinesAsync(prefix, File.ReadLines(path).Take(100_001), new UTF8Encoding(false));
        var target = Path.Combine(_directory, $"bad-{fault}.ndjson");
        UploadRowWriter writer;
        CrmExportException error;
        await using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.None))
        {
            writer = new UploadRowWriter(output);
            error = await Assert.ThrowsAsync<CrmExportException>(() => AccountExport.WriteNdjsonAsync(path, Columns, writer, threads: 3));
            await writer.FlushAsync();
        }

        Assert.Contains("row 100002", error.Message);
        Assert.Equal(100_000, writer.Stats.RowsRead);
        var reference = await OneByOneAsync(prefix);
        Assert.Equal(reference.Stats.RowsWritten, writer.Stats.RowsWritten);
        Assert.Equal(reference.Text, await File.ReadAllTextAsync(target));
    }
}
