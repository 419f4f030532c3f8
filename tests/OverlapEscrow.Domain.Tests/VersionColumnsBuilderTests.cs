using System.Text;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>
/// The columns an upload builds from its records as they stream in (<see cref="VersionColumnsBuilder"/>) are exactly the
/// columns a version read back from its segments gets (<see cref="VersionColumns.Encode"/> over
/// <see cref="PopulationData.Materialize"/>), so writing them in the upload's commit changes nothing a reader sees.
/// </summary>
public class VersionColumnsBuilderTests
{
    /// <summary>Ids drawn to hit every ordering case: shared prefixes longer than eight bytes, NUL, accents, CJK, U+E000–U+FFFF and surrogate pairs.</summary>
    private static string RandomId(Random random)
    {
        string[] pieces = ["acct-", "acct-0000", "A", "a", "\0", "é", "Ω", "企業", "\uE000", "\uFFFD", "\uFF21", "😀", "𝔸", "z", "-", "9"];
        var sb = new StringBuilder();
        var n = random.Next(0, 6);
        for (var i = 0; i < n; i++) sb.Append(pieces[random.Next(pieces.Length)]);
        return sb.ToString();
    }

    private static List<EscrowRecord> Records(int count, int seed, bool sortedIds = false)
    {
        var random = new Random(seed);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (ids.Count < count) ids.Add(RandomId(random) + (random.Next(4) == 0 ? "" : random.Next(count * 4).ToString()));
        var ordered = sortedIds ? ids.Order(StringComparer.Ordinal).ToList() : ids.ToList();
        var records = new List<EscrowRecord>(count);
        foreach (var id in ordered)
        {
            var tokens = new List<RecordToken>();
            foreach (var type in IdentifierTypes.All)
                for (var k = random.Next(0, 3); k > 0; k--)
                    tokens.Add(new RecordToken(type, new Token((ulong)random.Next(3), (ulong)random.Next(count / 2 + 1))));
            if (random.Next(10) == 0 && tokens.Count > 0) tokens.Add(tokens[0]); // the same token twice in a record
            RecordAttribute[] attributes = random.Next(3) switch
            {
                0 => [],
                1 => [new("owner", "Zoë " + random.Next(9))],
                _ => [new("stage", "won"), new("amount", random.Next().ToString())],
            };
            records.Add(new EscrowRecord(id, [.. tokens], attributes));
        }
        return records;
    }

    private static List<(long Part, byte[] Plaintext)> Built(IEnumerable<EscrowRecord> records, bool encoded = false)
    {
        var builder = new VersionColumnsBuilder();
        foreach (var r in records) Assert.True(encoded ? builder.AddEncoded(Encode(r)) : builder.Add(r));
        return builder.Build().ToList();
    }

    /// <summary>A record as a segment holds it, what an upload hands the builder.</summary>
    private static byte[] Encode(EscrowRecord record)
    {
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        RecordCodec.Write(writer, record);
        return writer.WrittenSpan.ToArray();
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(255, 3)]
    [InlineData(3_000, 4)]
    [InlineData(70_000, 5)] // more than one chunk of a column (65,536 tokens)
    public void ColumnsBuiltWhileUploadingAreTheBytesAVersionReadFromItsSegmentsGets(int count, int seed)
    {
        var records = Records(count, seed);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).ToList();

        var actual = Built(records);

