using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;

namespace OverlapEscrow.Domain.Tests;

/// <summary>Small builders so tests read as the scenario they describe.</summary>
internal static class TestRecords
{
    // Domain and name tokens are drawn from disjoint High ranges so a test never gets an accidental match.
    public static RecordToken D(ulong n) => new(IdentifierType.Domain, new Token(0xD0, n));
    public static RecordToken N(ulong n) => new(IdentifierType.Name, new Token(0xAA, n));

    public static EscrowRecord Rec(string id, params RecordToken[] tokens) => new(id, tokens, []);

    public static PopulationData Pop(params EscrowRecord[] records) =>
        PopulationData.Materialize("v1", [records]);

    /// <summary>Record ids of theirs that my record (by id) overlaps, in their ordinal order.</summary>
    public static string[] PartnersOf(OverlapResult result, PopulationData mine, PopulationData theirs, string myRecordId)
    {
        var i = IndexOf(result, mine, myRecordId);
        if (i < 0) return [];
        return [.. result.TheirOrdinals[result.PairStart[i]..result.PairStart[i + 1]].Select(o => theirs.Records[o].RecordId)];
    }

    public static MatchKinds KindWith(OverlapResult result, PopulationData mine, PopulationData theirs, string myRecordId, string theirRecordId)
    {
        var i = IndexOf(result, mine, myRecordId);
        Assert.True(i >= 0, $"{myRecordId} does not overlap");
        var theirOrdinal = theirs.OrdinalOf(theirRecordId);
        for (var p = result.PairStart[i]; p < result.PairStart[i + 1]; p++)
            if (result.TheirOrdinals[p] == theirOrdinal) return result.Kinds[p];
        return MatchKinds.None;
    }

    public static string[] MyOverlappingIds(OverlapResult result, PopulationData mine) =>
        [.. result.MyOrdinals.Select(o => mine.Records[o].RecordId)];

    public static int IndexOf(OverlapResult result, PopulationData mine, string myRecordId)
    {
        var ordinal = mine.OrdinalOf(myRecordId);
        Assert.True(ordinal >= 0, $"{myRecordId} is not in my population");
        return Array.IndexOf(result.MyOrdinals, ordinal);
    }
}
