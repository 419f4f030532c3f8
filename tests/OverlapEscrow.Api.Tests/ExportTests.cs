using System.Diagnostics;
using System.Net;
using System.Text;
using CsvHelper;
using OverlapEscrow.Api.Tests.Infrastructure;
using Xunit.Abstractions;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>CSV exports of a cell over real HTTP (Kestrel): complete at any size, with a UTF-8 byte-order mark.</summary>
public sealed class ExportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    private readonly EscrowApp _app = new(new Dictionary<string, string?>(), kestrel: true);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Two partners, each with one population from the given upload bodies, the partner sharing its accountName.</summary>
    private async Task<(Org Alpha, Org Beta, string Partnership, string Mine, string Theirs)> CellAsync(string alphaBody, string betaBody)
    {
        var alpha = await _app.SignupAsync("alpha");
        var beta = await _app.SignupAsync("beta");
        var mine = await alpha.CreatePopulationAsync("Customers");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, alphaBody);
        await beta.UploadOkAsync(theirs, betaBody);
        await beta.ShareAsync(theirs, "overlaps", "accountName");
        return (alpha, beta, await alpha.PartnerAsync(beta), mine, theirs);
    }

    private static async Task<byte[]> ExportAsync(Org org, string partnership, string mine, string theirs)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}");
        request.Headers.Accept.ParseAdd("text/csv");
        using var response = await org.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await Expect(response, HttpStatusCode.OK);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        // A body cut off mid-stream fails here (the chunked response never ends properly) or in the row checks below.
        return await response.Content.ReadAsByteArrayAsync();
    }

    [Fact]
    public async Task ACellOfAHundredThousandRecordsExportsEveryRowOverRealHttp()
    {
        const int n = 100_000;
        var clock = Stopwatch.StartNew();
        var (alpha, beta, partnership, mine, theirs) = await CellAsync(
            Records.Range("A", 0, n, "accountName"), Records.Range("B", 0, n, "accountName"));
        var uploaded = clock.Elapsed;

        var body = await ExportAsync(alpha, partnership, mine, theirs);
        output.WriteLine($"set-up {uploaded.TotalSeconds:F1} s; export {(clock.Elapsed - uploaded).TotalSeconds:F1} s, {body.Length:N0} bytes");

        Assert.Equal(Utf8Bom, body[..3]);
        using var csv = CsvReader.Create(body.AsMemory(3));
        Assert.Equal(["recordId", "matchedOn", "confidence", "accountName", "partner.accountName"], csv.Headers);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var rows = 0;
        while (csv.Read())
        {
            rows++;
            var recordId = csv.GetString(0);
            Assert.True(ids.Add(recordId), $"{recordId} is exported twice");
            // Each of my records matched exactly the partner record with the same domain: d{i}.example.
            var i = int.Parse(recordId["A-".Length..]);
            Assert.Equal("domain", csv.GetString(1));
            Assert.Equal("exact", csv.GetString(2));
            Assert.Equal($"A account {i}", csv.GetString(3));
            Assert.Equal($"B account {i}", csv.GetString(4));
        }
        Assert.Equal(n, rows);
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"A-{i:D5}").ToHashSet(), ids);

        // The release was audited with the number of records it released (shown to the partner, to whom alpha shows
        // its population at the overlaps level: export once more).
        await alpha.ShareAsync(mine, "overlaps");
        await ExportAsync(alpha, partnership, mine, theirs);
        var log = await Json(await beta.Http.GetAsync("/v1/audit?limit=1000"));
        var release = log["items"]!.AsArray().Last(e => e!["action"]!.GetValue<string>() == "overlaps.released")!;
        Assert.Equal("csv", release["detail"]!["format"]!.GetValue<string>());
        Assert.Equal(n, release["detail"]!["rows"]!.GetValue<int>());
        Assert.DoesNotContain(_app.Logs, l => l.Contains("Synchronous operations are disallowed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CsvExportsStartWithAUtf8ByteOrderMarkSoSpreadsheetsReadNonAsciiNames()
    {
        var names = new[] { "Société Générale", "Müller & Söhne GmbH", "東京海上", "Ωmega Ltd" };
        var (alpha, _, partnership, mine, theirs) = await CellAsync(
            Records.Ndjson(names.Select((name, i) => new Records.Account($"A-{i}", Domain: $"d{i}.example",
                Attributes: new Dictionary<string, string> { ["accountName"] = name }))),
            Records.Ndjson(names.Select((name, i) => new Records.Account($"B-{i}", Domain: $"d{i}.example",
                Attributes: new Dictionary<string, string> { ["accountName"] = "Partner " + name }))));

        var body = await ExportAsync(alpha, partnership, mine, theirs);

        Assert.Equal(Utf8Bom, body[..3]);
        Assert.NotEqual(Utf8Bom, body[3..6]); // one mark, not one per flush
        var lines = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body, 3, body.Length - 3).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("recordId,matchedOn,confidence,accountName,partner.accountName", lines[0]);
        Assert.Equal(names.Select((name, i) => $"A-{i},domain,exact,{name},Partner {name}"), lines[1..]);
    }
}
