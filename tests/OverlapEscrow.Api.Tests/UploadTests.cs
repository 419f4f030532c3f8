using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>Uploads: formats, atomicity, idempotency, limits and row errors, against a real SQLite file.</summary>
public sealed class UploadTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Uploads:MaxBodyBytes"] = "100000",
        ["Escrow:Uploads:MaxRows"] = "1500",
        ["Escrow:Uploads:SegmentRecords"] = "128",
        ["Escrow:Uploads:MaxAttributeLength"] = "40",
        ["Escrow:Uploads:CompactAfterDeltas"] = "3",
    }, kestrel: true);
    private Org _org = null!;
    private string _population = "";

    public async Task InitializeAsync()
    {
        _org = await _app.SignupAsync("uploader");
        _population = await _org.CreatePopulationAsync("Customers");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private async Task<long> RecordCountAsync()
    {
        var population = await Json(await _org.Http.GetAsync($"/v1/populations/{_population}"));
        return population["recordCount"]!.GetValue<long>();
    }

    private async Task<string?> CurrentVersionAsync() =>
        (await Json(await _org.Http.GetAsync($"/v1/populations/{_population}")))["currentVersionId"]?.GetValue<string>();

    /// <summary>The partner records a partner holding domains d0…d19.example sees overlapping.</summary>
    private async Task<List<string>> VisibleRecordIdsAsync()
    {
        var probe = await _app.SignupAsync("probe" + Guid.NewGuid().ToString("N")[..8]);
        var everything = await probe.CreatePopulationAsync("All");
        await Expect(await probe.Http.UploadAsync(everything, Records.Range("P", 0, 20)), HttpStatusCode.OK);
        await _org.ShareAsync(_population, "overlaps");
        var partnership = await _org.PartnerAsync(probe);
        var items = await probe.ListAllAsync(partnership, everything, _population, limit: 1000);
        return items.SelectMany(i => i["matches"]!.AsArray()).Select(m => m!.ToJsonString()).ToList();
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task NdjsonAndCsvSnapshotsAreAccepted()
    {
        var ndjson = await _org.UploadOkAsync(_population, Records.Range("N", 0, 300));
        Assert.Equal(300, ndjson["recordsApplied"]!.GetValue<long>());
        Assert.Equal(300, await RecordCountAsync());

        var accounts = Enumerable.Range(0, 5).Select(i => new Records.Account($"C-{i}", Domain: $"c{i}.example", Name: $"Comma, Inc {i}", Country: "US",
            Attributes: new() { ["accountName"] = $"Comma, \"quoted\"\nline {i}" })).ToList();
        var csv = await _org.Http.UploadAsync(_population, Records.Csv(accounts, "accountName"), "text/csv");
        await Expect(csv, HttpStatusCode.OK);
        Assert.Equal(5, await RecordCountAsync());
    }

    [Fact]
    public async Task GzipBodiesAreDecompressed()
    {
        var raw = Encoding.UTF8.GetBytes(Records.Range("G", 0, 1000));
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(raw);
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records") { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Content.Headers.ContentEncoding.Add("gzip");
        await Expect(await _org.Http.SendAsync(request), HttpStatusCode.OK);
        Assert.Equal(1000, await RecordCountAsync());
    }

    [Fact]
    public async Task DeltasUpsertAndDeleteByRecordIdAndLongChainsAreCompacted()
    {
        await _org.UploadOkAsync(_population, Records.Range("D", 0, 10));
        await _org.UploadOkAsync(_population, Records.Range("D", 10, 5), delta: true);
        await _org.UploadOkAsync(_population, """{"recordId":"D-00000","op":"delete"}""" + "\n" + """{"recordId":"D-00001","op":"delete"}""" + "\n", delta: true);
        Assert.Equal(13, await RecordCountAsync());
        // Deleting an id that is not there is a no-op, not an error.
        await _org.UploadOkAsync(_population, """{"recordId":"nope","op":"delete"}""" + "\n", delta: true);
        await _org.UploadOkAsync(_population, Records.Range("D", 2, 1), delta: true);
        Assert.Equal(13, await RecordCountAsync());

        using var db = _app.OpenDatabase();
        var kinds = db.Query<string>("SELECT kind FROM population_versions WHERE population_id = @_population", new { _population }).ToList();
        Assert.True(kinds.Count <= 4, $"superseded versions kept: {string.Join(",", kinds)}");
        var ids = await VisibleRecordIdsAsync();
        Assert.Equal(13, ids.Count);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task RowErrorsNameTheRowAndFieldAndRejectTheWholeUpload()
    {
        await _org.UploadOkAsync(_population, Records.Range("OK", 0, 3));
        var before = await CurrentVersionAsync();
        var good = Records.Line(new Records.Account("R-1", Domain: "r1.example"));
        var body = string.Join('\n',
            good,
            """{"recordId":"R-2","identifiers":{"domain":"not-hex"}}""",
            "{ this is not json",
            """{"identifiers":{"domain":"%%"}}""".Replace("%%", Records.DomainHash("x.example")),
            good,
            """{"recordId":"R-6","identifiers":{"phone":"%%"}}""".Replace("%%", Records.DomainHash("x.example")),
            """{"recordId":"R-7","identifiers":{"domain":"%%"},"attributes":{"note":"this value is far longer than forty characters"}}""".Replace("%%", Records.DomainHash("y.example")),
            """{"recordId":"R-8","identifiers":{}}""") + "\n";
        var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, body), HttpStatusCode.UnprocessableEntity);
        var errors = problem["errors"]!.AsArray().Select(e => (Row: e!["row"]!.GetValue<long>(), Field: e["field"]?.GetValue<string>())).ToList();
        Assert.Equal([(2L, "identifiers.domain"), (3L, null), (4L, "recordId"), (5L, "recordId"), (6L, "identifiers"), (7L, "attributes.note"), (8L, "identifiers")], errors);
        Assert.Equal(7, problem["errorCount"]!.GetValue<long>());
        Assert.Contains("first seen on row 1", problem["errors"]![3]!["message"]!.GetValue<string>());
        Assert.Equal(before, await CurrentVersionAsync());
        Assert.Equal(3, await RecordCountAsync());
        // Messages describe the problem; they never echo the submitted values.
        Assert.DoesNotContain("not-hex", problem.ToJsonString());
        Assert.DoesNotContain("far longer", problem.ToJsonString());
    }

    [Fact]
    public async Task EveryDocumentedSpellingOfNdjsonIsTakenAndTheQueryParametersAreCamelCase()
    {
        foreach (var type in new[] { "application/ndjson", "application/jsonl", "application/jsonlines" })
            await Expect(await _org.Http.UploadAsync(_population, Records.Range("T", 0, 3), type), HttpStatusCode.OK);
        await ExpectProblem(await _org.Http.UploadAsync(_population, Records.Range("T", 0, 3), "application/json"), HttpStatusCode.UnsupportedMediaType);
        var refused = await ExpectProblem(await _org.Http.UploadAsync(_population, Records.Range("T", 0, 3), query: "?allowEmpty=maybe"), HttpStatusCode.BadRequest);
        Assert.Equal(["allowEmpty"], refused["errors"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public async Task NamesInAMembersPlaceAreNeitherAnsweredNorKeptUnlessTheyReadLikeFieldNames()
    {
        var before = await CurrentVersionAsync();
        var hash = Records.DomainHash("secret-target.example");
        var domain = "\"identifiers\":{\"domain\":\"" + hash + "\"}";
        var body = string.Join('\n',
            "{\"recordId\":\"R-1\"," + domain + ",\"ana@partner-secret.example\":1}",
            "{\"recordId\":\"R-2\",\"identifiers\":{\"" + hash + "\":\"" + hash + "\"}}",
            "{\"recordId\":\"R-3\"," + domain + ",\"attributes\":{\"Secret Customer Name Inc\":\"x\"}}",
            "{\"recordId\":\"R-4\"," + domain + ",\"" + new string('Z', 60_000) + "\":1}",
            "{\"recordId\":\"R-5\"," + domain + ",\"recordID\":\"typo\"}") + "\n";
        var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, body), HttpStatusCode.UnprocessableEntity);
        var errors = problem["errors"]!.AsArray().Select(e => (Row: e!["row"]!.GetValue<long>(), Field: e["field"]?.GetValue<string>())).ToList();
        // A name that reads like a field name (a typo) is named; the others only by where they were.
        Assert.Equal([(1L, null), (2L, "identifiers"), (3L, "attributes"), (4L, null), (5L, "recordID")], errors);
        var audit = await (await _org.Http.GetAsync("/v1/audit?limit=200")).Content.ReadAsStringAsync();
        foreach (var text in new[] { problem.ToJsonString(), audit })
        {
            Assert.DoesNotContain(hash, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("partner-secret", text);
            Assert.DoesNotContain("Secret Customer", text);
            Assert.DoesNotContain("ZZZZZZZZ", text);
        }
        Assert.Contains("population.upload_refused", audit);
        Assert.Equal(before, await CurrentVersionAsync());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task SkipPolicyAppliesTheGoodRowsAndReportsTheBadOnes()
    {
        var body = Records.Range("S", 0, 4) + """{"recordId":"S-bad","identifiers":{"domain":"zz"}}""" + "\n";
        var response = await _org.Http.UploadAsync(_population, body, query: "?onError=skip");
        await Expect(response, HttpStatusCode.OK);
        var result = await Json(response);
        Assert.Equal(4, result["recordsApplied"]!.GetValue<long>());
        Assert.Equal(1, result["rowsRejected"]!.GetValue<long>());
        Assert.Equal(5, result["errors"]![0]!["row"]!.GetValue<long>());
        Assert.Equal(4, await RecordCountAsync());
    }

    [Fact]
    public async Task CsvRowNumbersCountTheHeaderAsRowOneAndUnknownColumnsAreRefused()
    {
        var csv = "recordId,domain\r\nA-1," + Records.DomainHash("a.example") + "\r\nA-2,xyz\r\n";
        var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, csv, "text/csv"), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(3, problem["errors"]![0]!["row"]!.GetValue<long>());

        var unknown = await _org.Http.UploadAsync(_population, "recordId,website\r\nA-1,acme.com\r\n", "text/csv");
        var refusal = await ExpectProblem(unknown, HttpStatusCode.BadRequest);
        Assert.Contains("column 2", refusal["detail"]!.GetValue<string>());
        Assert.Null(await CurrentVersionAsync());
    }

    [Fact]
    public async Task AFieldOrColumnGivenTwiceIsRefusedNamingItAndChangesNothing()
    {
        // Which of two values would count is left to the order of fields: refused, not guessed.
        await _org.UploadOkAsync(_population, Records.Range("K", 0, 2));
        var before = await CurrentVersionAsync();
        var hash = Records.DomainHash("a.example");
        foreach (var (row, field) in new[]
        {
            ($$$"""{"recordId":"FIRST","recordId":"SECOND","identifiers":{"domain":"{{{hash}}}"}}""", "recordId"),
            ($$$"""{"recordId":"R","identifiers":{"domain":"{{{hash}}}"},"identifiers":{"name":"{{{hash}}}"}}""", "identifiers"),
            ($$$"""{"recordId":"R","identifiers":{"domain":"{{{hash}}}"},"attributes":{"stage":"a"},"attributes":{"stage":"b"}}""", "attributes"),
            ($$"""{"recordId":"R","op":"upsert","identifiers":{"domain":"{{hash}}"},"op":"delete"}""", "op"),
        })
        {
            var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, Records.Range("A", 0, 3) + row + "\n"), HttpStatusCode.UnprocessableEntity);
            var error = Assert.Single(problem["errors"]!.AsArray())!;
            Assert.Equal((4L, field), (error["row"]!.GetValue<long>(), error["field"]!.GetValue<string>()));
        }

        foreach (var (header, column) in new[] { ("recordId,recordId,domain", "recordId"), ("recordId,domain,attr.stage,attr.stage", "attr.stage"), ("op,recordId,domain,op", "op") })
        {
            var cells = string.Join(',', header.Split(',').Select(h => h == "domain" ? hash : "x"));
            var problem = await ExpectProblem(await _org.Http.UploadAsync(_population, header + "\r\n" + cells + "\r\n", "text/csv"), HttpStatusCode.BadRequest);
            Assert.Contains(column + " twice", problem["detail"]!.GetValue<string>());
            Assert.Equal((1L, "header"), (problem["errors"]![0]!["row"]!.GetValue<long>(), problem["errors"]![0]!["field"]!.GetValue<string>()));
        }
        // RFC 4180 CSV: commas. A semicolon-separated export is one unknown column, not guessed.
        var semicolons = await ExpectProblem(await _org.Http.UploadAsync(_population, $"recordId;domain\r\nA-1;{hash}\r\n", "text/csv"), HttpStatusCode.BadRequest);
        Assert.Contains("column 1", semicolons["detail"]!.GetValue<string>());
        Assert.Equal(before, await CurrentVersionAsync());
        // An identifier column may repeat: each adds its hashes.
        await Expect(await _org.Http.UploadAsync(_population, $"recordId,domain,domain\r\nA-1,{hash},{Records.DomainHash("b.example")}\r\n", "text/csv"), HttpStatusCode.OK);
        Assert.NotEqual(before, await CurrentVersionAsync());
    }

    [Fact]
    public async Task OversizedBodiesAndTooManyRowsAreRefusedAndChangeNothing()
    {
        await _org.UploadOkAsync(_population, Records.Range("K", 0, 2));
        var before = await CurrentVersionAsync();
        // ~112 bytes a row: 1,400 rows is past the 100,000-byte body limit.
        await ExpectProblem(await _org.Http.UploadAsync(_population, Records.Range("B", 0, 1400)), HttpStatusCode.RequestEntityTooLarge);
        var tooMany = string.Concat(Enumerable.Range(0, 1501).Select(i => $"{{\"recordId\":\"{i}\",\"op\":\"delete\"}}\n"));
        await ExpectProblem(await _org.Http.UploadAsync(_population, tooMany, delta: true), HttpStatusCode.RequestEntityTooLarge);
        var longRow = "{\"recordId\":\"" + new string('x', 70_000) + "\"}\n";
        Assert.Equal(1, (await ExpectProblem(await _org.Http.UploadAsync(_population, longRow, delta: true), HttpStatusCode.BadRequest))["errors"]![0]!["row"]!.GetValue<long>());
        var longCsv = "recordId,domain\r\n\"" + new string('x', 70_000) + "\"," + Records.DomainHash("a.example") + "\r\n";
        await ExpectProblem(await _org.Http.UploadAsync(_population, longCsv, "text/csv", delta: true), HttpStatusCode.BadRequest);
        Assert.Equal(before, await CurrentVersionAsync());
        Assert.Equal(2, await RecordCountAsync());
        using var db = _app.OpenDatabase();
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
    }

    [Fact]
    public async Task WrongMediaTypesAndEncodingsAreRefused()
    {
        await ExpectProblem(await _org.Http.UploadAsync(_population, "{}", "application/json"), HttpStatusCode.UnsupportedMediaType);
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records") { Content = new StringContent("x") };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Content.Headers.ContentEncoding.Add("br");
        await ExpectProblem(await _org.Http.SendAsync(request), HttpStatusCode.UnsupportedMediaType);
        var notGzip = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records") { Content = new StringContent("plain text") };
        notGzip.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        notGzip.Content.Headers.ContentEncoding.Add("gzip");
        await ExpectProblem(await _org.Http.SendAsync(notGzip), HttpStatusCode.BadRequest);
        await ExpectProblem(await _org.Http.UploadAsync(_population, "", query: "?onError=maybe"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ARetryWithTheSameIdempotencyKeyIsAppliedOnce()
    {
        var first = await _org.Http.UploadAsync(_population, Records.Range("I", 0, 3), delta: true, idempotencyKey: "batch-42");
        await Expect(first, HttpStatusCode.OK);
        var firstBody = await first.Content.ReadAsStringAsync();
        var retry = await _org.Http.UploadAsync(_population, Records.Range("I", 0, 3), delta: true, idempotencyKey: "batch-42");
        await Expect(retry, HttpStatusCode.OK);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(firstBody, await retry.Content.ReadAsStringAsync());
        using var db = _app.OpenDatabase();
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE population_id = @_population", new { _population }));

        var other = await _org.CreatePopulationAsync("Other");
        await ExpectProblem(await _org.Http.UploadAsync(other, Records.Range("I", 0, 3), delta: true, idempotencyKey: "batch-42"), HttpStatusCode.UnprocessableEntity);
        await ExpectProblem(await _org.Http.UploadAsync(_population, Records.Range("I", 0, 3), idempotencyKey: "batch-42"), HttpStatusCode.UnprocessableEntity);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AFailedUploadReleasesItsIdempotencyKeyForTheCorrectedRetry()
    {
        await ExpectProblem(await _org.Http.UploadAsync(_population, "{\"recordId\":1}\n", idempotencyKey: "k1"), HttpStatusCode.UnprocessableEntity);
        await Expect(await _org.Http.UploadAsync(_population, Records.Range("F", 0, 2), idempotencyKey: "k1"), HttpStatusCode.OK);
        Assert.Equal(2, await RecordCountAsync());
    }

    [Fact]
    public async Task AnUploadCutOffMidwayLeavesThePreviousSnapshotCurrentAndNothingBehind()
    {
        await _org.UploadOkAsync(_population, Records.Range("V1-", 0, 50));
        var before = await CurrentVersionAsync();
        var body = Encoding.UTF8.GetBytes(Records.Range("V2-", 0, 600));
        // The connection drops once the server has begun the new snapshot's pending version.
        var sawPending = await RawUpload.SendAsync(_org.Http, $"/v1/populations/{_population}/records", body, body.Length / 2,
            between: WaitForPendingVersionAsync, abortAfterFirstPart: true);
        Assert.True(sawPending.BetweenResult, "the test did not catch the upload in flight");

        using var db = _app.OpenDatabase();
        // Whatever was stored before the cut is gone with its pending version.
        await WaitUntil(() => db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'") == 0);
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM segments WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM version_columns WHERE version_id NOT IN (SELECT id FROM population_versions WHERE status = 'committed')"));
        Assert.Equal(before, await CurrentVersionAsync());
        Assert.Equal(50, await RecordCountAsync());
    }

    [Fact]
    public async Task UploadsLeftPendingByACrashAreRemovedAtTheNextStart()
    {
        await _org.UploadOkAsync(_population, Records.Range("C", 0, 5));
        using (var db = _app.OpenDatabase())
        {
            // What a process killed mid-upload leaves: a pending version with some segments, last touched long ago.
            db.Execute("""
                INSERT INTO population_versions (id, population_id, kind, status, created_at, touched_at) VALUES ('ver_crashed', @_population, 'snapshot', 'pending', 0, 0);
                INSERT INTO segments (version_id, seq, record_count, nonce, data) VALUES ('ver_crashed', 0, 1, x'00', x'00');
                """, new { _population });
        }
        using var restarted = new EscrowApp(new Dictionary<string, string?>(), _app.DataDirectory);
        _ = restarted.CreateClient();
        using var check = restarted.OpenDatabase();
        Assert.Equal(0, check.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE id = 'ver_crashed'"));
        Assert.Equal(0, check.ExecuteScalar<long>("SELECT COUNT(*) FROM segments WHERE version_id = 'ver_crashed'"));
        Assert.Equal(1, check.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'committed'"));
    }

    [Fact]
    public async Task NeitherUploadedHashesNorAttributesAreStoredInTheClear()
    {
        var domains = Enumerable.Range(0, 50).Select(i => $"secret-domain-{i}.example").ToList();
        var accounts = domains.Select((d, i) => new Records.Account($"H-{i}", Domain: d, Name: $"Secretive Holdings {i}", Country: "DE",
            Attributes: new() { ["accountName"] = $"Secretive Holdings {i}" })).ToList();
        await _org.UploadOkAsync(_population, Records.Ndjson(accounts));
        SqliteCheckpoint();

        var files = Directory.GetFiles(_app.DataDirectory, "escrow.db*").Select(File.ReadAllBytes).ToList();
        foreach (var d in domains.Take(10))
        {
            var hex = Records.DomainHash(d);
            foreach (var bytes in files)
            {
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(hex)));
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Convert.FromHexString(hex)));
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Convert.FromHexString(hex).AsSpan(0, 16)));
                Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("Secretive Holdings")));
            }
        }
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ATruncatedGzipBodyIsRefusedInsteadOfCommittedInPart()
    {
        await _org.UploadOkAsync(_population, Records.Range("T", 0, 3));
        var raw = Encoding.UTF8.GetBytes(Records.Range("Z", 0, 800));
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(raw);
        var whole = compressed.ToArray();
        foreach (var cut in new[] { whole.Length - 8, whole.Length / 2 })
        {
            var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records?onError=skip") { Content = new ByteArrayContent(whole[..cut]) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            request.Content.Headers.ContentEncoding.Add("gzip");
            await ExpectProblem(await _org.Http.SendAsync(request), HttpStatusCode.BadRequest);
        }
        Assert.Equal(3, await RecordCountAsync());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AnEmptySnapshotIsRefusedUnlessAskedForExplicitly()
    {
        await _org.UploadOkAsync(_population, Records.Range("E", 0, 4));
        await ExpectProblem(await _org.Http.UploadAsync(_population, ""), HttpStatusCode.UnprocessableEntity);
        await ExpectProblem(await _org.Http.UploadAsync(_population, "recordId,domain\r\n", "text/csv"), HttpStatusCode.UnprocessableEntity);
        await ExpectProblem(await _org.Http.UploadAsync(_population, "{\"recordId\":\"x\"}\n", query: "?onError=skip"), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(4, await RecordCountAsync());
        await Expect(await _org.Http.UploadAsync(_population, "", query: "?allowEmpty=true"), HttpStatusCode.OK);
        Assert.Equal(0, await RecordCountAsync());
    }

    [Fact]
    public async Task InvalidUtf8IsARowErrorAndNumbersKeepTheirWrittenForm()
    {
        var hash = Records.DomainHash("u.example");
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes($"{{\"recordId\":\"N-1\",\"identifiers\":{{\"domain\":\"{hash}\"}},\"attributes\":{{\"amount\":100.10}}}}\n"));
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"recordId\":\"N-"));
        bytes.AddRange([0xC3, 0x28]); // an invalid two-byte sequence
        bytes.AddRange(Encoding.UTF8.GetBytes($"\",\"identifiers\":{{\"domain\":\"{hash}\"}}}}\n"));
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records") { Content = new ByteArrayContent([.. bytes]) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        var problem = await ExpectProblem(await _org.Http.SendAsync(request), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(2, problem["errors"]![0]!["row"]!.GetValue<long>());

        await _org.UploadOkAsync(_population, $"{{\"recordId\":\"N-1\",\"identifiers\":{{\"domain\":\"{Records.DomainHash("d0.example")}\"}},\"attributes\":{{\"amount\":100.10}}}}\n");
        var partner = await _app.SignupAsync("numbers");
        var theirs = await partner.CreatePopulationAsync("All");
        await partner.UploadOkAsync(theirs, Records.Range("P", 0, 1));
        await _org.ShareAsync(_population, "overlaps", "amount");
        var partnership = await _org.PartnerAsync(partner);
        var items = await partner.ListAllAsync(partnership, theirs, _population);
        Assert.Equal("100.10", items.Single()["matches"]![0]!["fields"]!["amount"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACsvRowThatIsNotUtf8IsARowErrorPastTheFirst60KBAndChangesNothing()
    {
        // About 80 KB of rows; row 900 (the header is row 1) has a record id whose byte 0xFE is not UTF-8. Decoded
        // leniently it would read "acct-\uFFFD", the same id as any other invalid byte there: two accounts made one.
        await _org.UploadOkAsync(_population, Records.Range("OK", 0, 3));
        var before = await CurrentVersionAsync();
        var body = new MemoryStream();
        body.Write("recordId,domain\r\n"u8);
        for (var row = 2; row <= 1000; row++)
        {
            body.Write(row == 900 ? [.. "acct-"u8, 0xFE] : Encoding.UTF8.GetBytes($"acct-{row}"));
            body.Write(Encoding.UTF8.GetBytes($",{Records.DomainHash($"r{row}.example")}\r\n"));
        }
        Assert.True(body.Length > 60_000, $"{body.Length} bytes");
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{_population}/records") { Content = new ByteArrayContent(body.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        var problem = await ExpectProblem(await _org.Http.SendAsync(request), HttpStatusCode.UnprocessableEntity);

        var error = Assert.Single(problem["errors"]!.AsArray());
        Assert.Equal(900, error!["row"]!.GetValue<long>());
        Assert.Contains("UTF-8", error["message"]!.GetValue<string>());
        Assert.Equal(before, await CurrentVersionAsync());
        Assert.Equal(3, await RecordCountAsync());
    }

    [Fact]
    public async Task AnUploadWhoseVersionWasSweptAsAbandonedAppliesNothing()
    {
        await _org.UploadOkAsync(_population, Records.Range("S0-", 0, 5));
        var before = await CurrentVersionAsync();
        var body = Encoding.UTF8.GetBytes(Records.Range("S1-", 0, 600));
        // Halfway through, another instance's sweeper takes the upload for dead and deletes its pending version.
        var sent = await RawUpload.SendAsync(_org.Http, $"/v1/populations/{_population}/records", body, body.Length / 2, between: async () =>
        {
            if (!await WaitForPendingVersionAsync()) return false;
            using var db = _app.OpenDatabase();
            return db.Execute("DELETE FROM population_versions WHERE status = 'pending'") == 1;
        });
        Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");
        Assert.StartsWith("HTTP/1.1 409", sent.Response);
        Assert.Contains("applied nothing", sent.Response);
        Assert.Equal(before, await CurrentVersionAsync());
        Assert.Equal(5, await RecordCountAsync());
    }

    /// <summary>
    /// Waits until the upload in flight has its pending version: a snapshot is stored as its columns only, whose first
    /// parts a small upload stores only at its end, so the version's row is what shows it begun.
    /// </summary>
    private async Task<bool> WaitForPendingVersionAsync()
    {
        using var db = _app.OpenDatabase();
        for (var i = 0; i < 250; i++)
        {
            if (db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'") > 0) return true;
            await Task.Delay(20);
        }
        return false;
    }

    private void SqliteCheckpoint()
    {
        using var db = _app.OpenDatabase();
        db.Execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition());
    }

}

internal static class ResponseExtensions
{
    public static async Task EnsureSuccessStatusCodeAsync(this HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode) throw new HttpRequestException(await response.Content.ReadAsStringAsync());
    }
}
