using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// Writes accounts as NDJSON lines of the upload wire format (docs/api.md, "NDJSON"):
/// <c>{"recordId":…,"identifiers":{type:[hash…]},"attributes":{name:value}}</c>. Only hashes and the chosen
/// attributes are written; the website, e-mail and name themselves never are. An account with no key at all
/// is not written (the escrow would refuse it) but counted, with the reasons its fields gave none.
/// </summary>
public sealed class UploadRowWriter
{
    private const int FlushThreshold = 64 * 1024;

    // Relaxed escaping keeps accents and other non-ASCII text readable for a reviewer of `hash` output; the
    // lines are NDJSON for an API, never embedded in HTML, so HTML-sensitive characters need no escaping.
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Stream _output;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushThreshold * 2);
    private readonly Utf8JsonWriter _json;
    private readonly List<(long Line, long Offset)> _rowMap = [];

    public UploadRowWriter(Stream output)
    {
        _output = output;
        _json = new Utf8JsonWriter(_buffer, JsonOptions);
    }

    public UploadStats Stats { get; } = new();

    /// <summary>
    /// Writes one account, or counts it as skipped when it has no key. <paramref name="sourceRow"/> is its row in
    /// the CRM export, so that row errors the escrow reports by NDJSON line can be traced back (<see cref="SourceRow"/>).
    /// Attribute values are trimmed; empty ones are left out (absent on the wire).
    /// </summary>
    /// <param name="hashes">The keys' hashes (<see cref="AccountKeys.Hashes"/>) when computed already, say on another thread.</param>
    /// <returns>Whether a line was written.</returns>
    public async ValueTask<bool> WriteAsync(string recordId, AccountKeys keys, IEnumerable<KeyValuePair<string, string?>> attributes,
        long sourceRow = 0, CancellationToken ct = default, Dictionary<string, string[]>? hashes = null)
    {
        Stats.RowsRead++;
        if (keys.IsEmpty)
        {
            Stats.CountSkipped(keys.Missing);
            return false;
        }
        hashes ??= keys.Hashes();
        _json.Reset();
        _json.WriteStartObject();
        _json.WriteString("recordId", recordId);
        _json.WriteStartObject("identifiers");
        foreach (var (type, values) in hashes)
        {
            _json.WriteStartArray(type);
            foreach (var h in values) _json.WriteStringValue(h);
            _json.WriteEndArray();
        }
        _json.WriteEndObject();
        _json.WriteStartObject("attributes");
        foreach (var (name, value) in attributes)
        {
            var trimmed = value?.Trim();
            if (!string.IsNullOrEmpty(trimmed)) _json.WriteString(name, trimmed);
        }
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.Flush();
        _buffer.Write("\n"u8);
        Stats.CountWritten(hashes);
        if (sourceRow > 0) MapLine(Stats.RowsWritten, sourceRow);
        if (_buffer.WrittenCount >= FlushThreshold) await FlushAsync(ct);
        return true;
    }

    /// <summary>Writes out the buffered lines. Call once after the last account.</summary>
    public async ValueTask FlushAsync(CancellationToken ct = default)
    {
        if (_buffer.WrittenCount == 0) return;
        await _output.WriteAsync(_buffer.WrittenMemory, ct);
        _buffer.ResetWrittenCount();
    }

    /// <summary>The CRM export row an NDJSON line (counting from 1) came from, or null when unknown.</summary>
    public long? SourceRow(long line)
    {
        if (line < 1 || line > Stats.RowsWritten || _rowMap.Count == 0) return null;
        // The map holds a breakpoint wherever the distance between line and row changes (a skipped row, or the
        // header), so it stays small however long the file is.
        var lo = 0;
        var hi = _rowMap.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_rowMap[mid].Line <= line) lo = mid; else hi = mid - 1;
        }
        return _rowMap[lo].Line <= line ? line + _rowMap[lo].Offset : null;
    }

    private void MapLine(long line, long sourceRow)
    {
        var offset = sourceRow - line;
        if (_rowMap.Count == 0 || _rowMap[^1].Offset != offset) _rowMap.Add((line, offset));
    }
}

/// <summary>What an <see cref="UploadRowWriter"/> wrote and skipped.</summary>
public sealed class UploadStats
{
    private readonly Dictionary<string, long> _rowsWithType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _hashesByType = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, long>> _skipReasons = new(StringComparer.Ordinal);

    /// <summary>Accounts given to the writer.</summary>
    public long RowsRead { get; internal set; }

    /// <summary>Accounts written as NDJSON lines.</summary>
    public long RowsWritten { get; private set; }

    /// <summary>Accounts without any key, not written.</summary>
    public long RowsWithoutKey { get; private set; }

    /// <summary>Written accounts that have at least one hash of each identifier type.</summary>
    public IReadOnlyDictionary<string, long> RowsWithType => _rowsWithType;

    /// <summary>Hashes written per identifier type.</summary>
    public IReadOnlyDictionary<string, long> HashesByType => _hashesByType;

    /// <summary>For the accounts without any key: field (website, email, name) → reason → accounts.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, long>> SkipReasons => _skipReasons;

    internal void CountWritten(Dictionary<string, string[]> hashes)
    {
        RowsWritten++;
        foreach (var (type, values) in hashes)
        {
            _rowsWithType[type] = _rowsWithType.GetValueOrDefault(type) + 1;
            _hashesByType[type] = _hashesByType.GetValueOrDefault(type) + values.Length;
        }
    }

    internal void CountSkipped(IReadOnlyDictionary<string, string> missing)
    {
        RowsWithoutKey++;
        // No field mapped at all leaves Missing empty; say so rather than show a skipped row without a reason.
        if (missing.Count == 0) missing = new Dictionary<string, string> { ["(any)"] = "no identifier column given" };
        foreach (var (field, reason) in missing)
        {
            if (!_skipReasons.TryGetValue(field, out var reasons)) _skipReasons[field] = reasons = new Dictionary<string, long>(StringComparer.Ordinal);
            reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
        }
    }
}
