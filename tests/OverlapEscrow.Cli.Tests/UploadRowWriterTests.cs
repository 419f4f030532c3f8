using System.Text;
using System.Text.Json.Nodes;
using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Tests;

public class UploadRowWriterTests
{
    private static async Task<(UploadRowWriter Writer, string[] Lines)> WriteAsync(params (string Id, AccountKeys Keys, (string, string?)[] Attributes, long Row)[] accounts)
    {
        var output = new MemoryStream();
        var writer = new UploadRowWriter(output);
        foreach (var (id, keys, attributes, row) in accounts)
            await writer.WriteAsync(id, keys, attributes.Select(a => new KeyValuePair<string, string?>(a.Item1, a.Item2)), row);
        await writer.FlushAsync();
        var text = Encoding.UTF8.GetString(output.ToArray());
        return (writer, text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task AnAccountBecomesOneLineWithItsRecordIdHashesAndAttributes()
    {
        var keys = AccountKeys.From("https://www.acme.co.uk/about", "jane@acme.co.uk", "ACME Ltd.", "United Kingdom");

        var (_, lines) = await WriteAsync(("A-1", keys, [("accountName", "  Acme  "), ("stage", "Proposal")], 2));

        var line = JsonNode.Parse(Assert.Single(lines))!.AsObject();
        Assert.Equal(["recordId", "identifiers", "attributes"], line.Select(p => p.Key));
        Assert.Equal("A-1", line["recordId"]!.GetValue<string>());
        var identifiers = line["identifiers"]!.AsObject();
        Assert.Equal(["domain", "domain_label", "name", "name_only"], identifiers.Select(p => p.Key).Order());
        foreach (var (type, hashes) in keys.Hashes())
            Assert.Equal(hashes, identifiers[type]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Equal(IdentifierHashes.Hash("domain", "acme.co.uk"), identifiers["domain"]![0]!.GetValue<string>());
        Assert.Equal(IdentifierHashes.Hash("name", "acme|GB"), identifiers["name"]![0]!.GetValue<string>());
        Assert.Equal("""{"accountName":"Acme","stage":"Proposal"}""", line["attributes"]!.ToJsonString());
    }

    [Fact]
    public async Task NoClearIdentifierLeavesInALine()
    {
        var (_, lines) = await WriteAsync(("A-1", AccountKeys.From("globex.example", "hank@globex.example", "Globex Corporation", "US"), [], 2));

        Assert.DoesNotContain("globex", lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hank", lines[0], StringComparison.OrdinalIgnoreCase);
        Assert.Equal("{}", JsonNode.Parse(lines[0])!["attributes"]!.ToJsonString());
    }

    [Fact]
    public async Task EmptyAttributeValuesAreLeftOutAndTextStaysReadable()
    {
        var (_, lines) = await WriteAsync(("A-1", AccountKeys.From("acme.com", null, null, null), [("owner", ""), ("stage", null), ("accountName", "Softcatalà <&>")], 2));

        Assert.Contains("\"attributes\":{\"accountName\":\"Softcatalà <&>\"}", lines[0]);
    }

    [Fact]
    public async Task AnAccountWithoutAnyKeyIsCountedWithItsReasonsButNotWritten()
    {
        var (writer, lines) = await WriteAsync(
            ("A-1", AccountKeys.From("n/a", "jane@gmail.com", "", "US"), [], 2),
            ("A-2", AccountKeys.From("", "", "  ", null), [], 3),
            ("A-3", AccountKeys.From("acme.com", null, null, null), [], 4));

        Assert.Single(lines);
        var stats = writer.Stats;
        Assert.Equal(3, stats.RowsRead);
        Assert.Equal(1, stats.RowsWritten);
        Assert.Equal(2, stats.RowsWithoutKey);
        Assert.Equal(new Dictionary<string, long> { ["placeholder"] = 1, ["empty"] = 1 }, stats.SkipReasons["website"]);
        Assert.Equal(new Dictionary<string, long> { ["free-mail provider"] = 1, ["empty"] = 1 }, stats.SkipReasons["email"]);
        Assert.Equal(new Dictionary<string, long> { ["empty"] = 2 }, stats.SkipReasons["name"]);
        Assert.Equal(1, stats.RowsWithType["domain"]);
        Assert.False(stats.RowsWithType.ContainsKey("name"));
    }

    [Fact]
    public async Task UploadLinesMapBackToTheRowsOfTheExport()
    {
        var key = AccountKeys.From("acme.com", null, null, null);
        var none = AccountKeys.From("", null, null, null);

        var (writer, _) = await WriteAsync(("A", key, [], 2), ("B", none, [], 3), ("C", none, [], 4), ("D", key, [], 5), ("E", key, [], 6), ("F", none, [], 7), ("G", key, [], 9));

        Assert.Equal([2L, 5L, 6L, 9L], Enumerable.Range(1, 4).Select(line => writer.SourceRow(line)!.Value));
        Assert.Null(writer.SourceRow(5));
        Assert.Null(writer.SourceRow(0));
    }
}
