using System.Text;
using OverlapEscrow.Client.Crm;

namespace OverlapEscrow.Cli.Tests;

public class CrmExportReaderTests
{
    private static async Task<(CrmExportReader Reader, List<CrmRow> Rows)> ReadAsync(byte[] bytes)
    {
        var reader = await CrmExportReader.OpenAsync(new MemoryStream(bytes), "export.csv");
        var rows = new List<CrmRow>();
        await foreach (var row in reader.ReadRowsAsync()) rows.Add(row);
        return (reader, rows);
    }

    private static Task<(CrmExportReader Reader, List<CrmRow> Rows)> ReadAsync(string text, bool bom = false) =>
        ReadAsync([.. (bom ? new byte[] { 0xEF, 0xBB, 0xBF } : []), .. Encoding.UTF8.GetBytes(text)]);

    [Fact]
    public async Task AByteOrderMarkIsNotPartOfTheFirstColumnName()
    {
        var (reader, rows) = await ReadAsync("Account ID,Website\r\nA-1,acme.com\r\n", bom: true);

        Assert.Equal(["Account ID", "Website"], reader.Columns);
        Assert.Equal(0, reader.GetColumnIndex("Account ID"));
        Assert.Equal("A-1", Assert.Single(rows)["Account ID"]);
    }

    [Fact]
    public async Task AFileWithoutByteOrderMarkReadsTheSame()
    {
        var (reader, rows) = await ReadAsync("Account ID,Website\nA-1,acme.com\n");

        Assert.Equal(',', reader.Separator);
        Assert.Equal("acme.com", Assert.Single(rows)["Website"]);
    }

    [Fact]
    public async Task SemicolonsAreDetectedFromTheHeaderLine()
    {
        var (reader, rows) = await ReadAsync("Account ID;Account Name;Website\nA-1;\"Acme; Inc.\";acme.com\nA-2;Globex, Inc.;globex.com\n");

        Assert.Equal(';', reader.Separator);
        Assert.Equal(["Account ID", "Account Name", "Website"], reader.Columns);
        Assert.Equal("Acme; Inc.", rows[0]["Account Name"]);
        Assert.Equal("Globex, Inc.", rows[1]["Account Name"]);
    }

    [Fact]
    public async Task ACommaHeaderWithASemicolonInAQuotedNameStaysCommaSeparated()
    {
        var (reader, rows) = await ReadAsync("Account ID,\"Name; legal\",Website\nA-1,Acme,acme.com\n");

        Assert.Equal(',', reader.Separator);
        Assert.Equal("Name; legal", reader.Columns[1]);
        Assert.Equal("acme.com", Assert.Single(rows)["Website"]);
    }

    [Fact]
    public async Task QuotedLineBreaksStayInsideTheirFieldAndRowNumbersCountRecords()
    {
        var (_, rows) = await ReadAsync("Account ID,Notes,Website\r\nA-1,\"first line\r\nsecond \"\"quoted\"\" line\",acme.com\r\n\r\nA-2,plain,globex.com\r\n");

        Assert.Equal(2, rows.Count);
        Assert.Equal("first line\r\nsecond \"quoted\" line", rows[0]["Notes"]);
        Assert.Equal("acme.com", rows[0]["Website"]);
        // The header is row 1; blank lines and quoted line breaks do not count (the escrow's own rule).
        Assert.Equal([2L, 3L], rows.Select(r => r.RowNumber));
    }

    [Fact]
    public async Task HeaderNamesMatchIgnoringCaseButOtherwiseExactly()
    {
        var (reader, rows) = await ReadAsync("Account ID,WEBSITE\nA-1,acme.com\n");

        Assert.Equal("acme.com", rows[0]["website"]);
        Assert.Throws<CrmExportException>(() => reader.GetColumnIndex("Web site"));
    }

    [Fact]
    public async Task AMissingColumnIsAnErrorThatNamesOnlyAColumnItLooksLikeNeverTheFirstRow()
    {
        var (reader, _) = await ReadAsync("Account ID,Account Name,Website\nA-1,Acme,acme.com\n");

        var error = Assert.Throws<CrmExportException>(() => reader.GetColumnIndex("Primary Contact Email"));
        Assert.Equal("export.csv has no column \"Primary Contact Email\"; its first row names 3 columns (not shown: without a header row they would be an account).", error.Message);
        Assert.Equal("export.csv has no column \"account_name\"; did you mean \"Account Name\"?",
            Assert.Throws<CrmExportException>(() => reader.GetColumnIndex("account_name")).Message);

        // An export without a header row: its first account is not quoted back.
        var (headerless, _) = await ReadAsync("A-1,Müller GmbH,mueller.de\nA-2,Acme,acme.com\n");
        var refused = Assert.Throws<CrmExportException>(() => headerless.GetColumnIndex("Website"));
        Assert.DoesNotContain("Müller", refused.Message);
        Assert.DoesNotContain("mueller.de", refused.Message);
    }

