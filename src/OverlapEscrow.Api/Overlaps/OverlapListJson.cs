using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Overlaps;

/// <summary>
/// A JSON page of a cell's list (<see cref="OverlapListResponse"/>), written straight from the page with a
/// <see cref="Utf8JsonWriter"/>: the same bytes the serializer writes for <see cref="OverlapListResponse"/> under the
/// API's JSON settings (camelCase names, enumerations as snake_case strings, null properties left out, the default
/// escaping), without building a response object per item and match first and without the serializer's walk over
/// interface-typed lists and dictionaries. A page is the hottest JSON answer of the API (50–1,000 items, each with its
/// attributes and matches); its format is fixed by docs/api.md and held by <c>OverlapListJsonTests</c>, which compares
/// this writer's output with the serializer's for the documented type.
/// </summary>
public sealed class OverlapListResult(string partnershipId, OverlapPage page, string? nextCursor, string matches) : IResult
{
    public const string ContentType = "application/json; charset=utf-8";

    // Write the pipe out once this much is buffered, so a page of 1,000 items is not held whole.
    internal const int FlushBytes = 16 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        var body = response.BodyWriter;
        var ct = httpContext.RequestAborted;
        // The API's own JSON settings (ASP.NET Core's, with EscrowJson's conventions): their encoder and enum names.
        var format = OverlapListJson.FormatOf(httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);
        await using var json = new Utf8JsonWriter(body, format.WriterOptions);
        OverlapListJson.WriteStart(json, format, partnershipId, page);
        long flushed = 0;
        for (var i = 0; i < page.Items.Count; i++)
        {
            OverlapListJson.WriteItem(json, format, page.Items[i]);
            if (json.BytesPending + json.BytesCommitted - flushed >= FlushBytes)
            {
                json.Flush();
                flushed = json.BytesCommitted;
                await body.FlushAsync(ct);
            }
        }
        OverlapListJson.WriteEnd(json, page, nextCursor, matches);
        json.Flush();
    }
}

/// <summary>The pieces of <see cref="OverlapListResult"/>'s answer (and of the tests that compare it with the serializer's).</summary>
public static class OverlapListJson
{
    /// <summary>
    /// What the answer takes from a set of serializer options: the writer's settings (compact, and the options' encoder,
    /// so the same characters are escaped: ASP.NET Core's API options escape less than the serializer's default) and the
    /// enumerations' names as the options' converter writes them (taken from it, not restated here).
    /// </summary>
    public sealed class Format
    {
        internal Format(JsonSerializerOptions options)
        {
            Options = options;
            WriterOptions = new JsonWriterOptions { Indented = options.WriteIndented, Encoder = options.Encoder, SkipValidation = true };
            Levels = EnumNames<SharingLevel>(options);
            Confidences = EnumNames<MatchConfidence>(options);
        }

        internal JsonSerializerOptions Options { get; }
        public JsonWriterOptions WriterOptions { get; }
        internal Dictionary<SharingLevel, JsonEncodedText> Levels { get; }
        internal Dictionary<MatchConfidence, JsonEncodedText> Confidences { get; }

