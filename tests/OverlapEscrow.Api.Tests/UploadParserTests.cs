using System.Text;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The upload parsers read rows without a string or an array per field where they can (attribute names and repeated
/// values made once, hashes decoded into one array per row): what they read must be exactly what was written.
/// </summary>
public sealed class UploadParserTests
{
    private static readonly IOptions<UploadOptions> Options = Microsoft.Extensions.Options.Options.Create(new UploadOptions());

    private static async Task<List<ParsedRecord>> ParseAsync(IUploadParser parser, string body)
    {
        var rows = new List<ParsedRecord>();
        await foreach (var row in parser.ReadAsync(new MemoryStream(Encoding.UTF8.GetBytes(body)), CancellationToken.None)) rows.Add(row);
        return rows;
    }

    private static Task<List<ParsedRecord>> NdjsonAsync(string body) => ParseAsync(new NdjsonUploadParser(new RowRules(Options), Options), body);

    private static string Hex(int seed) => Convert.ToHexString(Enumerable.Range(0, 32).Select(i => (byte)(seed * 31 + i * 7)).ToArray());

    [Fact]
    public async Task RepeatedAttributeNamesAndValuesAreReadAsWrittenWhateverRowTheyRepeat()
    {
        var longValue = new string('x', 70);
        var body = string.Join('\n',
            $$$"""{"recordId":"a","identifiers":{"domain":"{{{Hex(1)}}}"},"attributes":{"stage":"Discovery","owner":"Ann","note":"{{{longValue}}}"}}""",
            $$$"""{"recordId":"b","identifiers":{"domain":"{{{Hex(2)}}}"},"attributes":{"stage":"Discovery","owner":"Bob","note":"{{{longValue}}}"}}""",
            // Same name, escaped; a value equal in text to the previous one but escaped; a value that is a prefix of the last.
            $$$"""{"recordId":"c","identifiers":{"domain":"{{{Hex(3)}}}"},"attributes":{"st\u0061ge":"Disc\u006fvery","owner":"Bo","amount":100.10}}""",
            $$$"""{"recordId":"d","identifiers":{"domain":"{{{Hex(4)}}}"},"attributes":{"stage":"Discoverz","owner":"Bob","flag":true}}""",
            $$$"""{"recordId":"e","identifiers":{"domain":"{{{Hex(5)}}}"},"attributes":{"stage":"","owner":null}}""") + "\n";

        var rows = await NdjsonAsync(body);

        Assert.All(rows, r => Assert.Null(r.Error));
        Assert.Equal(
            [
                [("stage", "Discovery"), ("owner", "Ann"), ("note", longValue)],
                [("stage", "Discovery"), ("owner", "Bob"), ("note", longValue)],
                [("stage", "Discovery"), ("owner", "Bo"), ("amount", "100.10")],
                [("stage", "Discoverz"), ("owner", "Bob"), ("flag", "true")],
                new[] { ("stage", "") },
            ],
            rows.Select(r => r.Attributes.Select(a => (a.Name, a.Value)).ToArray()).ToArray());
    }

    [Fact]
    public async Task EveryHashOfARowIsKeptInOrderWithItsTypeBeyondTheFirstTwo()
    {
        var body = $$$"""{"recordId":"r","identifiers":{"domain":["{{{Hex(1)}}}","{{{Hex(2)}}}","{{{Hex(3)}}}"],"name":"{{{Hex(4)}}}","name_only":["{{{Hex(5)}}}"]}}""" + "\n";

        var row = Assert.Single(await NdjsonAsync(body));

        Assert.Null(row.Error);
        Assert.Equal(
            [(IdentifierType.Domain, Hex(1)), (IdentifierType.Domain, Hex(2)), (IdentifierType.Domain, Hex(3)), (IdentifierType.Name, Hex(4)), (IdentifierType.NameOnly, Hex(5))],
            Enumerable.Range(0, row.HashCount).Select(i => (row.HashType(i), Convert.ToHexString(row.Hash(i)))).ToArray());
        row.ZeroHashes();
        Assert.All(Enumerable.Range(0, row.HashCount), i => Assert.True(row.Hash(i).IndexOfAnyExcept((byte)0) < 0));
    }

    [Fact]
    public async Task ABadHashAfterGoodOnesFailsItsFieldAndKeepsOnlyTheGoodOnes()
    {
        var body = $$$"""{"recordId":"r","identifiers":{"domain":["{{{Hex(1)}}}","{{{Hex(2)[..63]}}}g"]}}""" + "\n";

        var row = Assert.Single(await NdjsonAsync(body));

        Assert.Equal(("identifiers.domain", 1L), (row.Error?.Field, row.Error?.Row));
        Assert.Equal(1, row.HashCount);
    }

    [Theory]
    [InlineData("R\u0000", true)]
    [InlineData("R\u001F", true)]
    [InlineData("R\u007F", true)]
    [InlineData("R\u0085", true)]
    [InlineData("R\u009F", true)]
    [InlineData("R\u00A0", false)]
    [InlineData("Ré-1 ü", false)]
    public async Task ARecordIdWithAControlCharacterIsRefusedAndOnlyThen(string recordId, bool refused)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(new { recordId, identifiers = new { domain = Hex(1) } }) + "\n";

        var row = Assert.Single(await NdjsonAsync(body));

        Assert.Equal(refused, row.Error is { Field: "recordId" });
        Assert.Equal(refused ? null : recordId, row.RecordId);
    }

    [Fact]
    public async Task CsvHashesAreCheckedAndDecodedLikeNdjsonOnes()
    {
        var csv = $"recordId,domain\r\na,{Hex(1)}|{Hex(2).ToLowerInvariant()}\r\nb,{Hex(3)[..62]}zz\r\n";

        var rows = await ParseAsync(new CsvUploadParser(new RowRules(Options), Options), csv);

        Assert.Equal([Hex(1), Hex(2)], Enumerable.Range(0, rows[0].HashCount).Select(i => Convert.ToHexString(rows[0].Hash(i))).ToArray());
        Assert.Equal(("identifiers.domain", 3L), (rows[1].Error?.Field, rows[1].Error?.Row));
    }
}
