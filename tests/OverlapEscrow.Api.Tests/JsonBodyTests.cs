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
    public async Task AJsonBodyPastTheLimitIsRefusedWithTheEscrowsTooLargeProblemWhileAnUploadTakesMore()
    {
        var org = await _app.SignupAsync("json-large");
        var before = await PopulationCountAsync(org);
        var padding = new string('x', 1_100_000);
        var body = "{\"name\":\"Padded\",\"type\":\"customers\",\"unused\":\"" + padding + "\"}";
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
