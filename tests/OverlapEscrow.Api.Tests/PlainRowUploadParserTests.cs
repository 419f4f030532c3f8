using System.Text;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Uploads;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The NDJSON parser's plain path (a row read straight from its bytes) against its field-by-field parser, row by row:
/// rows aimed at each place the two could disagree, and a few thousand seeded mutations of plain rows. Whatever a row
/// is, both must give the same row number, error (field and message), kind, id key and stored bytes.
/// </summary>
public sealed class PlainRowUploadParserTests
{
    private static readonly IOptions<UploadOptions> Defaults = Options.Create(new UploadOptions());

    /// <summary>Small limits, so that mutations cross them often.</summary>
    private static readonly IOptions<UploadOptions> Small = Options.Create(new UploadOptions
    {
        MaxRecordIdLength = 6, MaxIdentifiersPerRecord = 2, MaxAttributesPerRecord = 2, MaxAttributeLength = 5,
    });

    private static string Hex(int seed) => Convert.ToHexString(Enumerable.Range(0, 32).Select(i => (byte)(seed * 31 + i * 7)).ToArray());

    private sealed class CountingSink(IRowSink inner) : IRowSink
    {
        public IRowSink Inner => inner;
        public int Plain { get; private set; }
        public void AddPlain(long line, PlainLine row) { Plain++; inner.AddPlain(line, row); }
        public void AddParsed(ParsedRecord row) => inner.AddParsed(row);
    }

    /// <summary>Runs both paths on each line as its own one-line chunk, then on all lines as one; returns how many lines the plain path took.</summary>
    private static int AssertBothPathsAgree(IReadOnlyList<byte[]> lines, IOptions<UploadOptions> options)
    {
        var parser = new NdjsonUploadParser(new RowRules(options), options);
        using var keyers = new OverlapEscrow.Domain.Tokens.TokenKeyers([Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()]);
        var plain = 0;
        for (var n = 0; n < lines.Count; n++)
        {
            var line = lines[n];
            Assert.DoesNotContain((byte)'\n', line);
            var describe = $"line {n}: {Convert.ToHexString(line)} ({Encoding.UTF8.GetString(line)})";
            var buffers = new UploadBuffers(line.Length + 1);
            UploadChunk Chunk() { var bytes = buffers.Rent(line.Length + 1); line.CopyTo(bytes, 0); bytes[line.Length] = (byte)'\n'; return new UploadChunk(bytes, line.Length + 1, 7, buffers); }

            var byField = new UploadPopulation.BatchBuilder(keyers, 5, 1);
            foreach (var row in parser.Parse(Chunk())) { byField.AddParsed(row); row.ZeroHashes(); }
            var slow = byField.Finish(buffers);

            var straight = new UploadPopulation.BatchBuilder(keyers, 5, 1);
            var counting = new CountingSink(straight);
            try { parser.Parse(Chunk(), counting); }
            catch (Exception e) { Assert.Fail($"the plain path threw {e.GetType().Name} ({e.Message}) where the field-by-field parser gave {slow.Row(0).Error?.ToString() ?? "a valid row"}: {describe}"); }
            var fast = straight.Finish(buffers);
            plain += counting.Plain;

            Assert.True(slow.Count == fast.Count, $"row count {slow.Count} vs {fast.Count}: {describe}");
            for (var i = 0; i < slow.Count; i++)
            {
                Assert.True(slow.Row(i).Row == fast.Row(i).Row, $"row number: {describe}");
                Assert.True(Equals(slow.Row(i).Error, fast.Row(i).Error), $"error {slow.Row(i).Error} vs {fast.Row(i).Error}: {describe}");
                Assert.True(slow.Row(i).Delete == fast.Row(i).Delete, $"delete: {describe}");
                Assert.True(slow.Row(i).IdKey == fast.Row(i).IdKey, $"id key: {describe}");
                Assert.True(slow.Encoded(i).Span.SequenceEqual(fast.Encoded(i).Span), $"stored bytes: {describe}");
            }
            fast.Release();
            slow.Release();
        }
        // All lines again as one chunk: what each path remembers from one row to the next (names, values) changes nothing.
        {
            var body = lines.SelectMany(l => l.Append((byte)'\n')).ToArray();
            var buffers = new UploadBuffers(body.Length);
            UploadChunk Chunk() { var bytes = buffers.Rent(body.Length); body.CopyTo(bytes, 0); return new UploadChunk(bytes, body.Length, 1, buffers); }
            var byField = new UploadPopulation.BatchBuilder(keyers, 5, lines.Count);
            foreach (var row in parser.Parse(Chunk())) { byField.AddParsed(row); row.ZeroHashes(); }
            var slow = byField.Finish(buffers);
            var counting = new CountingSink(new UploadPopulation.BatchBuilder(keyers, 5, lines.Count));
            var straight = (UploadPopulation.BatchBuilder)counting.Inner;
            parser.Parse(Chunk(), counting);
            var fast = straight.Finish(buffers);
            Assert.Equal(plain, counting.Plain);
            Assert.Equal(slow.Count, fast.Count);
            for (var i = 0; i < slow.Count; i++)
            {
                var at = $"row {slow.Row(i).Row} of one chunk";
                Assert.True(slow.Row(i).Row == fast.Row(i).Row, at);
                Assert.True(Equals(slow.Row(i).Error, fast.Row(i).Error), $"error {slow.Row(i).Error} vs {fast.Row(i).Error}: {at}");
                Assert.True(slow.Row(i).Delete == fast.Row(i).Delete && slow.Row(i).IdKey == fast.Row(i).IdKey, at);
                Assert.True(slow.Encoded(i).Span.SequenceEqual(fast.Encoded(i).Span), $"stored bytes: {at}");
            }
            fast.Release();
            slow.Release();
        }
        return plain;
    }

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    private static string Row(string fields) => "{" + fields + "}";

