using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>
/// A delta's columns built from its base's stored parts (<see cref="VersionDeltaBuilder"/>) are, part for part and byte
/// for byte, the columns of the chain materialized record by record (<see cref="PopulationData.Materialize"/>, then
/// <see cref="VersionColumns.Encode"/>): what a delta's first load wrote before.
/// </summary>
public class VersionDeltaBuilderTests
{
    // Ids whose UTF-8 byte order differs from their UTF-16 order (a supplementary character against U+E000 and up), and
    // an accented letter: the merge must order them as string.CompareOrdinal does.
    private static readonly string[] Odd = ["é", "\uE000", "\U0001F600", "\uFFFD", "z"];

    private static string Id(int i, Random random) => $"acc-{i:D5}" + (random.Next(6) == 0 ? Odd[random.Next(Odd.Length)] : "");

    private static EscrowRecord Record(string id, Random random, string stage)
    {
        var tokens = new List<RecordToken>();
        foreach (var type in IdentifierTypes.All)
        {
            // 0–2 tokens of each type from a small space, so records share tokens and a record may hold one twice.
            var count = random.Next(3);
            for (var k = 0; k < count; k++) tokens.Add(new RecordToken(type, new Token((ulong)random.Next(40), (ulong)random.Next(3))));
        }
        List<RecordAttribute> attributes = [new("stage", stage)];
        if (random.Next(4) == 0) attributes.Add(new RecordAttribute("owner", $"owner {random.Next(9)}"));
        return new EscrowRecord(id, [.. tokens], [.. attributes]);
    }

    /// <summary>The parts the builder makes from the base's stored parts and the delta, and those of the chain materialized.</summary>
    private static (List<(long Part, byte[] Bytes)> Built, List<(long Part, byte[] Bytes)> Expected) Both(
        IReadOnlyList<EscrowRecord> baseRecords, IReadOnlyList<EscrowRecord> delta)
    {
        var expected = VersionColumns.Encode(PopulationData.Materialize("v", [baseRecords, delta])).Select(p => (p.Part, p.Plaintext.ToArray())).ToList();
        var stored = VersionColumns.Encode(PopulationData.Materialize("b", [baseRecords])).Select(p => (p.Part, Bytes: p.Plaintext.ToArray())).ToList();
        return (Build(stored, delta), expected);
    }

    /// <summary>
    /// The builder's four steps over the base's stored parts, as a load runs them: the blocks, the column chunks counted,
    /// the header, the column chunks merged. Every part's plaintext is copied as it comes (the builder reuses its arrays).
    /// </summary>
    private static List<(long Part, byte[] Bytes)> Build(List<(long Part, byte[] Bytes)> stored, IReadOnlyList<EscrowRecord> delta)
    {
        var builder = new VersionDeltaBuilder(VersionColumns.ReadHeader(stored.Single(p => p.Part == VersionColumns.HeaderPart).Bytes), delta);
        var built = new List<(long, byte[])>();
        foreach (var (part, bytes) in stored.Where(p => VersionColumns.IsBlockPart(p.Part)))
        {
            builder.AddBaseBlock((int)(part & 0xFFFF_FFFF), bytes);
            built.AddRange(builder.TakeReadyBlocks().Select(b => (b.Part, b.Plaintext.ToArray())));
        }
        builder.EndRecords();
        built.AddRange(builder.TakeReadyBlocks().Select(b => (b.Part, b.Plaintext.ToArray())));
        // What a load reads of the base's columns: its token column parts in part order, twice.
        var columns = stored.Where(p => p.Part != VersionColumns.HeaderPart && !VersionColumns.IsBlockPart(p.Part)).OrderBy(p => p.Part).ToList();
        foreach (var (part, bytes) in columns) builder.CountBaseChunk(part, bytes);
        built.Add((VersionColumns.HeaderPart, builder.Header()));
        foreach (var (part, bytes) in columns) builder.MergeBaseChunk(part, bytes, (p, b) => built.Add((p, b.ToArray())));
        builder.EndColumns((p, b) => built.Add((p, b.ToArray())));
        return built;
    }

