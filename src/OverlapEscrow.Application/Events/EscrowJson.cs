using System.Text.Json;
using System.Text.Json.Serialization;

namespace OverlapEscrow.Application.Events;

/// <summary>
/// The JSON conventions of everything the escrow sends: camelCase properties, enumerations as snake_case strings,
/// properties whose value is null left out. The web host's API answers use the same settings.
/// </summary>
public static class EscrowJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Applies the conventions to a set of options (the web host's, say).</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        // Numbers are JSON numbers: the web defaults would also read "5" as 5 (and the OpenAPI document would then type
        // every integer as "integer or string").
        options.NumberHandling = JsonNumberHandling.Strict;
        // A body that names a member twice is refused (400 naming it), not read as its last value: which one counts would
        // be the reader's guess (RFC 8259 §4), as the uploads' wire format already says.
        options.AllowDuplicateProperties = false;
        return options;
    }
}

/// <summary>The body of every webhook request (Standard Webhooks' recommended shape): the event type, when, and its data.</summary>
public sealed record WebhookEnvelope(string Type, DateTimeOffset Timestamp, object Data)
{
    public string Serialize() => JsonSerializer.Serialize(this, EscrowJson.Options);
}
