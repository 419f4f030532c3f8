using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;
using static OverlapEscrow.Domain.Tests.TestRecords;

namespace OverlapEscrow.Domain.Tests;

public class OverlapEngineTests
{
    [Fact]
    public void RecordsSharingADomainOverlap()
    {
        var mine = Pop(Rec("m1", D(1)), Rec("m2", D(2)));
        var theirs = Pop(Rec("t1", D(3)), Rec("t2", D(1)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["m1"], MyOverlappingIds(result, mine));
        Assert.Equal(["t2"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m1", "t2"));
        Assert.Equal(1, result.Count);
    }

    [Fact]
    public void RecordsSharingNoTokenDoNotOverlap()
    {
        var mine = Pop(Rec("m1", D(1), N(1)));
        var theirs = Pop(Rec("t1", D(2), N(2)), Rec("t2", N(3)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(0, result.Count);
        Assert.Empty(result.TheirOrdinals);
    }

    [Fact]
    public void EqualTokenValuesOfDifferentTypesDoNotMatch()
    {
        var value = new Token(42, 42);
        var mine = Pop(new EscrowRecord("m1", [new RecordToken(IdentifierType.Domain, value)], []));
        var theirs = Pop(new EscrowRecord("t1", [new RecordToken(IdentifierType.Name, value)], []));

        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        Assert.Equal(0, OverlapEngine.Compute(theirs, mine).Count);
    }

    [Fact]
    public void NameMatchIsAcceptedWhenMyRecordHasNoDomain()
    {
        var mine = Pop(Rec("m1", N(1)));
        var theirs = Pop(Rec("t1", D(5), N(1)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void NameMatchIsAcceptedWhenTheirRecordHasNoDomain()
    {
        var mine = Pop(Rec("m1", D(5), N(1)));
        var theirs = Pop(Rec("t1", N(1)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void NameMatchIsAcceptedWhenNeitherRecordHasADomain()
    {
        var mine = Pop(Rec("m1", N(1)));
        var theirs = Pop(Rec("t1", N(1)));

        Assert.Equal(MatchKinds.Name, KindWith(OverlapEngine.Compute(mine, theirs), mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void NameMatchIsDroppedWhenBothRecordsHaveDifferentDomains()
    {
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop(Rec("t1", D(2), N(7)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(0, result.Count);
        Assert.Empty(result.TheirOrdinals);
        Assert.Equal(0, OverlapEngine.Compute(theirs, mine).Count);
    }

    [Fact]
    public void NameMatchIsDroppedForOnePartnerButKeptForAnotherWithoutDomain()
    {
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop(Rec("t1", D(2), N(7)), Rec("t2", N(7)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t2"], PartnersOf(result, mine, theirs, "m1"));
    }

    [Fact]
    public void APairMatchingOnDomainAndNameReportsBothKinds()
    {
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop(Rec("t1", D(1), N(7)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.Domain | MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void ASharedDomainAmongSeveralKeepsANameMatchOfThatPair()
    {
        // Both carry domains, one of which is shared: the name match is corroborated and stays.
        var mine = Pop(Rec("m1", D(1), D(2), N(7)));
        var theirs = Pop(Rec("t1", D(2), D(3), N(7)));

        Assert.Equal(MatchKinds.Domain | MatchKinds.Name, KindWith(OverlapEngine.Compute(mine, theirs), mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void ADomainMatchSaysTheNamesAgreeForExactlyThePairsWhoseRecordsShareAName()
    {
        // Single domains and no domain labels: the name join never takes these pairs (their domains "contradict"), so
        // whether the names agree is looked up per pair. Records with several names, records in several pairs, a record
        // without names, and a name carried by more than TooCommon partner records (skipped by the name join).
        var commonName = N(50);
        var mine = Pop(Rec("m1", D(1), N(1), N(2)), Rec("m2", D(2), N(3)), Rec("m3", D(3)), Rec("m4", D(1), N(9)), Rec("m5", D(4), commonName));
        var theirs = Pop([
            Rec("t1", D(1), N(5), N(2)), Rec("t2", D(1), N(4)), Rec("t3", D(2), N(1), N(3)), Rec("t4", D(3), N(3)), Rec("t5", D(2)),
            Rec("t6", D(4), N(7), commonName),
            .. Enumerable.Range(0, OverlapEngine.TooCommon + 1).Select(i => Rec($"u{i:D5}", D(1000 + (ulong)i), commonName)),
        ]);

        var result = OverlapEngine.Compute(mine, theirs);

        var both = MatchKinds.Domain | MatchKinds.Name;
        Assert.Equal(both, KindWith(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m1", "t2"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m4", "t1"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m4", "t2"));
        Assert.Equal(both, KindWith(result, mine, theirs, "m2", "t3"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m2", "t5"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m3", "t4"));
        Assert.Equal(both, KindWith(result, mine, theirs, "m5", "t6"));
        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], MyOverlappingIds(result, mine));
    }

    [Fact]
    public void APartnerMatchedByTwoTokensOfOneTypeIsListedOnce()
    {
        var mine = Pop(Rec("m1", D(1), D(2)));
        var theirs = Pop(Rec("t1", D(1), D(2)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([MatchKinds.Domain], result.Kinds);
    }

    [Fact]
    public void OneOfMyRecordsMatchingThreeOfTheirsCountsOnce()
    {
        var mine = Pop(Rec("m1", D(1)), Rec("m2", D(9)));
        var theirs = Pop(Rec("t1", D(1)), Rec("t2", D(1)), Rec("t3", D(1)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(1, result.Count);
        Assert.Equal(["t1", "t2", "t3"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([0, 3], result.PairStart);
    }

    [Fact]
    public void TwoOfMyRecordsMatchingOneOfTheirsCountTwice()
    {
        var mine = Pop(Rec("m1", D(1)), Rec("m2", N(4)), Rec("m3", D(8)));
        var theirs = Pop(Rec("t1", D(1), N(4)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(2, result.Count);
        Assert.Equal(["m1", "m2"], MyOverlappingIds(result, mine));
        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m2"));
        Assert.Equal(MatchKinds.Domain, KindWith(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m2", "t1"));
    }

    [Fact]
    public void OverlapsAreOrderedByMyRecordIdThenByTheirs()
    {
        // Token order is the reverse of record id order, so the result must be re-sorted by ordinal.
        var mine = Pop(Rec("a", D(30)), Rec("b", D(20)), Rec("c", D(10)), Rec("d", D(99)));
        var theirs = Pop(Rec("x", D(10), D(30)), Rec("y", D(20), D(30)), Rec("w", D(30)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal([0, 1, 2], result.MyOrdinals);
        Assert.Equal(["w", "x", "y"], PartnersOf(result, mine, theirs, "a"));
        Assert.Equal(["y"], PartnersOf(result, mine, theirs, "b"));
        Assert.Equal(["x"], PartnersOf(result, mine, theirs, "c"));
        Assert.Equal([0, 3, 4, 5], result.PairStart);
        Assert.Equal([false, false, false], result.Truncated);
    }

    [Fact]
    public void ResultIsSeenFromMySide()
    {
        var mine = Pop(Rec("m1", D(1)), Rec("m2", D(1)));
        var theirs = Pop(Rec("t1", D(1)));

        Assert.Equal(2, OverlapEngine.Compute(mine, theirs).Count);
        Assert.Equal(1, OverlapEngine.Compute(theirs, mine).Count);
    }

    [Fact]
    public void ExactlyFiftyPartnerRecordsAreAllKeptWithoutTruncation()
    {
        var mine = Pop(Rec("m1", D(1)));
        var theirs = Pop([.. Enumerable.Range(0, 50).Select(i => Rec($"t{i:D3}", D(1)))]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(50, PartnersOf(result, mine, theirs, "m1").Length);
        Assert.Equal([false], result.Truncated);
    }

    [Theory]
    [InlineData(51)]
    [InlineData(200)]
    public void MoreThanFiftyPartnersOnOneDomainAreCutAtFiftyAndFlagged(int partners)
    {
        var mine = Pop(Rec("m0", D(2)), Rec("m1", D(1)));
        var theirs = Pop([.. Enumerable.Range(0, partners).Select(i => Rec($"t{i:D3}", D(1))), Rec("u", D(2))]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(2, result.Count);
        Assert.Equal(50, PartnersOf(result, mine, theirs, "m1").Length);
        Assert.Equal(50, PartnersOf(result, mine, theirs, "m1").Distinct().Count());
        Assert.All(PartnersOf(result, mine, theirs, "m1"), id => Assert.StartsWith("t", id));
        Assert.False(result.Truncated[IndexOf(result, mine, "m0")]);
        Assert.True(result.Truncated[IndexOf(result, mine, "m1")]);
    }

    [Fact]
    public void MoreThanFiftyPartnersThroughDistinctTokensAreCutAtFiftyAndFlagged()
    {
        var mine = Pop(new EscrowRecord("m1", [.. Enumerable.Range(0, 60).Select(i => D((ulong)i))], []));
        var theirs = Pop([.. Enumerable.Range(0, 60).Select(i => Rec($"t{i:D3}", D((ulong)i)))]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(1, result.Count);
        // Partners are kept in their ordinal order, so the first fifty are the ones kept.
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"t{i:D3}"), PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([true], result.Truncated);
    }

    [Fact]
    public void NameMatchesDroppedByTheDomainRuleDoNotCountTowardsTheCap()
    {
        // 60 of their records share my name but carry other domains (dropped by the rule), 3 match by domain.
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop([
            .. Enumerable.Range(0, 60).Select(i => Rec($"a{i:D3}", D(1000 + (ulong)i), N(7))),
            Rec("b1", D(1)), Rec("b2", D(1)), Rec("b3", D(1)),
        ]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["b1", "b2", "b3"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([false], result.Truncated);
    }

    [Fact]
    public void ANameMatchWithoutDomainIsFoundAmongManySameNameRecordsWithOtherDomains()
    {
        // My record has a domain and a name. Of their records with that name, 51 carry other domains (their name
        // matches are dropped by the rule) and one, "z", carries no domain: a valid name match, far under the cap.
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop([
            .. Enumerable.Range(0, OverlapEngine.MaxPartnersPerRecord + 1).Select(i => Rec($"a{i:D3}", D(1000 + (ulong)i), N(7))),
            Rec("z", N(7)),
        ]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["z"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([false], result.Truncated);
    }

    [Fact]
    public void ANameMatchWithoutDomainIsFoundNextToFiftySameNameRecordsWithOtherDomains()
    {
        // The same scenario just under the per-token bound: 50 dropped name matches and one valid one.
        var mine = Pop(Rec("m1", D(1), N(7)));
        var theirs = Pop([
            .. Enumerable.Range(0, OverlapEngine.MaxPartnersPerRecord).Select(i => Rec($"a{i:D3}", D(1000 + (ulong)i), N(7))),
            Rec("z", N(7)),
        ]);

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["z"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([false], result.Truncated);
    }

    [Fact]
    public void EmptyPopulationsHaveNoOverlap()
    {
        var some = Pop(Rec("r1", D(1), N(1)));
        var empty = PopulationData.Empty("v0");

        foreach (var (mine, theirs) in new[] { (empty, empty), (empty, some), (some, empty) })
        {
            var result = OverlapEngine.Compute(mine, theirs);
            Assert.Equal(0, result.Count);
            Assert.Empty(result.MyOrdinals);
            Assert.Empty(result.TheirOrdinals);
            Assert.Empty(result.Kinds);
            Assert.Empty(result.Truncated);
            Assert.Equal([0], result.PairStart);
            Assert.Equal(0, result.FirstAtOrAfter(0));
        }
    }

    [Fact]
    public void FirstAtOrAfterFindsTheFirstOverlappingRecordAtOrAfterAnOrdinal()
    {
        // Mine: a b c d e f; b, d and f overlap (ordinals 1, 3, 5).
        var mine = Pop(Rec("a"), Rec("b", D(1)), Rec("c"), Rec("d", D(2)), Rec("e"), Rec("f", D(3)));
        var theirs = Pop(Rec("t", D(1), D(2), D(3)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal([1, 3, 5], result.MyOrdinals);
        Assert.Equal(0, result.FirstAtOrAfter(0));
        Assert.Equal(0, result.FirstAtOrAfter(1));
        Assert.Equal(1, result.FirstAtOrAfter(2));
        Assert.Equal(1, result.FirstAtOrAfter(3));
        Assert.Equal(2, result.FirstAtOrAfter(4));
        Assert.Equal(2, result.FirstAtOrAfter(5));
        Assert.Equal(3, result.FirstAtOrAfter(6));
        Assert.Equal(3, result.FirstAtOrAfter(1000));
    }

    [Fact]
    public void TokensFromAKeyerMatchAcrossTwoUploads()
    {
        var key = new byte[32];
        key[0] = 7;
        var hash = System.Security.Cryptography.SHA256.HashData("acme.example"u8);
        RecordToken Domain(TokenKeyer keyer) => new(IdentifierType.Domain, keyer.Rekey(IdentifierType.Domain, hash));
        RecordToken Name(TokenKeyer keyer) => new(IdentifierType.Name, keyer.Rekey(IdentifierType.Name, hash));

        using var upload1 = new TokenKeyer(key);
        using var upload2 = new TokenKeyer(key);
        var mine = Pop(Rec("m1", Domain(upload1)));
        var theirs = Pop(Rec("t1", Domain(upload2)), Rec("t2", Name(upload2)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
    }

    [Fact]
    public void WhenMorePartnersShareATokenThanAreKeptTheFirstFiftyByRecordIdAreKept()
    {
        // Inserted in reverse so that any order but record-id order would show.
        var partners = Enumerable.Range(0, 60).Reverse().Select(i => Rec($"t{i:D3}", D(1))).ToArray();
        var mine = Pop(Rec("m1", D(1)));
        var theirs = Pop(partners);
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"t{i:D3}"), PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal([true], result.Truncated);
    }

    private static RecordToken L(ulong n) => new(IdentifierType.DomainLabel, new Token(0xB0, n));
    private static RecordToken O(ulong n) => new(IdentifierType.NameOnly, new Token(0xC0, n));

    [Fact]
    public void ANameMatchBetweenDifferentDomainsStandsWhenTheDomainLabelsAgree()
    {
        // uniqlo.com and uniqlo.com.br: different domains, one brand label, one name and country.
        var mine = Pop(Rec("m1", D(1), L(7), N(3)));
        var theirs = Pop(Rec("t1", D(2), L(7), N(3)), Rec("t2", D(4), L(8), N(3)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void TheSameNameOnTheSameBrandMatchesAcrossCountries()
    {
        // rescuetime.com billed in India, rescuetime.co.uk billed in the US: name+country tokens differ.
        var mine = Pop(Rec("m1", D(1), L(7), N(3), O(30)));
        var theirs = Pop(Rec("t1", D(2), L(7), N(4), O(30)), Rec("t2", D(5), L(9), N(6), O(30)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(["t1"], PartnersOf(result, mine, theirs, "m1"));
        Assert.Equal(MatchKinds.NameOnly | MatchKinds.DomainLabel, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void DomainLabelsNeverMatchAloneAndNameOnlyTokensOnlyWhereACountryIsUnknown()
    {
        // Spec v2: a record with name-only tokens and no name token is one whose country is unknown (m4, t4); two
        // records with known countries (N(40), N(41)) do not match on the bare name by default.
        var mine = Pop(Rec("m1", L(7)), Rec("m2", N(40), O(30)), Rec("m3", D(1), L(8), O(31)), Rec("m4", D(3), L(10), O(32)));
        var theirs = Pop(Rec("t1", L(7)), Rec("t2", N(41), O(30)), Rec("t3", D(2), L(9), O(31)), Rec("t4", D(4), L(11), O(32)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
    }

    [Fact]
    public void ANameCarriedByMoreThanAThousandPartnerRecordsIdentifiesNobody()
    {
        var mine = Pop(Rec("m1", N(3)));
        var common = Pop(Enumerable.Range(0, OverlapEngine.TooCommon + 1).Select(i => Rec($"t{i:D5}", N(3))).ToArray());
        Assert.Equal(0, OverlapEngine.Compute(mine, common).Count);
        var rare = Pop(Enumerable.Range(0, OverlapEngine.TooCommon).Select(i => Rec($"t{i:D5}", N(3))).ToArray());
        Assert.Equal(1, OverlapEngine.Compute(mine, rare).Count);
    }

    [Fact]
    public void TokensWhoseHighHalvesTieMatchOnlyWhenTheirLowHalvesDoToo()
    {
        // The merge compares high halves first: ties on them must still be settled by the low halves, either way round.
        RecordToken T(ulong high, ulong low) => new(IdentifierType.Domain, new Token(high, low));
        var mine = Pop(Rec("m1", T(5, 1)), Rec("m2", T(5, 3)), Rec("m3", T(6, 8)), Rec("m4", T(7, 0)));
        var theirs = Pop(Rec("t1", T(5, 2)), Rec("t2", T(5, 3)), Rec("t3", T(6, 9)), Rec("t4", T(7, 0)), Rec("t5", T(7, 1)));

        var result = OverlapEngine.Compute(mine, theirs);

        Assert.Equal(["m2", "m4"], MyOverlappingIds(result, mine));
        Assert.Equal(["t2"], PartnersOf(result, mine, theirs, "m2"));
        Assert.Equal(["t4"], PartnersOf(result, mine, theirs, "m4"));
    }

    [Fact]
    public void LargePopulationsMatchEachSharedRecordToItsOwnPartnerOnEveryTypeTheyShare()
    {
        // Above the sizes from which the joins run in parallel and the pairs are radix-sorted on two 16-bit digits.
        const int records = 70_000, shared = 20_000;
        static ulong Mix(ulong x) => (x + 1) * 0x9E3779B97F4A7C15UL;
        RecordToken Domain(int key) => new(IdentifierType.Domain, new Token(Mix((ulong)key), (ulong)key));
        RecordToken Name(int key) => new(IdentifierType.Name, new Token(Mix((ulong)key + records), (ulong)key));
        var mine = Pop([.. Enumerable.Range(0, records).Select(i => Rec($"m{i:D6}", Domain(i), Name(i)))]);
        // Their record j < shared carries the tokens of my record (j * 7919) mod records (7919 is prime to 70,000: distinct).
        var theirs = Pop([.. Enumerable.Range(0, records).Select(j => j < shared
            ? Rec($"t{j:D6}", Domain(j * 7919 % records), Name(j * 7919 % records))
            : Rec($"t{j:D6}", Domain(records + j), Name(records + j)))]);

        var result = OverlapEngine.Compute(mine, theirs);

        var expected = Enumerable.Range(0, shared).Select(j => (Mine: j * 7919 % records, Theirs: j)).OrderBy(p => p.Mine).ToArray();
        Assert.Equal(expected.Select(p => p.Mine), result.MyOrdinals);
        Assert.Equal(expected.Select(p => p.Theirs), result.TheirOrdinals);
        Assert.Equal(Enumerable.Range(0, shared + 1), result.PairStart);
        Assert.All(result.Kinds, k => Assert.Equal(MatchKinds.Domain | MatchKinds.Name, k));
        Assert.Equal(shared, result.PartnerCount);
    }
}