    private static string Ids(int count, int seed = 1) =>
        "\"identifiers\":{" + string.Join(',', Enumerable.Range(0, count).Select(i => $"\"domain\":\"{Hex(seed + i)}\"")) + "}";

    private static string Attrs(int count, string value = "v") =>
        "\"attributes\":{" + string.Join(',', Enumerable.Range(0, count).Select(i => $"\"a{i}\":\"{value}\"")) + "}";

    /// <summary>Rows aimed at each place the plain path and the field-by-field parser could part.</summary>
    private static List<byte[]> AimedRows()
    {
        var h = Hex(1);
        var id = "\"recordId\":\"R-1\"";
        var ids = $"\"identifiers\":{{\"domain\":\"{h}\"}}";
        var rows = new List<string>
        {
            // Property names escaped: the same field to both readers; escapes that are not UTF-16 (lone surrogates).
            Row($"\"\\u0072ecordId\":\"R-1\",{ids}"),
            Row($"{id},\"identifiers\":{{\"dom\\u0061in\":\"{h}\"}}"),
            Row($"{id},{ids},\"\\u006fp\":\"upsert\""),
            Row($"{id},{ids},\"\\uD800\":1"),
            Row($"{id},{ids},\"op\\uD800\":1"),
            Row($"\"\\uDC00abcdefgh\":1,{id},{ids}"),
            Row($"\"\\uD800\\uD800\":1,{id},{ids}"),
            Row($"{id},\"identifiers\":{{\"\\uD800\":\"{h}\"}}"),
            Row($"{id},\"identifiers\":{{\"\\uDC00ab\":\"{h}\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"\\uD800\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"\\uD800\"}}"),
            Row($"{id},{ids},\"op\":\"\\uD800\""),
            Row($"\"recordId\":\"\\uD800\",{ids}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"\\uD800{h[..58]}\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"\\ud83d\\ude00\"}}"),
            // Case, whitespace, framing.
            Row($"\"RecordId\":\"R-1\",{ids}"),
            Row($"{id},\"identifiers\":{{\"Domain\":\"{h}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h.ToLowerInvariant()[..32]}{h[32..]}\"}}"),
            Row($"{id},{ids},\"op\":\"DELETE\""),
            Row($"{id},{ids},\"op\":\"Upsert\""),
            "\t" + Row($"{id},{ids}") + " \r",
            "\uFEFF" + Row($"{id},{ids}"),
            Row($"{id},{ids}") + "\uFEFF",
            Row($"{id},{ids}") + "\r\r",
            Row($"{id},{ids}") + " //",
            Row($"{id},{ids}") + ",",
            Row($"{id},{ids},"),
            Row($"{id},{ids} /* c */"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h}\",}}"),
            "{}",
            "\"s\"",
            "null",
            // Types of values.
            Row($"\"recordId\":null,{ids}"),
            Row($"{id},\"identifiers\":null"),
            Row($"{id},{ids},\"attributes\":null"),
            Row($"{id},{ids},\"op\":null"),
            Row($"{id},{ids},\"op\":1"),
            Row($"{id},\"identifiers\":{{\"domain\":null,\"name\":\"{h}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"\",\"name\":\"{h}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":[],\"name\":\"{h}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":1}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":1e3,\"b\":-0}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":[]}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":null,\"a\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"x\",\"a\":null}}"),
            // Delete.
            Row($"{id},\"op\":\"delete\",\"identifiers\":{{}},\"attributes\":{{}}"),
            Row($"{id},\"op\":\"delete\",\"identifiers\":{{\"domain\":\"\"}}"),
            Row($"{id},\"op\":\"delete\",\"attributes\":{{\"a\":null}}"),
            Row($"{id},\"op\":\"delete\",\"attributes\":{{\"a\":\"\"}}"),
            Row($"{id},\"identifiers\":{{}}"),
            Row($"{id},\"op\":\"\""),
            Row($"\"op\":\"delete\""),
            // Duplicated fields.
            Row($"{id},{ids},{ids}"),
            Row($"{id},{ids},\"attributes\":{{}},\"attributes\":{{\"a\":\"x\"}}"),
            Row($"{id},{ids},\"op\":\"delete\",\"op\":\"upsert\""),
            Row($"{id},{ids},\"op\":\"upsert\",\"op\":\"delete\""),
            Row($"\"recordId\":\"\",{id},{ids}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h}\",\"domain\":\"{h}\"}}"),
            // Hashes.
            Row($"{id},\"identifiers\":{{\"domain\":\"0x{h[2..]}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\" {h[1..]}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h} \"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h}00\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{new string('g', 64)}\"}}"),
            Row($"{id},\"identifiers\":{{\"domain\":\"{h[..63]}\\u0041\"}}"),
            // Record ids.
            Row($"\"recordId\":\"{new string('i', 128)}\",{ids}"),
            Row($"\"recordId\":\"{new string('i', 129)}\",{ids}"),
            Row($"\"recordId\":\"{new string('i', 127)}\u007F\",{ids}"),
            Row($"\"recordId\":\"{new string('i', 127)}é\",{ids}"),
            Row($"\"recordId\":\"R\u0085\",{ids}"),
            Row($"\"recordId\":\"R \",{ids}"),
            Row($"\"recordId\":\" \",{ids}"),
            Row($"\"recordId\":\"R\\/1\",{ids}"),
            // Attribute names and values near the limits.
            Row($"{id},{ids},\"attributes\":{{\"{new string('n', 64)}\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"{new string('n', 65)}\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"_a\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a-b\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"é\":\"x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"x\",\"A\":\"y\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"x\u007F\u2028\uFFFF\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"{string.Concat(Enumerable.Repeat("😀", 128))}\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"{string.Concat(Enumerable.Repeat("😀", 128))}x\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"{new string('€', 256)}\"}}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":\"{new string('€', 257)}\"}}"),
            Row($"{id},{ids},{Attrs(32)}"),
            Row($"{id},{ids},{Attrs(33)}"),
            Row($"{id},{Ids(48)}"),
            Row($"{id},{Ids(49)}"),
            Row($"{id},{ids},\"attributes\":{{\"a\":{{\"b\":{{\"c\":1}}}}}}"),
        };
        var result = rows.Select(U).ToList();
        // Bytes that are not UTF-8, in each place a row holds text.
        byte[][] invalid = [[0x80], [0xC0, 0xAF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xE2, 0x82], [0xEF, 0xBF]];
        foreach (var bad in invalid)
        {
            result.Add([.. U("{\"recordId\":\"R"), .. bad, .. U($"\",{ids}}}")]);
            result.Add([.. U($"{{{id},{ids},\"attributes\":{{\"a\":\"x"), .. bad, .. U("\"}}")]);
            result.Add([.. U($"{{{id},{ids},\"attributes\":{{\"a"), .. bad, .. U("\":\"x\"}}")]);
            result.Add([.. U($"{{{id},\"identifiers\":{{\"domain"), .. bad, .. U($"\":\"{h}\"}}}}")]);
            result.Add([.. U($"{{{id},\"identifiers\":{{\"domain\":\"{h[..62]}"), .. bad, .. U("\"}}")]);
            result.Add([.. U($"{{{id},{ids},\"op"), .. bad, .. U("\":\"x\"}")]);
            result.Add([.. U($"{{{id},{ids},\"op\":\"delete"), .. bad, .. U("\"}")]);
            result.Add([.. U($"{{{id},{ids}}}"), .. bad]);
        }
        return result;
    }

    [Fact]
    public void RowsAimedAtEachPlaceThePlainPathCouldPartFromTheFieldByFieldParserAreReadAlikeByBoth()
    {
        var rows = AimedRows();
        var plain = AssertBothPathsAgree(rows, Defaults);
        Assert.InRange(plain, 10, rows.Count - 10); // both paths were exercised
        AssertBothPathsAgree(rows, Small);
    }

    private static readonly string[] Types = ["domain", "name", "domain_label", "name_only"];
    private static readonly string[] Values = ["Discovery", "", "Zoë Café", "企業", "😀x", "a b", "12345", "x\u007F", "é"];
    private static readonly string[] Pieces =
    [
        " ", "\t", "\r", "\\u0041", "\\u00e9", "\\uD800", "\\uDC00", "\\ud83d\\ude00", "\\\"", "\\\\", "\\n", "\\/", "\"", ",", ":",
        "{", "}", "[", "]", "null", "1", "true", "\"recordId\":\"D\",", "\"op\":\"delete\",", "\"op\":\"upsert\",", "\"op\":\"\",",
        "\"attributes\":{},", "\"identifiers\":{},", "\"x\":1,", "\uFEFF", "é", "😀",
    ];
    private static readonly byte[][] BadBytes = [[0x80], [0xC0, 0xAF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xE2, 0x82], [0x00], [0x1F], [0x7F]];

    /// <summary>A valid plain row, its fields in a random order, sometimes at or past a limit.</summary>
    private static string PlainRow(Random random, UploadOptions o)
    {
        var fields = new List<string>();
        var idLength = random.Next(4) switch { 0 => o.MaxRecordIdLength, 1 => o.MaxRecordIdLength + 1, _ => 1 + random.Next(Math.Min(10, o.MaxRecordIdLength)) };
        fields.Add($"\"recordId\":\"{new string((char)('A' + random.Next(26)), idLength)}\"");
        var delete = random.Next(8) == 0;
        if (delete) fields.Add("\"op\":\"delete\"");
        else
        {
            if (random.Next(4) == 0) fields.Add(random.Next(2) == 0 ? "\"op\":\"upsert\"" : "\"op\":\"\"");
            var hashes = random.Next(6) == 0 ? o.MaxIdentifiersPerRecord + random.Next(2) : 1 + random.Next(Math.Min(4, o.MaxIdentifiersPerRecord));
            fields.Add("\"identifiers\":{" + string.Join(',', Enumerable.Range(0, hashes).Select(_ =>
            {
                var hex = Hex(random.Next(1000));
                return $"\"{Types[random.Next(Types.Length)]}\":\"{(random.Next(3) == 0 ? hex.ToLowerInvariant() : hex)}\"";
            })) + "}");
            if (random.Next(3) > 0)
            {
                var count = random.Next(6) == 0 ? o.MaxAttributesPerRecord + random.Next(2) : random.Next(Math.Min(4, o.MaxAttributesPerRecord) + 1);
                fields.Add("\"attributes\":{" + string.Join(',', Enumerable.Range(0, count).Select(i =>
                {
                    var value = random.Next(8) switch
                    {
                        0 => new string('x', o.MaxAttributeLength + random.Next(2)),
                        1 => new string('é', o.MaxAttributeLength + random.Next(2)),
                        2 => string.Concat(Enumerable.Repeat("😀", o.MaxAttributeLength / 2 + random.Next(2))),
                        _ => Values[random.Next(Values.Length)],
                    };
                    return $"\"{(random.Next(4) == 0 ? "stage" : "a" + i)}\":\"{value}\"";
                })) + "}");
            }
        }
        return "{" + string.Join(',', fields.OrderBy(_ => random.Next())) + "}";
    }

    private static byte[] Mutate(Random random, byte[] row)
    {
        var bytes = row.ToList();
        var mutations = random.Next(4); // none: the plain row itself
        for (var m = 0; m < mutations && bytes.Count > 0; m++)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(9))
            {
                case 0: if (at < bytes.Count) bytes[at] = (byte)random.Next(256); break;
                case 1: bytes.InsertRange(at, U(Pieces[random.Next(Pieces.Length)])); break;
                case 2: bytes.InsertRange(at, BadBytes[random.Next(BadBytes.Length)]); break;
                case 3: if (at < bytes.Count) bytes.RemoveAt(at); break;
                case 4: // a letter's case
                    if (at < bytes.Count && char.IsAsciiLetter((char)bytes[at])) bytes[at] ^= 0x20;
                    break;
                case 5: // a letter written as an escape
                    if (at < bytes.Count && char.IsAsciiLetter((char)bytes[at]))
                    {
                        var escape = U($"\\u{bytes[at]:x4}");
                        bytes.RemoveAt(at);
                        bytes.InsertRange(at, escape);
                    }
                    break;
                case 6: // a piece of the row repeated (a key, a field)
                    {
                        var from = random.Next(bytes.Count);
                        var length = Math.Min(bytes.Count - from, 1 + random.Next(90));
                        bytes.InsertRange(at, bytes.GetRange(from, length));
                        break;
                    }
                case 7: // cut short
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default: bytes.InsertRange(at, U(" ")); break;
            }
        }
        for (var i = 0; i < bytes.Count; i++)
            if (bytes[i] == (byte)'\n') bytes[i] = (byte)' ';
        return [.. bytes];
    }

    [Theory]
    [InlineData(20261201, false)]
    [InlineData(12, true)]
    public void SeededMutationsOfPlainRowsAreReadAlikeByThePlainPathAndTheFieldByFieldParser(int seed, bool smallLimits)
    {
        var options = smallLimits ? Small : Defaults;
        var random = new Random(seed);
        var rows = new List<byte[]>();
        for (var i = 0; i < 4000; i++) rows.Add(Mutate(random, U(PlainRow(random, options.Value))));

        var plain = AssertBothPathsAgree(rows, options);

        Assert.InRange(plain, 200, rows.Count - 200); // both paths were exercised
    }
}
