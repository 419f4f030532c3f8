using System.Buffers;
using System.Runtime.InteropServices;
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
    // Lines are written out in blocks of about this size: on a stream written asynchronously each write is a hand-over
    // to the thread pool and back, so a few large blocks cost the thread that writes (the one serial stage of a
    // batched export) less than many small ones; a file opened for synchronous I/O is written on this thread (FlushAsync).
    private const int FlushThreshold = 1024 * 1024;

    // Relaxed escaping keeps accents and other non-ASCII text readable for a reviewer of `hash` output; the
    // lines are NDJSON for an API, never embedded in HTML, so HTML-sensitive characters need no escaping.
    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // The line's fixed property names, encoded once rather than transcoded and checked for escaping on every line.
    private static readonly JsonEncodedText RecordIdName = JsonEncodedText.Encode("recordId", JsonOptions.Encoder);
    private static readonly JsonEncodedText IdentifiersName = JsonEncodedText.Encode("identifiers", JsonOptions.Encoder);
    private static readonly JsonEncodedText AttributesName = JsonEncodedText.Encode("attributes", JsonOptions.Encoder);
    private static readonly JsonEncodedText[] TypeNames = [.. IdentifierHashes.Types.Select(t => JsonEncodedText.Encode(t, JsonOptions.Encoder))];

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
    /// <returns>Whether a line was written.</returns>
    public async ValueTask<bool> WriteAsync(string recordId, AccountKeys keys, IEnumerable<KeyValuePair<string, string?>> attributes,
        long sourceRow = 0, CancellationToken ct = default)
    {
        if (!keys.IsEmpty) Encode(_json, _buffer, recordId, keys, attributes);
        Count(new RowOutcome(keys), sourceRow);
        if (_buffer.WrittenCount >= FlushThreshold) await FlushAsync(ct);
        return !keys.IsEmpty;
    }

    /// <summary>
    /// Writes the line of an account with at least one key, and its line break, to <paramref name="output"/> through
    /// <paramref name="json"/> (which writes to it): the hashes are computed as they are written, with no string
    /// per hash. Thread-safe for distinct writers, so batches of rows are encoded on every core.
    /// </summary>
    internal static void Encode(Utf8JsonWriter json, IBufferWriter<byte> output, string recordId, AccountKeys keys,
        IEnumerable<KeyValuePair<string, string?>> attributes)
    {
        // A hash is written as a raw JSON string, quotes included: 64 hex digits never need escaping, so the writer's
        // escaping scan of each of a row's dozen hashes is skipped; the bytes are what WriteStringValue writes.
        Span<byte> quoted = stackalloc byte[2 * 32 + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        var hex = quoted[1..^1];
        Span<byte> order = stackalloc byte[NameKeys.TypoMaxLength + 1];
        json.Reset(); // one line is one JSON value
        json.WriteStartObject();
        json.WriteString(RecordIdName, recordId);
        json.WriteStartObject(IdentifiersName);
        // By type in upload order, each type's keys in the order the account gave them (AccountKeys.Hashes). Each
        // key's type is looked up once; a key of no known type is not written, as before.
        // A span over the keys' list when it is one (AccountKeys.From makes lists): no interface call per key and type.
        ReadOnlySpan<AccountKey> identifiers = keys.Identifiers is List<AccountKey> list ? CollectionsMarshal.AsSpan(list) : [.. keys.Identifiers];
        Span<sbyte> typeOf = identifiers.Length <= 256 ? stackalloc sbyte[identifiers.Length] : new sbyte[identifiers.Length];
        for (var i = 0; i < identifiers.Length; i++) typeOf[i] = (sbyte)IdentifierHashes.IndexOfType(identifiers[i].Type);
        for (var t = 0; t < IdentifierHashes.Types.Count; t++)
        {
            var open = false;
            for (var i = 0; i < identifiers.Length; i++)
            {
                if (typeOf[i] != t) continue;
                var type = IdentifierHashes.Types[t];
                if (!open) json.WriteStartArray(TypeNames[t]);
                open = true;
                IdentifierHashes.HashHex(type, identifiers[i].Key, hex);
                json.WriteRawValue(quoted, skipInputValidation: true);
            }
            // Typo keys kept as their source (AccountKeys.ForUpload) are hashed from it, in the order they would have had.
            if (t == IdentifierHashes.NameTypoIndex && keys.TypoKey is { } typoKey)
            {
                if (!open) json.WriteStartArray(TypeNames[t]);
                open = true;
                var count = NameKeys.TypoOrder(typoKey, order);
                for (var k = 0; k < count; k++)
                {
                    IdentifierHashes.TypoHashHex(typoKey, order[k], keys.TypoSuffix, hex);
                    json.WriteRawValue(quoted, skipInputValidation: true);
                }
            }
            if (open) json.WriteEndArray();
        }
        json.WriteEndObject();
        json.WriteStartObject(AttributesName);
        foreach (var (name, value) in attributes)
        {
            var trimmed = value?.Trim();
            if (!string.IsNullOrEmpty(trimmed)) json.WriteString(name, trimmed);
        }
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        output.Write("\n"u8);
    }

    /// <summary>Appends lines <see cref="Encode"/> wrote elsewhere; <see cref="Count"/> each of their rows in order.</summary>
    internal ValueTask AppendAsync(ReadOnlySpan<byte> lines, CancellationToken ct)
    {
        _buffer.Write(lines);
        return _buffer.WrittenCount >= FlushThreshold ? FlushAsync(ct) : ValueTask.CompletedTask;
    }

    /// <summary>Counts one row as written (a line) or skipped (no key), in the export's order.</summary>
    internal void Count(RowOutcome row, long sourceRow)
    {
        Stats.RowsRead++;
        if (row.Missing is { } missing)
        {
            Stats.CountSkipped(missing);
            return;
        }
        Stats.CountWritten(row);
        if (sourceRow > 0) MapLine(Stats.RowsWritten, sourceRow);
    }

    /// <summary>Writes out the buffered lines. Call once after the last account.</summary>
    public async ValueTask FlushAsync(CancellationToken ct = default)
    {
        if (_buffer.WrittenCount == 0) return;
        // A file opened for synchronous I/O is written here, on this thread: its WriteAsync would hand the same blocking
        // write to a pool thread and the rest of the export back to another. On a batched export that thread is the one
        // serial stage, and each of those hand-overs waited for a core the workers held (docs/performance.md, "Hashing a
        // CRM export").
        if (_output is FileStream { IsAsync: false } file) file.Write(_buffer.WrittenSpan);
        else await _output.WriteAsync(_buffer.WrittenMemory, ct);
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
    // Counted by the position of the type in IdentifierHashes.Types: this runs for every row on the thread that writes
    // the lines, which no other core can share, so a row costs it a few additions rather than two look-ups per type.
    private readonly long[] _rowsWithType = new long[IdentifierHashes.Types.Count];
    private readonly long[] _hashesByType = new long[IdentifierHashes.Types.Count];
    private readonly Dictionary<string, Dictionary<string, long>> _skipReasons = new(StringComparer.Ordinal);

    /// <summary>Accounts given to the writer.</summary>
    public long RowsRead { get; internal set; }

    /// <summary>Accounts written as NDJSON lines.</summary>
    public long RowsWritten { get; private set; }

    /// <summary>Accounts without any key, not written.</summary>
    public long RowsWithoutKey { get; private set; }

    /// <summary>Written accounts that have at least one hash of each identifier type (types with none are left out).</summary>
    public IReadOnlyDictionary<string, long> RowsWithType => ByType(_rowsWithType);

    /// <summary>Hashes written per identifier type (types with none are left out).</summary>
    public IReadOnlyDictionary<string, long> HashesByType => ByType(_hashesByType);

    private static Dictionary<string, long> ByType(long[] counts)
    {
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var t = 0; t < counts.Length; t++)
            if (counts[t] > 0) byType[IdentifierHashes.Types[t]] = counts[t];
        return byType;
    }

    /// <summary>For the accounts without any key: field (website, email, name) → reason → accounts.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, long>> SkipReasons => _skipReasons;

    internal void CountWritten(RowOutcome row)
    {
        RowsWritten++;
        for (var t = 0; t < _rowsWithType.Length; t++)
        {
            var count = row.KeysOfType(t);
            if (count == 0) continue;
            _rowsWithType[t]++;
            _hashesByType[t] += count;
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

/// <summary>
/// What the counts need of one row, without its keys: how many keys of each type it has (one byte per type, in
/// the order of <see cref="IdentifierHashes.Types"/>), or, for a row without any key, why its fields gave none.
/// Small, so a batch of rows hashed on other cores keeps no per-row objects alive until it is written.
/// </summary>
internal readonly struct RowOutcome
{
    private readonly ulong _counts;

    public RowOutcome(AccountKeys keys)
    {
        if (keys.IsEmpty)
        {
            Missing = keys.Missing;
            return;
        }
        Span<byte> counts = stackalloc byte[sizeof(ulong)];
        ReadOnlySpan<AccountKey> identifiers = keys.Identifiers is List<AccountKey> list ? CollectionsMarshal.AsSpan(list) : [.. keys.Identifiers];
        for (var i = 0; i < identifiers.Length; i++)
        {
            var t = IdentifierHashes.IndexOfType(identifiers[i].Type);
            if (t < 0) throw new ArgumentOutOfRangeException(nameof(keys), identifiers[i].Type, "Not an identifier type.");
            counts[t] = checked((byte)(counts[t] + 1)); // an account has at most a few dozen keys
        }
        counts[IdentifierHashes.NameTypoIndex] = checked((byte)(counts[IdentifierHashes.NameTypoIndex] + keys.TypoCount));
        _counts = BitConverter.ToUInt64(counts);
    }

    /// <summary>Null for a row with a key; the reasons its fields gave none otherwise.</summary>
    public IReadOnlyDictionary<string, string>? Missing { get; }

    public int KeysOfType(int typeIndex) => (int)((_counts >> (8 * typeIndex)) & 0xFF);
}