    [Fact]
    public async Task AColumnNamedTwiceIsAmbiguous()
    {
        var (reader, _) = await ReadAsync("Account ID,Website,website\nA-1,a.com,b.com\n");

        Assert.Contains("more than once", Assert.Throws<CrmExportException>(() => reader.GetColumnIndex("Website")).Message);
    }

    [Fact]
    public async Task ARowWithAnotherFieldCountNamesItsRow()
    {
        var error = await Assert.ThrowsAsync<CrmExportException>(() => ReadAsync("Account ID,Website\nA-1,acme.com\nA-2,globex.com,extra\n"));

        Assert.Contains("row 3", error.Message);
        Assert.Contains("3 fields where the header has 2", error.Message);
    }

    [Fact]
    public async Task AnUnterminatedQuoteIsAnErrorWithItsRowAndNoData()
    {
        var error = await Assert.ThrowsAsync<CrmExportException>(() => ReadAsync("Account ID,Website\nA-1,acme.com\nA-2,\"secret.example\n"));

        Assert.Contains("row 3", error.Message);
        Assert.DoesNotContain("secret", error.Message);
    }

    [Fact]
    public async Task AFileThatIsNotUtf8IsRefused()
    {
        // "Softcatalà" in Latin-1: the à is the single byte 0xE0.
        byte[] latin1 = [.. Encoding.ASCII.GetBytes("Account ID,Account Name\nA-1,Softcatal"), 0xE0, (byte)'\n'];

        var error = await Assert.ThrowsAsync<CrmExportException>(() => ReadAsync(latin1));

        Assert.Contains("row 2", error.Message);
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public async Task AnEmptyFileHasNoHeader()
    {
        var error = await Assert.ThrowsAsync<CrmExportException>(() => ReadAsync(""));

        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public async Task ALongFileIsReadRowByRowAcrossBufferBoundaries()
    {
        var sb = new StringBuilder("Account ID;Website\n");
        for (var i = 1; i <= 20_000; i++) sb.Append("A-").Append(i).Append(";\"d").Append(i).Append(".example\"\n");

        var (_, rows) = await ReadAsync(sb.ToString());

        Assert.Equal(20_000, rows.Count);
        Assert.Equal("d20000.example", rows[^1]["Website"]);
        Assert.Equal(20_001, rows[^1].RowNumber);
    }

    [Fact]
    public async Task ARowCanBeReadAsADictionary()
    {
        var (_, rows) = await ReadAsync("Account ID,Website\nA-1,acme.com\n");

        var row = rows[0].ToDictionary();

        Assert.Equal("acme.com", row["WEBSITE"]);
        Assert.Equal(2, row.Count);
    }

    // SelectRows hands records to worker threads as bytes (the `hash` and `upload` path); what it gives a selector
    // must be what ReadRowsAsync gives row by row: the same fields, the same row numbers, the same errors.

    /// <summary>
    /// An export that tries the CSV library's record splitting: a byte-order mark, CRLF and LF, quoted separators,
    /// doubled quotes, quoted line breaks (CRLF, LF and CR), blank lines, non-ASCII text, a last line without a line
    /// break; repeated until it spans many of the library's batches.
    /// </summary>
    private static byte[] AwkwardExport(int records, char separator = ',')
    {
        var s = separator;
        var sb = new StringBuilder($"Account ID{s}Account Name{s}Website{s}Notes\r\n");
        for (var i = 0; i < records; i++)
        {
            switch (i % 6)
            {
                case 0: sb.Append($"A-{i}{s}\"Acme{s} Inc.\"{s}acme.com{s}plain\r\n"); break;
                case 1: sb.Append($"A-{i}{s}\"Müller \"\"Söhne\"\" GmbH\"{s}müller.de{s}\"first line\r\nsecond line\"\n"); break;
                case 2: sb.Append($"A-{i}{s}株式会社テスト{s}{s}\"lf\nonly\"\r\n\r\n"); break;
                case 3: sb.Append($"\"A-{i}\"{s}\"\"{s}\"https://x.example/?a=1{s}b=2\"{s}\"cr\ronly\"\n\n\n"); break;
                case 4: sb.Append($"A-{i}{s}Ærø 🚀 ApS{s}ærø.dk{s}\"\"\"quoted start\"\r\n"); break;
                default: sb.Append($"A-{i}{s} spaced {s} {s}\r\n"); break;
            }
        }
        sb.Append($"A-last{s}Last{s}last.example{s}no line break");
        return [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(sb.ToString())];
    }

    private static async Task<List<(long Row, string[] Fields)>> SelectAsync(byte[] bytes, int threads)
    {
        await using var reader = await CrmExportReader.OpenAsync(new MemoryStream(bytes), "export.csv");
        var count = reader.Columns.Count;
        return [.. reader.SelectRows(record => (record.RowNumber, Enumerable.Range(0, count).Select(i => record[i]).ToArray()), threads)];
    }

    [Theory]
    [InlineData(',', 1)]
    [InlineData(',', 3)]
    [InlineData(';', -1)]
    public async Task SelectedRowsOnWorkerThreadsAreExactlyTheRowsReadRowByRow(char separator, int threads)
    {
        var bytes = AwkwardExport(60_000, separator);
        var (_, expected) = await ReadAsync(bytes);

        var selected = await SelectAsync(bytes, threads);

        Assert.Equal(60_001, expected.Count);
        Assert.Equal(expected.Select(r => r.RowNumber), selected.Select(r => r.Row));
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Fields, selected[i].Fields);
        // The awkward parts did arrive as such (so the comparison above is not between two equally wrong readings).
        Assert.Equal("Acme" + separator + " Inc.", selected[0].Fields[1]);
        Assert.Equal("Müller \"Söhne\" GmbH", selected[1].Fields[1]);
        Assert.Equal("first line\r\nsecond line", selected[1].Fields[3]);
        Assert.Equal("cr\ronly", selected[3].Fields[3]);
        Assert.Equal("A-0", selected[0].Fields[0]);
        Assert.Equal(60_002, selected[^1].Row);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ARowNotInUtf8EndsTheSelectedRowsAfterEveryRowBeforeItEvenInAColumnNotDecoded(int threads)
    {
        var sb = new StringBuilder("Account ID,Website,Owner\n");
        for (var i = 0; i < 50_000; i++) sb.Append($"A-{i},d{i}.example,dee\n");
        // Latin-1 "Softcatalà" in the Owner column, which the selector below never decodes.
        byte[] bytes = [.. Encoding.UTF8.GetBytes(sb.ToString()), .. "A-bad,bad.example,Softcatal"u8, 0xE0, (byte)'\n', .. "A-after,after.example,dee\n"u8];
        await using var reader = await CrmExportReader.OpenAsync(new MemoryStream(bytes), "export.csv");
        var rows = new List<long>();

        var error = Assert.Throws<CrmExportException>(() =>
        {
            foreach (var row in reader.SelectRows(record => (record.RowNumber, record[1]), threads)) rows.Add(row.RowNumber);
        });

        Assert.Equal("export.csv, row 50002: not valid UTF-8; save the export as UTF-8 (CSV UTF-8) and try again.", error.Message);
        Assert.Equal(50_000, rows.Count);
        Assert.Equal(50_001, rows[^1]);
    }

    [Theory]
    [InlineData("A-bad,short\n", "row 30002: 2 fields where the header has 3")]
    [InlineData("A-bad,\"unterminated,x\nA-after,after.example,dee\n", "row 30002: not valid CSV")]
    public async Task AMalformedRowEndsTheSelectedRowsWithTheRowNumberRowByRowGives(string bad, string message)
    {
        var sb = new StringBuilder("Account ID,Website,Owner\n");
        for (var i = 0; i < 30_000; i++) sb.Append($"A-{i},d{i}.example,dee\n");
        var bytes = Encoding.UTF8.GetBytes(sb + bad);
        var rowByRow = await Assert.ThrowsAsync<CrmExportException>(() => ReadAsync(bytes));
        await using var reader = await CrmExportReader.OpenAsync(new MemoryStream(bytes), "export.csv");
        var rows = 0;

        var error = Assert.Throws<CrmExportException>(() =>
        {
            foreach (var _ in reader.SelectRows(record => record[0], 3)) rows++;
        });

        Assert.Contains(message, rowByRow.Message);
        Assert.Equal(rowByRow.Message, error.Message);
        Assert.Equal(30_000, rows);
    }
}
