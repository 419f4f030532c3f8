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
    public async Task AMissingColumnIsAnErrorThatListsTheColumnsThereAre()
    {
        var (reader, _) = await ReadAsync("Account ID,Account Name,Website\nA-1,Acme,acme.com\n");

        var error = Assert.Throws<CrmExportException>(() => reader.GetColumnIndex("Primary Contact Email"));

        Assert.Equal("export.csv has no column \"Primary Contact Email\"; its columns are: \"Account ID\", \"Account Name\", \"Website\".", error.Message);
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
}
