using System.Buffers;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

public class RecordCodecTests
{
    private static byte[] Encode(params EscrowRecord[] records)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var r in records) RecordCodec.Write(output, r);
        return output.WrittenSpan.ToArray();
    }

    private static void AssertSameRecord(EscrowRecord expected, EscrowRecord actual)
    {
        // EscrowRecord holds arrays, so record equality would compare references; compare the contents.
        Assert.Equal(expected.RecordId, actual.RecordId);
        Assert.Equal(expected.Deleted, actual.Deleted);
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Attributes, actual.Attributes);
    }

    [Fact]
    public void RecordsWithUnicodeIdsAndAttributesRoundTrip()
    {
        var records = new[]
        {
            new EscrowRecord("acct-ü-日本-😀",
                [new RecordToken(IdentifierType.Domain, new Token(0x0123456789ABCDEF, 0xFEDCBA9876543210)),
                 new RecordToken(IdentifierType.Name, new Token(ulong.MaxValue, 1))],
                [new RecordAttribute("name", "Müller & Söhne GmbH"), new RecordAttribute("owner", "Zoë 🦊"), new RecordAttribute("", "")]),
            new EscrowRecord("", [], [new RecordAttribute("stage", "Ünïcødé")]),
        };

        var decoded = RecordCodec.ReadAll(Encode(records), 2);

        Assert.Equal(2, decoded.Count);
        AssertSameRecord(records[0], decoded[0]);
        AssertSameRecord(records[1], decoded[1]);
    }

    [Fact]
    public void ZeroTokensRoundTrip()
    {
        var record = new EscrowRecord("zero",
            [new RecordToken(IdentifierType.Domain, new Token(0, 0)), new RecordToken(IdentifierType.Name, new Token(0, 0))],
            []);

        var decoded = RecordCodec.ReadAll(Encode(record), 1);

        AssertSameRecord(record, Assert.Single(decoded));
    }

    [Fact]
    public void DeletionsRoundTripAsDeletions()
    {
        var records = new[] { EscrowRecord.Deletion("gone-1"), new EscrowRecord("kept", [TestRecords.D(1)], []), EscrowRecord.Deletion("gone-2") };

        var decoded = RecordCodec.ReadAll(Encode(records), 3);

        Assert.Equal([true, false, true], decoded.Select(r => r.Deleted));
        for (var i = 0; i < records.Length; i++) AssertSameRecord(records[i], decoded[i]);
    }

    [Fact]
    public void RecordsWithManyTokensAndAttributesRoundTrip()
    {
        // 200 entries need a two-byte length prefix, and the 300-character value needs one for its string too.
        var tokens = Enumerable.Range(0, 200)
            .Select(i => new RecordToken(i % 2 == 0 ? IdentifierType.Domain : IdentifierType.Name, new Token((ulong)i << 40, ~(ulong)i)))
            .ToArray();
        var attributes = Enumerable.Range(0, 200)
            .Select(i => new RecordAttribute($"field-{i}", i == 7 ? new string('é', 300) : $"value {i} ✓"))
            .ToArray();
        var record = new EscrowRecord("many", tokens, attributes);

        var decoded = RecordCodec.ReadAll(Encode(record, EscrowRecord.Deletion("after")), 2);

        AssertSameRecord(record, decoded[0]);
        AssertSameRecord(EscrowRecord.Deletion("after"), decoded[1]);
    }

    [Fact]
    public void EachRecordsEncodedLengthIsExactlyTheBytesItWasWrittenAs()
    {
        var tokens = Enumerable.Range(0, 200).Select(i => new RecordToken(IdentifierType.Domain, new Token((ulong)i, ~(ulong)i))).ToArray();
        EscrowRecord[] records =
        [
            new("first", tokens, [new RecordAttribute("note", new string('é', 300))]),
            EscrowRecord.Deletion("gone"),
            new("ü-id", [], []),
        ];
        var lengths = records.Select(r => Encode(r).Length).ToArray();
        var data = Encode(records);

        var pos = 0;
        foreach (var expected in lengths)
        {
            Assert.Equal(expected, RecordCodec.EncodedLength(data.AsSpan(pos)));
            pos += expected;
        }
        Assert.Equal(data.Length, pos);
        // A record cut short is not measured past its data.
        Assert.ThrowsAny<Exception>(() => RecordCodec.EncodedLength(data.AsSpan(0, lengths[0] - 1)));
    }

    [Fact]
    public void EncodingFollowsTheDocumentedLayout()
    {
        var record = new EscrowRecord("é",
            [new RecordToken(IdentifierType.Name, new Token(0x0102030405060708, 0x090A0B0C0D0E0F10))],
            [new RecordAttribute("a", "bc")]);

        byte[] expected =
        [
            0x00,                   // flags: not deleted
            0x02, 0xC3, 0xA9,       // id: 2 UTF-8 bytes of "é"
            0x01,                   // one token
            0x02,                   // type Name
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10,
            0x01,                   // one attribute
            0x01, (byte)'a',
            0x02, (byte)'b', (byte)'c',
        ];

        Assert.Equal(expected, Encode(record));
        Assert.Equal([0x01, 0x01, (byte)'x', 0x00, 0x00], Encode(EscrowRecord.Deletion("x")));
    }

    [Fact]
    public void AnEmptySegmentReadsAsNoRecords()
    {
        Assert.Empty(RecordCodec.ReadAll([], 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void ReadingFailsWhenTheRecordCountDiffersFromTheExpectedOne(int expectedCount)
    {
        var data = Encode(TestRecords.Rec("a", TestRecords.D(1)), TestRecords.Rec("b"), EscrowRecord.Deletion("c"));

        Assert.Throws<InvalidDataException>(() => RecordCodec.ReadAll(data, expectedCount));
    }

    [Fact]
    public void ReadingAnEmptySegmentFailsWhenRecordsWereExpected()
    {
        Assert.Throws<InvalidDataException>(() => RecordCodec.ReadAll([], 1));
    }

    [Fact]
    public void AttributeLookupIsOrdinalAndReturnsNullWhenAbsent()
    {
        var record = new EscrowRecord("r", [], [new RecordAttribute("Name", "Acme"), new RecordAttribute("owner", "Ann")]);

        Assert.Equal("Acme", record.Attribute("Name"));
        Assert.Equal("Ann", record.Attribute("owner"));
        Assert.Null(record.Attribute("name"));
        Assert.Null(record.Attribute("stage"));
    }
}
