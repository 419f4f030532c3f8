using System.Net;
using System.Net.Http.Json;
using System.Text;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// What the API reads of a JSON body: a member named twice is refused rather than read as its last value, and a body
/// past the service's limit for JSON (1 MiB) is refused with the escrow's own 413 problem as it is read — while an
/// upload, which sets its own limit, still takes a body larger than that. Over real HTTP: the limit is Kestrel's.
/// </summary>
public sealed class JsonBodyTests : IDisposable
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>(), kestrel: true);

    public void Dispose() => _app.Dispose();

    private static StringContent RawJson(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<int> PopulationCountAsync(Org org) =>
        (await org.Http.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>("/v1/populations"))!.Count;

    [Fact]
    public async Task AMemberNamedTwiceIsRefusedNamingItAndChangesNothing()
    {
        var org = await _app.SignupAsync("json-twice");
        var before = await PopulationCountAsync(org);
        var refused = await ExpectProblem(await org.Http.PostAsync("/v1/populations", RawJson("""{"name":"First","type":"customers","name":"Second"}""")), HttpStatusCode.BadRequest);
        Assert.EndsWith("bad-request", refused["type"]!.GetValue<string>());
        Assert.Contains(refused["errors"]!.AsObject(), e => e.Key.Contains("name", StringComparison.Ordinal));
        Assert.Equal(before, await PopulationCountAsync(org));
        // The control: the same body with the member once is taken.
        await Expect(await org.Http.PostAsync("/v1/populations", RawJson("""{"name":"Second","type":"customers"}""")), HttpStatusCode.Created);
        Assert.Equal(before + 1, await PopulationCountAsync(org));
    }

    [Fact]
    public async Task AMemberNoFieldTakesIsRefusedNamingItAndChangesNothing()
    {
        var org = await _app.SignupAsync("json-unknown");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("U", 0, 5));
        await Expect(await org.Http.PutAsync($"/v1/populations/{population}/sharing", RawJson("""{"level":"counts"}""")), HttpStatusCode.OK);
        var partner = await _app.SignupAsync("json-unknown-partner");
        await partner.UploadOkAsync(await partner.CreatePopulationAsync("Customers"), Records.Range("U", 0, 5));
        var partnershipId = await partner.PartnerAsync(org);
        Assert.Contains(population, (await partner.MatrixAsync(partnershipId)).ToJsonString());
        var hide = "{\"populations\":[{\"populationId\":\"" + population + "\",\"level\":\"hidden\"}]}";
        await Expect(await org.Http.PutAsync($"/v1/partnerships/{partnershipId}/sharing", RawJson(hide)), HttpStatusCode.OK);
        Assert.DoesNotContain(population, (await partner.MatrixAsync(partnershipId)).ToJsonString());
        var before = await (await org.Http.GetAsync($"/v1/partnerships/{partnershipId}/sharing")).Content.ReadAsStringAsync();

        // A misspelt member was read as "no overrides": the hidden population showed. Now refused, naming it, changing nothing.
        var misspelt = await ExpectProblem(await org.Http.PutAsync($"/v1/partnerships/{partnershipId}/sharing",
            RawJson(hide.Replace("\"populations\"", "\"Populatons\"", StringComparison.Ordinal))), HttpStatusCode.BadRequest);
        Assert.Contains(misspelt["errors"]!.AsObject(), e => e.Key.Contains("Populatons", StringComparison.Ordinal));
        // Nested too (a misspelt level would fall back to the default: counts).
        var nested = await ExpectProblem(await org.Http.PutAsync($"/v1/partnerships/{partnershipId}/sharing",
            RawJson(hide.Replace("\"level\"", "\"levle\"", StringComparison.Ordinal))), HttpStatusCode.BadRequest);
        Assert.Contains(nested["errors"]!.AsObject(), e => e.Key.Contains("levle", StringComparison.Ordinal));
        Assert.Equal(before, await (await org.Http.GetAsync($"/v1/partnerships/{partnershipId}/sharing")).Content.ReadAsStringAsync());
        Assert.DoesNotContain(population, (await partner.MatrixAsync(partnershipId)).ToJsonString());
    }

    [Fact]
    public async Task AJsonBodyPastTheLimitIsRefusedWithTheEscrowsTooLargeProblemWhileAnUploadTakesMore()
    {
        var org = await _app.SignupAsync("json-large");
        var before = await PopulationCountAsync(org);
        var padding = new string('x', 1_100_000);
        var body = "{\"type\":\"customers\",\"name\":\"" + padding + "\"}";
        var sized = await ExpectProblem(await org.Http.PostAsync("/v1/populations", RawJson(body)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("urn:overlap-escrow:problem:too-large", sized["type"]!.GetValue<string>());
        // Without a length up front (chunked) it is refused as it is read, the same way.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        chunked.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/populations") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var streamed = await ExpectProblem(await org.Http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("urn:overlap-escrow:problem:too-large", streamed["type"]!.GetValue<string>());
        Assert.Equal(before, await PopulationCountAsync(org));

        // An upload sets its own limit: 1.5 MB of records go through.
        var population = await org.CreatePopulationAsync("Large upload");
        var records = Records.Range("L", 0, 12_000);
        Assert.True(Encoding.UTF8.GetByteCount(records) > 1_500_000, $"{Encoding.UTF8.GetByteCount(records)} bytes");
        await org.UploadOkAsync(population, records);
    }
}
