using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>A version stored as columns (<see cref="VersionColumns"/>) and read back is the same version for matching and for lists.</summary>
public class VersionColumnsTests
{
    /// <summary>
    /// Records with every identifier type drawn from small token spaces, so that pairs share tokens often, some names
    /// are too common, some records exceed the per-record cap, and domains contradict.
    /// </summary>
    private static List<EscrowRecord> Population(string prefix, int count, int seed)
    {
        var random = new Random(seed);
        var records = new List<EscrowRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var tokens = new List<RecordToken>();
            void Add(IdentifierType type, int space, double chance)
            {
                if (random.NextDouble() < chance) tokens.Add(new RecordToken(type, new Token((ulong)type, (ulong)random.Next(space))));
            }
            Add(IdentifierType.Domain, count, 0.7);
            Add(IdentifierType.Domain, count, 0.1);
            Add(IdentifierType.DomainLabel, count / 2, 0.7);
            Add(IdentifierType.Name, count / 3, 0.6);
            Add(IdentifierType.NameOnly, count / 4, 0.6);
            Add(IdentifierType.NameGeneric, 20, 0.2);
            Add(IdentifierType.NameSkeleton, count / 3, 0.4);
            Add(IdentifierType.NameTypo, count / 2, 0.5);
            Add(IdentifierType.NameTypo, 3, 0.01); // a few typo keys shared by very many records
            Add(IdentifierType.Name, 2, 0.02);
            Add(IdentifierType.Domain, 2, 0.05); // a domain so shared that its records hit the per-record cap
            var attributes = i % 3 == 0 ? [] : new[] { new RecordAttribute("owner", $"{prefix} owner {i % 17}"), new RecordAttribute("stage", "é" + i) };
            records.Add(new EscrowRecord($"{prefix}-{random.Next():x8}-{i}", [.. tokens], attributes));
        }
        return records;
    }

    private static PopulationData RoundTrip(PopulationData data) =>
        VersionColumns.Decode(data.VersionId, VersionColumns.Encode(data).Where(p => !VersionColumns.IsBlockPart(p.Part)));

    [Fact]
    public void ARecordReadBackFromTheColumnsAndItsBlockIsTheRecordWithEveryTokenOfEveryType()
    {
        var data = PopulationData.Materialize("m", [Population("m", 3_000, 3)]);
        var parts = VersionColumns.Encode(data).ToList();
        var stored = VersionColumns.Decode("m", parts.Where(p => !VersionColumns.IsBlockPart(p.Part)));
        var blocks = parts.Where(p => VersionColumns.IsBlockPart(p.Part)).ToDictionary(p => (int)(p.Part & 0xFFFF_FFFF),
            p => VersionColumns.ReadBlock(p.Plaintext, VersionColumns.RecordsIn((int)(p.Part & 0xFFFF_FFFF), data.RecordCount)).ToArray());

        var records = stored.RecordsFrom(blocks);

        Assert.Equal(data.RecordCount, records.Length);
        Assert.True(data.Records.Sum(r => r.Tokens.Length) > 10_000); // every type, some records with two of a type
        for (var i = 0; i < records.Length; i++)
        {
            Assert.Equal(data.Records[i].RecordId, records[i].RecordId);
            Assert.Equal(data.Records[i].Attributes, records[i].Attributes);
            Assert.Equal(Canonical(data.Records[i].Tokens), Canonical(records[i].Tokens));
        }
        // A block missing, or one that does not start where the header says, is refused rather than read as fewer records.
        var swapped = new Dictionary<int, EscrowRecord[]>(blocks) { [1] = blocks[2] };
        Assert.Throws<InvalidDataException>(() => stored.RecordsFrom(swapped));
        blocks.Remove(1);
        Assert.Throws<InvalidDataException>(() => stored.RecordsFrom(blocks));

        static List<RecordToken> Canonical(RecordToken[] tokens) => [.. tokens.OrderBy(t => t.Type).ThenBy(t => t.Token)];
    }

    [Theory]
    [InlineData(MatchView.Default)]
    [InlineData(MatchView.IncludePossible)]
    public void AVersionReadBackFromItsColumnsMatchesExactlyAsTheMaterializedOne(MatchView view)
    {
        var mine = PopulationData.Materialize("m", [Population("m", 3_000, 1)]);
        var theirs = PopulationData.Materialize("t", [Population("t", 2_500, 2), [EscrowRecord.Deletion("nobody")]]);
        var mineStored = RoundTrip(mine);
        var theirsStored = RoundTrip(theirs);
        Assert.False(mineStored.HasRecords);

        var expected = OverlapEngine.Compute(mine, theirs, view);
        var actual = OverlapEngine.Compute(mineStored, theirsStored, view);

        Assert.True(expected.Count > 500, $"only {expected.Count} overlap"); // the comparison below compares something
        Assert.Contains(true, expected.Truncated);
        Assert.Equal(expected.MyOrdinals, actual.MyOrdinals);
        Assert.Equal(expected.PairStart, actual.PairStart);
        Assert.Equal(expected.TheirOrdinals, actual.TheirOrdinals);
        Assert.Equal(expected.Kinds, actual.Kinds);
        Assert.Equal(expected.Confidences, actual.Confidences);
        Assert.Equal(expected.Truncated, actual.Truncated);
        Assert.Equal(expected.PartnerCount, actual.PartnerCount);
    }

    [Fact]
    public void TheColumnsAreSortedByTokenThenRecordSoNothingIsSortedOnLoad()
    {
        var data = RoundTrip(PopulationData.Materialize("v", [Population("p", 2_000, 3)]));

        foreach (var type in IdentifierTypes.All)
        {
            var (tokens, ordinals) = data.Column(type);
            for (var i = 1; i < tokens.Length; i++)
                Assert.True(tokens[i - 1].CompareTo(tokens[i]) < 0 || (tokens[i - 1] == tokens[i] && ordinals[i - 1] <= ordinals[i]));
        }
    }

    [Fact]
    public void ItsRecordBlocksHoldEveryIdAndAttributeInOrdinalOrderAndNoToken()
    {
        var data = PopulationData.Materialize("v", [Population("p", 1_000, 4)]);
        var parts = VersionColumns.Encode(data).ToList();
        var stored = VersionColumns.Decode("v", parts.Where(p => !VersionColumns.IsBlockPart(p.Part)));

        var blocks = parts.Where(p => VersionColumns.IsBlockPart(p.Part)).ToList();
        Assert.Equal(4, blocks.Count); // 1,000 records, 256 a block
        var read = blocks.SelectMany((b, n) => VersionColumns.ReadBlock(b.Plaintext, VersionColumns.RecordsIn(n, stored.RecordCount))).ToList();
        Assert.Equal(data.Records.Select(r => r.RecordId), read.Select(r => r.RecordId));
        Assert.Equal(data.Records.Select(r => string.Join(";", r.Attributes)), read.Select(r => string.Join(";", r.Attributes)));
        Assert.All(read, r => Assert.Empty(r.Tokens));
        Assert.Equal(["owner", "stage"], stored.AttributeNames);
    }

    [Fact]
    public void BlockOfFindsTheBlockThatWouldHoldAnyRecordId()
    {
        var data = PopulationData.Materialize("v", [Population("p", 1_000, 5)]);
        var stored = RoundTrip(data);

        for (var o = 0; o < data.Records.Count; o++) Assert.Equal(o / PopulationData.BlockSize, stored.BlockOf(data.Records[o].RecordId));
        Assert.Equal(-1, stored.BlockOf("a")); // sorts before "p-…"
        Assert.Equal(stored.BlockCount - 1, stored.BlockOf("zzz"));
    }

    [Fact]
    public void AColumnOutOfOrderIsRefusedRatherThanMatchedWrongly()
    {
        var data = PopulationData.Materialize("v", [Population("p", 500, 6)]);
        var parts = VersionColumns.Encode(data).Where(p => !VersionColumns.IsBlockPart(p.Part)).ToList();
        var domain = parts.Single(p => p.Part == VersionColumns.ColumnPart(IdentifierType.Domain, 0)).Plaintext;
        // Swap the first and the last token of the domain column.
        var last = 4 + 16 * (BitConverter.ToInt32(domain, 0) - 1);
        var first = domain.AsSpan(4, 16).ToArray();
        domain.AsSpan(last, 16).CopyTo(domain.AsSpan(4, 16));
        first.CopyTo(domain.AsSpan(last, 16));

        Assert.Throws<InvalidDataException>(() => VersionColumns.Decode("v", parts));
        Assert.Throws<InvalidDataException>(() => VersionColumns.Decode("v", parts.Where(p => p.Part != VersionColumns.ColumnPart(IdentifierType.Name, 0))));
    }

    [Fact]
    public void AColumnWhoseChunksAreEachSortedButNotInOrderAcrossTheirBoundaryOrThatNamesAMissingRecordIsRefused()
    {
        // Two chunks of domain tokens; chunks are checked one at a time as they are read, so the boundary must be too.
        var records = VersionColumns.ChunkTokens + 10;
        var data = PopulationData.Materialize("v", [[.. Enumerable.Range(0, records).Select(i =>
            new EscrowRecord($"r{i:D6}", [new RecordToken(IdentifierType.Domain, new Token((ulong)i * 0x9E3779B97F4A7C15UL, (ulong)i))], []))]]);
        var parts = VersionColumns.Encode(data).Where(p => !VersionColumns.IsBlockPart(p.Part)).ToList();
        var first = parts.FindIndex(p => p.Part == VersionColumns.ColumnPart(IdentifierType.Domain, 0));
        var second = parts.FindIndex(p => p.Part == VersionColumns.ColumnPart(IdentifierType.Domain, 1));
        Assert.Equal(records, VersionColumns.Decode("v", parts).RecordCount);

        // The last token of the first chunk swapped with the first of the second: each chunk still sorted on its own.
        var swapped = parts.ToList();
        var (a, b) = (parts[first].Plaintext.ToArray(), parts[second].Plaintext.ToArray());
        var lastOfFirst = 4 + (VersionColumns.ChunkTokens - 1) * Token.Size;
        var token = a.AsSpan(lastOfFirst, Token.Size).ToArray();
        b.AsSpan(4, Token.Size).CopyTo(a.AsSpan(lastOfFirst, Token.Size));
        token.CopyTo(b.AsSpan(4, Token.Size));
        (swapped[first], swapped[second]) = ((parts[first].Part, a), (parts[second].Part, b));
        var unsorted = Assert.Throws<InvalidDataException>(() => VersionColumns.Decode("v", swapped));
        Assert.Contains("not sorted", unsorted.Message);

        // An ordinal in the second chunk naming a record the version does not have.
        var outside = parts.ToList();
        var c = parts[second].Plaintext.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(c.AsSpan(4 + 10 * Token.Size + 3 * sizeof(int)), records);
        outside[second] = (parts[second].Part, c);
        var missing = Assert.Throws<InvalidDataException>(() => VersionColumns.Decode("v", outside));
        Assert.Contains("outside the version", missing.Message);
    }

    [Fact]
    public void AnEmptyVersionRoundTrips()
    {
        var stored = RoundTrip(PopulationData.Materialize("v", []));

        Assert.Equal(0, stored.RecordCount);
        Assert.Equal(0, stored.BlockCount);
        Assert.Equal(0, OverlapEngine.Compute(stored, RoundTrip(PopulationData.Materialize("t", [Population("t", 10, 7)]))).Count);
    }

    [Fact]
    public void AVersionOfColumnsOnlyCostsAFractionOfOneWithItsRecords()
    {
        var data = PopulationData.Materialize("v", [Population("p", 5_000, 8)]);

        Assert.True(RoundTrip(data).EstimatedBytes * 3 < data.EstimatedBytes, $"{RoundTrip(data).EstimatedBytes} vs {data.EstimatedBytes}");
    }
}