        Assert.Equal(expected.Select(p => p.Part), actual.Select(p => p.Part));
        for (var i = 0; i < expected.Count; i++) Assert.True(expected[i].Plaintext.AsSpan().SequenceEqual(actual[i].Plaintext), $"part {expected[i].Part:x} differs");
    }

    [Theory]
    [InlineData(0, 21)]
    [InlineData(3_000, 22)]
    [InlineData(70_000, 23)]
    public void RecordsAddedAsTheirSegmentBytesGiveTheSameColumnsAsRecordsAddedAsObjects(int count, int seed)
    {
        var records = Records(count, seed);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).ToList();

        var actual = Built(records, encoded: true);

        Assert.Equal(expected.Select(p => p.Part), actual.Select(p => p.Part));
        for (var i = 0; i < expected.Count; i++) Assert.True(expected[i].Plaintext.AsSpan().SequenceEqual(actual[i].Plaintext), $"part {expected[i].Part:x} differs");
    }

    [Theory]
    [InlineData(200_000, 31, false)] // several full chunks of a column (65,536 tokens) and a shorter last one, per type
    [InlineData(200_000, 32, true)]
    public void ColumnsBuiltIntoReusedBuffersAreTheSameBytesWhenEachPartIsReadBeforeTheNext(int count, int seed, bool sortedIds)
    {
        var records = Records(count, seed, sortedIds);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).ToList();
        var builder = new VersionColumnsBuilder();
        foreach (var r in records) Assert.True(builder.AddEncoded(Encode(r)));

        // As the upload's finish reads them: each part's bytes taken (sealed, there) before the next is asked for.
        var arrays = new List<byte[]>();
        var actual = new List<(long Part, byte[] Plaintext)>();
        foreach (var (part, plaintext) in builder.Build(reuseBuffers: true))
        {
            arrays.Add(plaintext);
            actual.Add((part, plaintext.ToArray()));
        }

        Assert.Equal(expected.Select(p => p.Part), actual.Select(p => p.Part));
        for (var i = 0; i < expected.Count; i++) Assert.True(expected[i].Plaintext.AsSpan().SequenceEqual(actual[i].Plaintext), $"part {expected[i].Part:x} differs");
        // And the buffers were in fact shared: fewer distinct arrays than column chunks.
        var chunks = expected.Count(p => p.Part > VersionColumns.HeaderPart && p.Part < VersionColumns.BlockPart(0));
        Assert.True(chunks >= 6, $"only {chunks} column chunks: the case does not reach reuse");
        Assert.True(arrays.Distinct(ReferenceEqualityComparer.Instance).Count() <= expected.Count - chunks / 2, "column chunks were not built into shared arrays");
    }

    [Fact]
    public void ADeletionAsSegmentBytesIsRefusedLikeADeletionObject()
    {
        var builder = new VersionColumnsBuilder();

        Assert.Throws<ArgumentException>(() => builder.AddEncoded(Encode(EscrowRecord.Deletion("gone"))));
    }

    [Fact]
    public void RecordsArrivingInIdOrderGiveTheSameColumns()
    {
        var records = Records(2_000, 6, sortedIds: true);

        Assert.Equal(VersionColumns.Encode(PopulationData.Materialize("v", [records])).SelectMany(p => p.Plaintext),
            Built(records).SelectMany(p => p.Plaintext));
    }

    /// <summary>Adds records as an upload does: taking the full blocks as they are ready, and handing them back when a record comes out of id order.</summary>
    private static (List<(long Part, byte[] Plaintext)> Parts, int HandedBack, int TakenWhileInOrder) BuiltAsUploaded(IEnumerable<EscrowRecord> records,
        bool encoded = false)
    {
        var builder = new VersionColumnsBuilder();
        var taken = new List<(long Part, byte[] Plaintext)>();
        int handedBack = 0, takenWhileInOrder = 0;
        bool Add(EscrowRecord r) => encoded ? builder.AddEncoded(Encode(r)) : builder.Add(r);
        foreach (var r in records)
        {
            if (!Add(r))
            {
                handedBack = taken.Count;
                builder.Restore(taken.Select(t => (ReadOnlyMemory<byte>)t.Plaintext));
                taken.Clear(); // the stored blocks are removed: they will be built anew
                Assert.True(Add(r));
            }
            var ready = builder.TakeReadyBlocks();
            if (builder.InIdOrder) takenWhileInOrder += ready.Count;
            taken.AddRange(ready.Select(b => (b.Part, b.Plaintext.ToArray()))); // kept as stored: the builder writes over them
        }
        var parts = builder.Build().ToList();
        // Blocks handed out while adding come first in the store; the order of rows there does not matter, the parts do.
        return ([.. parts.Concat(taken).OrderBy(p => VersionColumns.IsBlockPart(p.Part) ? 1 : 0).ThenBy(p => p.Part)], handedBack, takenWhileInOrder);
    }

    private static void AssertSameParts(List<(long Part, byte[] Plaintext)> expected, List<(long Part, byte[] Plaintext)> actual)
    {
        Assert.Equal(expected.Select(p => p.Part).Order(), actual.Select(p => p.Part).Order());
        var byPart = actual.ToDictionary(p => p.Part, p => p.Plaintext);
        foreach (var (part, plaintext) in expected) Assert.True(plaintext.AsSpan().SequenceEqual(byPart[part]), $"part {part:x} differs");
    }

    [Fact]
    public void RecordsArrivingInIdOrderAreHandedOutBlockByBlockAndGiveTheSameColumns()
    {
        var records = Records(2_000, 10, sortedIds: true);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).ToList();

        var (actual, handedBack, takenWhileInOrder) = BuiltAsUploaded(records);

        Assert.Equal(0, handedBack);
        Assert.Equal(2_000 / PopulationData.BlockSize, takenWhileInOrder); // every full block left the builder as it filled
        AssertSameParts(expected, actual);
    }

    [Theory]
    [InlineData(1_000, 11, false)]   // out of order inside the first blocks
    [InlineData(1_777, 12, false)]   // and after a block boundary
    [InlineData(1_000, 14, true)]    // the same, added as segment bytes
    [InlineData(1_777, 15, true)]
    public void ARecordOutOfIdOrderAfterBlocksWereHandedOutTakesThemBackAndGivesTheSameColumns(int outOfOrderAt, int seed, bool encoded)
    {
        var records = Records(3_000, seed, sortedIds: true);
        // Everything in order up to one record that belongs much earlier, then the rest in order.
        var moved = records[10];
        records.RemoveAt(10);
        records.Insert(outOfOrderAt, moved);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).ToList();

        var (actual, handedBack, _) = BuiltAsUploaded(records, encoded);

        Assert.Equal(outOfOrderAt / PopulationData.BlockSize, handedBack);
        AssertSameParts(expected, actual);
    }

    [Fact]
    public void BlocksTakenAtAnyPaceHoldTheirBytesUntilTheNextRecordIsAdded()
    {
        // The ready blocks share one buffer that the next full block after a take writes over: taken after every record,
        // after a few blocks at once, or never (the build hands them out), the blocks are the same bytes, and a block taken
        // reads the same until the next record is added (a second take in between changes nothing).
        var records = Records(3_000, 21, sortedIds: true);
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [records])).Where(p => VersionColumns.IsBlockPart(p.Part))
            .Select(p => (p.Part, Convert.ToHexString(p.Plaintext))).ToList();
        Assert.True(expected.Count >= 11);
        foreach (var takeEvery in new[] { 1, 255, 256, 700, 2_900, int.MaxValue })
        {
            var builder = new VersionColumnsBuilder();
            var taken = new List<(long Part, string Hex)>();
            for (var i = 0; i < records.Count; i++)
            {
                Assert.True(builder.Add(records[i]));
                if ((i + 1) % takeEvery != 0) continue;
                var last = builder.TakeReadyBlocks();
                List<string> lastHex = [.. last.Select(b => Convert.ToHexString(b.Plaintext.Span))];
                Assert.Empty(builder.TakeReadyBlocks()); // taken once
                Assert.Equal(lastHex, last.Select(b => Convert.ToHexString(b.Plaintext.Span))); // a second take changes nothing
                taken.AddRange(last.Select((b, k) => (b.Part, lastHex[k])));
            }
            taken.AddRange(builder.Build().Where(p => VersionColumns.IsBlockPart(p.Part)).Select(p => (p.Part, Convert.ToHexString(p.Plaintext))));
            Assert.Equal(expected, taken);
        }
    }

    [Fact]
    public void BlocksHandedOutMustAllComeBack()
    {
        var records = Records(600, 13, sortedIds: true);
        var builder = new VersionColumnsBuilder();
        foreach (var r in records) Assert.True(builder.Add(r));
        var taken = builder.TakeReadyBlocks();
        Assert.Equal(2, taken.Count);

        Assert.False(builder.Add(records[0] with { RecordId = "" })); // before every id: out of order
        Assert.Throws<InvalidDataException>(() => builder.Restore([taken[0].Plaintext]));
    }

    [Fact]
    public void IdsCompareAsTheirStringsCompareOrdinally()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var (a, b) = (RandomId(random), RandomId(random));
            Assert.Equal(Math.Sign(string.CompareOrdinal(a, b)),
                Math.Sign(VersionColumnsBuilder.CompareIds(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b))));
        }
        // The case byte order gets wrong: a surrogate pair (U+1F600) sorts before U+E000 in UTF-16, after it in UTF-8.
        Assert.True(VersionColumnsBuilder.CompareIds(Encoding.UTF8.GetBytes("😀"), Encoding.UTF8.GetBytes("\uE000")) < 0);
    }

    [Fact]
    public void AColumnBuiltWhileUploadingMatchesExactlyAsTheMaterializedVersion()
    {
        var mine = Records(4_000, 8);
        var theirs = Records(3_000, 9);
        var stored = (List<EscrowRecord> r, string id) => VersionColumns.Decode(id, Built(r).Where(p => !VersionColumns.IsBlockPart(p.Part)));

        var expected = OverlapEngine.Compute(PopulationData.Materialize("m", [mine]), PopulationData.Materialize("t", [theirs]));
        var actual = OverlapEngine.Compute(stored(mine, "m"), stored(theirs, "t"));

        Assert.True(expected.Count > 100, $"only {expected.Count} overlap");
        Assert.Equal(expected.MyOrdinals, actual.MyOrdinals);
        Assert.Equal(expected.TheirOrdinals, actual.TheirOrdinals);
        Assert.Equal(expected.Kinds, actual.Kinds);
    }
}
