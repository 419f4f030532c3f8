using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The list page's JSON is written by hand (<see cref="OverlapListResult"/>) for speed; its wire format is that of
/// <see cref="OverlapListResponse"/> as the API's JSON settings serialize it (docs/api.md). These tests hold the two
/// byte for byte, with the settings taken from the running service, on pages that exercise every rule of the format.
/// </summary>
public sealed class OverlapListJsonTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private JsonSerializerOptions HostOptions => _app.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

    private string Written(string partnershipId, OverlapPage page, string? nextCursor, string matches)
    {
        using var buffer = new MemoryStream();
        var format = OverlapListJson.FormatOf(HostOptions);
        using (var json = new Utf8JsonWriter(buffer, format.WriterOptions)) OverlapListJson.Write(json, format, partnershipId, page, nextCursor, matches);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The documented response type built from the page as the endpoint built it before the writer.</summary>
    private string Serialized(string partnershipId, OverlapPage page, string? nextCursor, string matches) =>
        JsonSerializer.Serialize(new OverlapListResponse(partnershipId, page.MyPopulationId, page.PartnerPopulationId, page.Sharing.Level, page.Sharing.Fields,
            page.TotalCount, page.Items.Select(OverlapsApi.Item).ToList(), nextCursor, matches, OverlapsApi.Mismatch(page.SpecMismatch)), HostOptions);

    private static OverlapItem Item(string id, Dictionary<string, string> attributes, bool truncated, params PartnerMatch[] matches) =>
        new(id, attributes, matches, truncated);

    [Fact]
    public void APageWithEveryKindOfValueIsWrittenByteForByteAsTheSerializerWritesTheDocumentedType()
    {
        var page = new OverlapPage("ptn_1", "pop_a", "pop_b", new EffectiveSharing(SharingLevel.Overlaps, ["accountName", "stage"], 5), 8,
        [
            Item("A-001", new() { ["accountName"] = "Globex", ["owner"] = "ana@alpha.example" }, false,
                new PartnerMatch(["name"], MatchConfidence.Strong, new Dictionary<string, string> { ["accountName"] = "Globex NameOnly", ["stage"] = "Discovery" })),
            // Characters the default encoder escapes (quotes, HTML-sensitive, non-ASCII, control), an empty attribute set,
            // several matches of each confidence, and a truncated list.
            Item("B-\"<script>&'", [], true,
                new PartnerMatch(["domain", "name"], MatchConfidence.Exact, new Dictionary<string, string>()),
                new PartnerMatch([], MatchConfidence.Possible, new Dictionary<string, string> { ["accountName"] = "Zürich AG \u2028 ✓ 😀\t\n" })),
            Item("C-003", new() { ["Stage With Space"] = "", ["é"] = "\u0001" }, false),
        ], More: true, MatchView.IncludePossible, new HashingSpecMismatch(1, 2));

        var expected = Serialized("ptn_1", page, "CfDJ8Kx+/=", "all");
        Assert.Equal(expected, Written("ptn_1", page, "CfDJ8Kx+/=", "all"));
        // The comparison is not vacuous: the serializer's output carries what the documentation says a page carries.
        Assert.Contains("\"matchesTruncated\":true", expected);
        Assert.Contains("\"confidence\":\"possible\"", expected);
        Assert.Contains("\"level\":\"overlaps\"", expected);
        Assert.Contains("\"hashingSpecMismatch\":{\"mine\":", expected);
    }

    [Fact]
    public void TheLastPageLeavesOutTheCursorAndAMatchingSpecLeavesOutTheMismatchAsTheSerializerDoes()
    {
        var page = new OverlapPage("ptn_2", "pop_x", "pop_y", new EffectiveSharing(SharingLevel.Overlaps, [], 5), 0, [], More: false);

        var written = Written("ptn_2", page, null, "default");

        Assert.Equal(Serialized("ptn_2", page, null, "default"), written);
        Assert.Equal("""{"partnershipId":"ptn_2","myPopulationId":"pop_x","partnerPopulationId":"pop_y","level":"overlaps","fields":[],"totalCount":0,"items":[],"matches":"default"}""",
            written);
    }

    [Fact]
    public async Task TheEndpointAnswersAWholeCellInOnePageAsTheSameRecordsReadSevenAtATimeWithItsContentType()
    {
        // Over the real endpoint, a page large enough that the writer flushes the response on the way (the sample
        // partners' customers: hundreds of overlapping records, each with its attributes and matches).
        var alpha = await _app.SignupAsync("alpha");
        var beta = await _app.SignupAsync("beta");
        var mine = await alpha.CreatePopulationAsync("Customers");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, PartnerData.Ndjson("alpha", "customers"));
        await beta.UploadOkAsync(theirs, PartnerData.Ndjson("beta", "customers"));
        var partnership = await alpha.PartnerAsync(beta);
        await beta.ShareAsync(theirs, "overlaps", "accountName", "stage");

        var response = await alpha.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}?limit=1000");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(body.Length > 2 * OverlapListResult.FlushBytes, $"only {body.Length} bytes: the page does not reach the writer's flushes");
        var whole = JsonNode.Parse(body)!;
        var pages = await alpha.ListAllAsync(partnership, mine, theirs, limit: 7);
        Assert.Equal(pages.Count, whole["totalCount"]!.GetValue<int>());
        Assert.Equal(pages.Select(p => p.ToJsonString()), whole["items"]!.AsArray().Select(i => i!.ToJsonString()));
        Assert.Null(whole["nextCursor"]);
    }
}
