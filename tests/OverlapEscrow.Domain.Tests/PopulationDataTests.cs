using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using static OverlapEscrow.Domain.Tests.TestRecords;

namespace OverlapEscrow.Domain.Tests;

public class PopulationDataTests
{
    private static string[] Ids(PopulationData data) => [.. data.Records.Select(r => r.RecordId)];

    [Fact]
    public void ASnapshotAloneKeepsAllItsRecords()
    {
        var data = PopulationData.Materialize("v1", [[Rec("b"), Rec("a"), Rec("c")]]);

        Assert.Equal("v1", data.VersionId);
        Assert.Equal(["a", "b", "c"], Ids(data));
    }

    [Fact]
    public void ALaterLayerReplacesARecordWithTheSameId()
    {
        EscrowRecord[] snapshot = [Rec("a", D(1)), Rec("b", D(2))];
        EscrowRecord[] delta = [Rec("a", D(9), N(9))];

        var data = PopulationData.Materialize("v2", [snapshot, delta]);

        Assert.Equal(["a", "b"], Ids(data));
        Assert.Equal([D(9), N(9)], data.Records[0].Tokens);
        Assert.Equal([D(2)], data.Records[1].Tokens);
    }

    [Fact]
    public void TheLastOfSeveralLayersWins()
    {
        var data = PopulationData.Materialize("v3", [[Rec("a", D(1))], [Rec("a", D(2))], [Rec("a", D(3))]]);

        Assert.Equal([D(3)], Assert.Single(data.Records).Tokens);
    }

    [Fact]
    public void ADeletionRemovesTheRecord()
    {
        var data = PopulationData.Materialize("v2", [[Rec("a"), Rec("b"), Rec("c")], [EscrowRecord.Deletion("b")]]);

        Assert.Equal(["a", "c"], Ids(data));
    }

    [Fact]
    public void ADeletionOfAnUnknownIdIsIgnored()
    {
        var data = PopulationData.Materialize("v2", [[Rec("a")], [EscrowRecord.Deletion("zzz")]]);

        Assert.Equal(["a"], Ids(data));
    }

    [Fact]
    public void ARecordDeletedAndAddedAgainInALaterLayerIsPresent()
    {
        var data = PopulationData.Materialize("v3", [[Rec("a", D(1))], [EscrowRecord.Deletion("a")], [Rec("a", D(2))]]);

        Assert.Equal([D(2)], Assert.Single(data.Records).Tokens);
    }

    [Fact]
    public void ARecordAddedThenDeletedInALaterLayerIsAbsent()
    {
        var data = PopulationData.Materialize("v3", [[Rec("b")], [Rec("a")], [EscrowRecord.Deletion("a")]]);

        Assert.Equal(["b"], Ids(data));
    }

    [Fact]
    public void RecordsAreSortedByOrdinalIdNotByCulture()
    {
        // Ordinal (UTF-16 code unit) order: uppercase before lowercase, "a10" before "a2", "é" (U+00E9) after "z".
        var data = PopulationData.Materialize("v1", [[Rec("é"), Rec("a2"), Rec("b"), Rec("a10"), Rec("B"), Rec("z"), Rec("A")]]);

        Assert.Equal(["A", "B", "a10", "a2", "b", "z", "é"], Ids(data));
    }

    [Fact]
    public void IdsDifferingOnlyInCaseAreDistinctRecords()
    {
        var data = PopulationData.Materialize("v2", [[Rec("acct"), Rec("ACCT")], [EscrowRecord.Deletion("Acct")]]);

        Assert.Equal(["ACCT", "acct"], Ids(data));
    }

    [Fact]
    public void NoLayersGiveAnEmptyPopulation()
    {
        Assert.Empty(PopulationData.Materialize("v0", []).Records);
        Assert.Empty(PopulationData.Empty("v0").Records);
        Assert.True(PopulationData.Empty("v0").OrdinalOf("a") < 0);
    }

    [Fact]
    public void OrdinalOfFindsEveryRecordAtItsPosition()
    {
        var data = PopulationData.Materialize("v1", [[Rec("d"), Rec("b"), Rec("a"), Rec("e"), Rec("c")]]);

        Assert.Equal(0, data.OrdinalOf("a"));
        Assert.Equal(1, data.OrdinalOf("b"));
        Assert.Equal(2, data.OrdinalOf("c"));
        Assert.Equal(3, data.OrdinalOf("d"));
        Assert.Equal(4, data.OrdinalOf("e"));
    }

    [Theory]
    [InlineData("0", 0)]   // before the first
    [InlineData("bb", 2)]  // between "b" and "d"
    [InlineData("z", 4)]   // after the last
    [InlineData("B", 0)]   // case matters: "B" sorts before "a"
    public void OrdinalOfAnAbsentIdIsTheComplementOfItsInsertionPoint(string id, int insertionPoint)
    {
        var data = PopulationData.Materialize("v1", [[Rec("a"), Rec("b"), Rec("d"), Rec("e")]]);

        var ordinal = data.OrdinalOf(id);

        Assert.True(ordinal < 0);
        Assert.Equal(insertionPoint, ~ordinal);
    }

    [Fact]
    public void ADeletedRecordIsNotFoundByOrdinal()
    {
        var data = PopulationData.Materialize("v2", [[Rec("a"), Rec("b")], [EscrowRecord.Deletion("a")]]);

        Assert.True(data.OrdinalOf("a") < 0);
        Assert.Equal(0, data.OrdinalOf("b"));
    }
}