    private static void AssertSameParts(List<(long Part, byte[] Bytes)> expected, List<(long Part, byte[] Bytes)> built)
    {
        Assert.Equal(expected.Select(p => p.Part).Order(), built.Select(p => p.Part).Order());
        var byPart = built.ToDictionary(p => p.Part, p => p.Bytes);
        foreach (var (part, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(byPart[part]), $"part {part:X} differs");
    }

    [Theory]
    [InlineData(1_000, 300, 11)]
    [InlineData(3_000, 40, 12)]
    [InlineData(257, 257, 13)]
    // Columns of more than one chunk (65,536 tokens), with runs of equal tokens across the chunks' boundaries.
    [InlineData(140_000, 3_000, 14)]
    public void ADeltaBuiltFromItsBaseColumnsIsTheChainMaterializedPartForPart(int baseCount, int changes, int seed)
    {
        var random = new Random(seed);
        var baseRecords = Enumerable.Range(0, baseCount).Select(i => Id(i * 2, random)).Distinct().Select(id => Record(id, random, "base")).ToList();
        // Last in id order, after blocks were handed out: ids that differ only where UTF-8 and UTF-16 order disagree.
        baseRecords.AddRange([Record("zz\uE000", random, "base"), Record("zz\uFFFD", random, "base")]);
        var delta = new List<EscrowRecord>();
        var touched = new HashSet<string>();
        for (var k = 0; k < changes; k++)
        {
            var existing = baseRecords[random.Next(baseRecords.Count)].RecordId;
            if (!touched.Add(existing)) continue;
            // Changed (new tokens, another stage, sometimes a new attribute) or deleted.
            delta.Add(random.Next(3) == 0 ? new EscrowRecord(existing, [], [], Deleted: true) : Record(existing, random, "changed") with
            {
                Attributes = [new("stage", "changed"), new("tier", "gold")],
            });
        }
        // New records between the base's (odd numbers), before its first and after its last; a deletion of an id it lacks.
        foreach (var id in new[] { "a-first", "zzz-last", "acc-00001", "acc-00003\U0001F600", $"acc-{baseCount:D5}1", "zz\U0001F600", "zz\u00E9" })
            if (touched.Add(id)) delta.Add(Record(id, random, "new"));
        delta.Add(new EscrowRecord("acc-99999-absent", [], [], Deleted: true));
        // In upload order, not id order.
        delta = [.. delta.OrderBy(_ => random.Next())];

        var (built, expected) = Both(baseRecords, delta);

        AssertSameParts(expected, built);
        Assert.Contains(built, p => VersionColumns.IsBlockPart(p.Part));
        // Built again from the delta in another order: the same parts, byte for byte (two builds of one version's columns
        // running at once may finish with a mix of each other's parts: IVersionColumnStore.AppendCommittedAsync).
        var (again, _) = Both(baseRecords, [.. delta.OrderBy(_ => random.Next())]);
        AssertSameParts(built, again);
    }

    [Fact]
    public void AttributesAndTypesCarriedOnlyByDeletedRecordsLeaveTheVersionAndADeltaDeletingEverythingLeavesItEmpty()
    {
        var random = new Random(5);
        var baseRecords = Enumerable.Range(0, 600).Select(i => Record($"r{i:D4}", random, "base")).ToList();
        // r0100 alone carries the "legacy" attribute and r0200 alone a generic-name token.
        baseRecords[100] = baseRecords[100] with { Attributes = [new("legacy", "yes")] };
        baseRecords = [.. baseRecords.Select((r, i) => i == 200 ? r : r with { Tokens = [.. r.Tokens.Where(t => t.Type != IdentifierType.NameGeneric)] })];
        Assert.Single(baseRecords, r => r.Tokens.Any(t => t.Type == IdentifierType.NameGeneric));
        List<EscrowRecord> delta = [new("r0100", [], [], Deleted: true), new("r0200", [], [], Deleted: true)];

        var (built, expected) = Both(baseRecords, delta);

        AssertSameParts(expected, built);
        var header = VersionColumns.ReadHeader(built.Single(p => p.Part == VersionColumns.HeaderPart).Bytes);
        Assert.DoesNotContain("legacy", header.AttributeNames);
        Assert.False(header.Columns.ContainsKey(IdentifierType.NameGeneric));
        Assert.Equal(598, header.RecordCount);

        var (emptied, none) = Both(baseRecords, [.. baseRecords.Select(r => new EscrowRecord(r.RecordId, [], [], Deleted: true))]);
        AssertSameParts(none, emptied);
        Assert.Equal(0, VersionColumns.ReadHeader(emptied.Single(p => p.Part == VersionColumns.HeaderPart).Bytes).RecordCount);
    }

    [Fact]
    public void BaseBlocksMissingOutOfOrderOrNotWhereTheHeaderSaysAreRefusedLoudly()
    {
        var random = new Random(9);
        var baseRecords = Enumerable.Range(0, 700).Select(i => Record($"r{i:D4}", random, "base")).ToList();
        var stored = VersionColumns.Encode(PopulationData.Materialize("b", [baseRecords])).Select(p => (p.Part, Bytes: p.Plaintext.ToArray())).ToList();
        var header = VersionColumns.ReadHeader(stored.Single(p => p.Part == VersionColumns.HeaderPart).Bytes);
        var blocks = stored.Where(p => VersionColumns.IsBlockPart(p.Part)).Select(p => p.Bytes).ToList();
        Assert.Equal(3, blocks.Count);
        List<EscrowRecord> delta = [Record("r0001x", random, "new")];

        // The second block skipped: the third is not the next.
        var skipped = new VersionDeltaBuilder(header, delta);
        skipped.AddBaseBlock(0, blocks[0]);
        Assert.Throws<InvalidDataException>(() => skipped.AddBaseBlock(2, blocks[2]));
        // A block missing at the end: the records do not end, nothing is built.
        var short_ = new VersionDeltaBuilder(header, delta);
        short_.AddBaseBlock(0, blocks[0]);
        short_.AddBaseBlock(1, blocks[1]);
        Assert.Throws<InvalidDataException>(short_.EndRecords);
        // Another block's records in its place (a damaged database): its first id is not the header's.
        var swapped = new VersionDeltaBuilder(header, delta);
        Assert.Throws<InvalidDataException>(() => swapped.AddBaseBlock(0, blocks[1]));
        // A block cut short after its second record.
        var cut = new VersionDeltaBuilder(header, delta);
        var first = RecordCodec.EncodedLength(blocks[0]);
        var two = first + RecordCodec.EncodedLength(blocks[0].AsSpan(first));
        Assert.Throws<InvalidDataException>(() => cut.AddBaseBlock(0, blocks[0].AsSpan(0, two)));
    }

    [Fact]
    public void BaseColumnChunksOutOfOrderMalformedOrNamingRecordsTheBaseLacksAreRefusedLoudly()
    {
        var random = new Random(21);
        var baseRecords = Enumerable.Range(0, 700).Select(i => Record($"r{i:D4}", random, "base")).ToList();
        var stored = VersionColumns.Encode(PopulationData.Materialize("b", [baseRecords])).Select(p => (p.Part, Bytes: p.Plaintext.ToArray())).ToList();
        var header = VersionColumns.ReadHeader(stored.Single(p => p.Part == VersionColumns.HeaderPart).Bytes);
        var columns = stored.Where(p => p.Part != VersionColumns.HeaderPart && !VersionColumns.IsBlockPart(p.Part)).OrderBy(p => p.Part).ToList();
        Assert.True(columns.Count >= 2);
        List<EscrowRecord> delta = [Record("r0001x", random, "new"), new("r0002", [], [], Deleted: true)];
        VersionDeltaBuilder RecordsEnded()
        {
            var builder = new VersionDeltaBuilder(header, delta);
            foreach (var (part, bytes) in stored.Where(p => VersionColumns.IsBlockPart(p.Part))) builder.AddBaseBlock((int)(part & 0xFFFF_FFFF), bytes);
            builder.EndRecords();
            return builder;
        }

        // Counted out of order, or one chunk left out: no header.
        var swapped = RecordsEnded();
        Assert.Throws<InvalidDataException>(() => swapped.CountBaseChunk(columns[1].Part, columns[1].Bytes));
        var missing = RecordsEnded();
        foreach (var (part, bytes) in columns.Skip(1)) Assert.Throws<InvalidDataException>(() => missing.CountBaseChunk(part, bytes));
        Assert.Throws<InvalidDataException>(() => missing.Header());
        // A chunk cut short, or naming an ordinal past the base's records (a damaged database).
        var cut = RecordsEnded();
        Assert.Throws<InvalidDataException>(() => cut.CountBaseChunk(columns[0].Part, columns[0].Bytes.AsSpan(0, columns[0].Bytes.Length - 4)));
        var beyond = columns[0].Bytes.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(beyond.AsSpan(beyond.Length - 4), 700);
        var named = RecordsEnded();
        Assert.Throws<InvalidDataException>(() => named.CountBaseChunk(columns[0].Part, beyond));
        // Merged in another order than counted, or ended before the last chunk: refused, not built short.
        var merged = RecordsEnded();
        foreach (var (part, bytes) in columns) merged.CountBaseChunk(part, bytes);
        merged.Header();
        Assert.Throws<InvalidDataException>(() => merged.MergeBaseChunk(columns[1].Part, columns[1].Bytes, (_, _) => { }));
        merged.MergeBaseChunk(columns[0].Part, columns[0].Bytes, (_, _) => { });
        Assert.Throws<InvalidDataException>(() => merged.EndColumns((_, _) => { }));
    }

    [Fact]
    public void BaseRecordsOutOfIdOrderAreRefusedEvenBeforeAnyBlockIsHandedOut()
    {
        // A one-block base whose records are not in id order (a damaged database): the builder would order them by id at
        // the end, so the base's ordinals noted on the way would not be the new version's.
        var random = new Random(4);
        var records = new[] { "r2", "r1", "r3" }.Select(id => Record(id, random, "base")).ToList();
        var block = new System.Buffers.ArrayBufferWriter<byte>();
        foreach (var r in records) RecordCodec.Write(block, r with { Tokens = [] });
        var header = new VersionColumns.Header(3, new Dictionary<IdentifierType, (int, int)>(), [], ["r2"]);
        var builder = new VersionDeltaBuilder(header, [Record("r4", random, "new")]);

        builder.AddBaseBlock(0, block.WrittenSpan);

        Assert.Throws<InvalidDataException>(builder.EndRecords);
    }

    [Fact]
    public void TypesTheBaseLacksComeFromTheDeltaAndAnEmptyBaseTakesEveryRecordOfIt()
    {
        var random = new Random(31);
        // The base has no Domain tokens (the lowest type number) and no NameTypo ones (the highest); the delta brings both.
        var baseRecords = Enumerable.Range(0, 900).Select(i => Record($"r{i:D4}", random, "base"))
            .Select(r => r with { Tokens = [.. r.Tokens.Where(t => t.Type is not IdentifierType.Domain and not IdentifierType.NameTypo)] }).ToList();
        List<EscrowRecord> delta = [Record("r0005", random, "changed"), Record("r0450x", random, "new"), Record("r9999", random, "new"), new("r0007", [], [], Deleted: true)];
        Assert.Contains(delta, r => r.Tokens.Any(t => t.Type == IdentifierType.Domain));
        Assert.Contains(delta, r => r.Tokens.Any(t => t.Type == IdentifierType.NameTypo));

        var (built, expected) = Both(baseRecords, delta);

        AssertSameParts(expected, built);
        var header = VersionColumns.ReadHeader(built.Single(p => p.Part == VersionColumns.HeaderPart).Bytes);
        Assert.True(header.Columns.ContainsKey(IdentifierType.Domain) && header.Columns.ContainsKey(IdentifierType.NameTypo));

        var (fromEmpty, expectedFromEmpty) = Both([], delta);
        AssertSameParts(expectedFromEmpty, fromEmpty);
        Assert.Equal(3, VersionColumns.ReadHeader(fromEmpty.Single(p => p.Part == VersionColumns.HeaderPart).Bytes).RecordCount);
    }

    [Theory]
    // One domain token a record: a base column of exactly one chunk grown past it, and one of a chunk and one token
    // shrunk to exactly one chunk.
    [InlineData(65_536, 1, 0)]
    [InlineData(65_537, 0, 1)]
    [InlineData(65_536, 0, 1)]
    public void ColumnsEndingExactlyAtAChunksBoundaryOrOneTokenPastIt(int baseCount, int added, int deleted)
    {
        static EscrowRecord One(string id, int i) => new(id, [new RecordToken(IdentifierType.Domain, new Token((ulong)(i * 7919 % 65_521), (ulong)i))], []);
        var baseRecords = Enumerable.Range(0, baseCount).Select(i => One($"r{i:D6}", i)).ToList();
        List<EscrowRecord> delta = [.. Enumerable.Range(0, added).Select(i => One($"r{i:D6}x", baseCount + i)),
            .. Enumerable.Range(0, deleted).Select(i => new EscrowRecord($"r{i * 3:D6}", [], [], Deleted: true))];

        var (built, expected) = Both(baseRecords, delta);

        AssertSameParts(expected, built);
        var tokens = baseCount + added - deleted;
        Assert.Equal((tokens + VersionColumns.ChunkTokens - 1) / VersionColumns.ChunkTokens,
            built.Count(p => !VersionColumns.IsBlockPart(p.Part) && p.Part != VersionColumns.HeaderPart));
    }
}
