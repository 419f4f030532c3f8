using System.Net;
using System.Text.Json;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// An error answer of the escrow, from its RFC 9457 problem details: title, detail, and for uploads the row
/// errors. <see cref="Exception.Message"/> is one line, fit for a terminal; the escrow's messages never quote
/// submitted values, so neither does this.
/// </summary>
public sealed class EscrowApiException : Exception
{
    private const int ErrorsShown = 3;

    public EscrowApiException(int status, string title, string? detail = null, string? type = null,
        IReadOnlyList<RowError>? rowErrors = null, IReadOnlyDictionary<string, string[]>? fieldErrors = null, long? errorCount = null)
        : base(Describe(status, title, detail, rowErrors ?? [], fieldErrors ?? new Dictionary<string, string[]>(), errorCount, null))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Type = type;
        RowErrors = rowErrors ?? [];
        FieldErrors = fieldErrors ?? new Dictionary<string, string[]>();
        ErrorCount = errorCount;
    }

    public int Status { get; }
    public string Title { get; }
    public string? Detail { get; }
    public string? Type { get; }
    public IReadOnlyList<RowError> RowErrors { get; }
    public IReadOnlyDictionary<string, string[]> FieldErrors { get; }
    public long? ErrorCount { get; }

    /// <summary>The one-line message with row numbers translated, e.g. from NDJSON lines to the rows of the CRM export.</summary>
    public string Describe(Func<long, string>? rowLabel) => Describe(Status, Title, Detail, RowErrors, FieldErrors, ErrorCount, rowLabel);

    private static string Describe(int status, string title, string? detail, IReadOnlyList<RowError> rows,
        IReadOnlyDictionary<string, string[]> fields, long? errorCount, Func<long, string>? rowLabel)
    {
        var parts = new List<string> { $"{title} ({status})" };
        if (!string.IsNullOrWhiteSpace(detail) && detail != title) parts[0] += ": " + detail;
        var errors = rows.Select(e => $"{(rowLabel ?? (r => $"row {r}"))(e.Row)}{(e.Field is null ? "" : " " + e.Field)}: {e.Message}")
            .Concat(fields.SelectMany(f => f.Value.Select(m => $"{f.Key}: {m}")))
            .ToList();
        if (errors.Count > 0)
        {
            var total = Math.Max(errorCount ?? errors.Count, errors.Count);
            var shown = string.Join("; ", errors.Take(ErrorsShown));
            parts.Add(total > ErrorsShown ? $"{shown} (and {total - ErrorsShown} more)" : shown);
        }
        return OneLine(string.Join(" — ", parts));
    }

    internal static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Builds the exception from an error response, problem details or not.</summary>
    internal static async Task<EscrowApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var fallbackTitle = response.ReasonPhrase is { Length: > 0 } reason ? reason : ((HttpStatusCode)status).ToString();
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(ct);
        }
        catch (HttpRequestException)
        {
            return new EscrowApiException(status, fallbackTitle);
        }
        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
        if (!mediaType.Contains("json", StringComparison.OrdinalIgnoreCase)) return new EscrowApiException(status, fallbackTitle);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return new EscrowApiException(status, fallbackTitle);
            var title = String(root, "title") ?? fallbackTitle;
            // The token endpoint answers with OAuth's error and error_description instead (RFC 6749 §5.2).
            var detail = String(root, "detail") ?? String(root, "error_description");
            var rows = new List<RowError>();
            var fields = new Dictionary<string, string[]>();
            if (root.TryGetProperty("errors", out var errors))
            {
                if (errors.ValueKind == JsonValueKind.Array)
                {
                    foreach (var e in errors.EnumerateArray())
                        if (e.ValueKind == JsonValueKind.Object)
                            rows.Add(new RowError(e.TryGetProperty("row", out var r) && r.TryGetInt64(out var n) ? n : 0, String(e, "field"), String(e, "message") ?? ""));
                }
                else if (errors.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in errors.EnumerateObject())
                        fields[p.Name] = p.Value.ValueKind == JsonValueKind.Array
                            ? [.. p.Value.EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! : m.ToString())]
                            : [p.Value.ToString()];
                }
            }
            long? errorCount = root.TryGetProperty("errorCount", out var c) && c.TryGetInt64(out var count) ? count : null;
            return new EscrowApiException(status, title, detail, String(root, "type"), rows, fields, errorCount);
        }
        catch (JsonException)
        {
            return new EscrowApiException(status, fallbackTitle);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