        private static Dictionary<T, JsonEncodedText> EnumNames<T>(JsonSerializerOptions options) where T : struct, Enum =>
            Enum.GetValues<T>().ToDictionary(v => v, v => JsonEncodedText.Encode(JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(v, options))!, options.Encoder));
    }

    private static Format? _format;

    /// <summary>The format for these options (made once; the host's options are one instance for its lifetime).</summary>
    public static Format FormatOf(JsonSerializerOptions options)
    {
        var format = _format;
        if (format is null || !ReferenceEquals(format.Options, options)) _format = format = new Format(options);
        return format;
    }

    private static readonly JsonEncodedText PartnershipId = JsonEncodedText.Encode("partnershipId");
    private static readonly JsonEncodedText MyPopulationId = JsonEncodedText.Encode("myPopulationId");
    private static readonly JsonEncodedText PartnerPopulationId = JsonEncodedText.Encode("partnerPopulationId");
    private static readonly JsonEncodedText Level = JsonEncodedText.Encode("level");
    private static readonly JsonEncodedText Fields = JsonEncodedText.Encode("fields");
    private static readonly JsonEncodedText TotalCount = JsonEncodedText.Encode("totalCount");
    private static readonly JsonEncodedText Items = JsonEncodedText.Encode("items");
    private static readonly JsonEncodedText NextCursor = JsonEncodedText.Encode("nextCursor");
    private static readonly JsonEncodedText Matches = JsonEncodedText.Encode("matches");
    private static readonly JsonEncodedText HashingSpecMismatch = JsonEncodedText.Encode("hashingSpecMismatch");
    private static readonly JsonEncodedText Mine = JsonEncodedText.Encode("mine");
    private static readonly JsonEncodedText Partner = JsonEncodedText.Encode("partner");
    private static readonly JsonEncodedText RecordId = JsonEncodedText.Encode("recordId");
    private static readonly JsonEncodedText Attributes = JsonEncodedText.Encode("attributes");
    private static readonly JsonEncodedText MatchesTruncated = JsonEncodedText.Encode("matchesTruncated");
    private static readonly JsonEncodedText MatchedOn = JsonEncodedText.Encode("matchedOn");
    private static readonly JsonEncodedText Confidence = JsonEncodedText.Encode("confidence");

    /// <summary>The whole answer into <paramref name="json"/> (tests; the endpoint writes it item by item).</summary>
    public static void Write(Utf8JsonWriter json, Format format, string partnershipId, OverlapPage page, string? nextCursor, string matches)
    {
        WriteStart(json, format, partnershipId, page);
        foreach (var item in page.Items) WriteItem(json, format, item);
        WriteEnd(json, page, nextCursor, matches);
    }

    internal static void WriteStart(Utf8JsonWriter json, Format format, string partnershipId, OverlapPage page)
    {
        json.WriteStartObject();
        json.WriteString(PartnershipId, partnershipId);
        json.WriteString(MyPopulationId, page.MyPopulationId);
        json.WriteString(PartnerPopulationId, page.PartnerPopulationId);
        json.WriteString(Level, format.Levels[page.Sharing.Level]);
        json.WriteStartArray(Fields);
        var fields = page.Sharing.Fields;
        for (var i = 0; i < fields.Count; i++) json.WriteStringValue(fields[i]);
        json.WriteEndArray();
        json.WriteNumber(TotalCount, page.TotalCount);
        json.WriteStartArray(Items);
    }

    internal static void WriteItem(Utf8JsonWriter json, Format format, OverlapItem item)
    {
        json.WriteStartObject();
        json.WriteString(RecordId, item.RecordId);
        json.WritePropertyName(Attributes);
        WriteMap(json, item.Attributes);
        json.WriteStartArray(Matches);
        for (var m = 0; m < item.Matches.Count; m++)
        {
            var match = item.Matches[m];
            json.WriteStartObject();
            json.WriteStartArray(MatchedOn);
            for (var k = 0; k < match.MatchedOn.Count; k++) json.WriteStringValue(match.MatchedOn[k]);
            json.WriteEndArray();
            json.WriteString(Confidence, format.Confidences[match.Confidence]);
            json.WritePropertyName(Fields);
            WriteMap(json, match.Fields);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteBoolean(MatchesTruncated, item.MatchesTruncated);
        json.WriteEndObject();
    }

    internal static void WriteEnd(Utf8JsonWriter json, OverlapPage page, string? nextCursor, string matches)
    {
        json.WriteEndArray();
        // Null properties are left out, as the API's settings (JsonIgnoreCondition.WhenWritingNull) do.
        if (nextCursor is not null) json.WriteString(NextCursor, nextCursor);
        json.WriteString(Matches, matches);
        if (page.SpecMismatch is { } mismatch)
        {
            json.WriteStartObject(HashingSpecMismatch);
            json.WriteString(Mine, HashingSpecs.Wire(mismatch.Mine));
            json.WriteString(Partner, HashingSpecs.Wire(mismatch.Partner));
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>A dictionary as an object, keys as they are (the API's settings have no dictionary key policy).</summary>
    private static void WriteMap(Utf8JsonWriter json, IReadOnlyDictionary<string, string> map)
    {
        json.WriteStartObject();
        if (map is AttributeMap attributes)
            foreach (var a in attributes.Attributes) WriteEntry(json, a.Name, a.Value);
        else if (map is Dictionary<string, string> dictionary)
            foreach (var (key, value) in dictionary) WriteEntry(json, key, value);
        else
            foreach (var (key, value) in map) WriteEntry(json, key, value);
        json.WriteEndObject();
    }

    private static void WriteEntry(Utf8JsonWriter json, string key, string? value)
    {
        if (value is null) json.WriteNull(key);
        else json.WriteString(key, value);
    }
}
