using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Records;
using OverlapEscrow.Domain.Tokens;
using static OverlapEscrow.Domain.Tests.TestRecords;

namespace OverlapEscrow.Domain.Tests;

/// <summary>Match confidence (docs/hashing.md, "Server match rules"): exact, strong and possible matches, and the default view.</summary>
public class MatchConfidenceTests
{
    private static RecordToken L(ulong n) => new(IdentifierType.DomainLabel, new Token(0xB0, n));
    private static RecordToken O(ulong n) => new(IdentifierType.NameOnly, new Token(0xC0, n));
    private static RecordToken G(ulong n) => new(IdentifierType.NameGeneric, new Token(0xE0, n));
    private static RecordToken S(ulong n) => new(IdentifierType.NameSkeleton, new Token(0xF0, n));
    private static RecordToken T(ulong n) => new(IdentifierType.NameTypo, new Token(0xF8, n));

    private static MatchConfidence? ConfidenceOf(OverlapResult result, PopulationData mine, PopulationData theirs, string me, string them)
    {
        var i = IndexOf(result, mine, me);
        if (i < 0) return null;
        var ordinal = theirs.OrdinalOf(them);
        for (var p = result.PairStart[i]; p < result.PairStart[i + 1]; p++)
            if (result.TheirOrdinals[p] == ordinal) return result.Confidences[p];
        return null;
    }

    [Fact]
    public void ASharedDomainIsAnExactMatch()
    {
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)));
        var theirs = Pop(Rec("t1", D(1), L(1)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Exact, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchConfidence.Exact, result.BestConfidence(0));
    }

    [Fact]
    public void ADistinctiveNameWithItsCountryIsAStrongMatch()
    {
        var mine = Pop(Rec("m1", N(5), O(5)));
        var theirs = Pop(Rec("t1", D(2), L(2), N(5), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void AGenericNameAloneIsAPossibleMatchThatTheDefaultViewLeavesOut()
    {
        var mine = Pop(Rec("m1", G(5), O(5)));
        var theirs = Pop(Rec("t1", G(5), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        var all = OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible);
        Assert.Equal(1, all.Count);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.NameGeneric, KindWith(all, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void AGenericNameCorroboratedByADomainLabelIsAStrongMatch()
    {
        // Summit Consulting on summitconsulting.com and on summitconsulting.co.uk: rule (c).
        var mine = Pop(Rec("m1", D(1), L(9), G(5), O(5)));
        var theirs = Pop(Rec("t1", D(2), L(9), G(6), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.DomainLabel | MatchKinds.NameOnly, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void AGenericNameOfRecordsWhoseDomainsContradictIsNoMatchEvenOnRequest()
    {
        var mine = Pop(Rec("m1", D(1), L(1), G(5), O(5)));
        var theirs = Pop(Rec("t1", D(2), L(2), G(5), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible).Count);
    }

    [Fact]
    public void ADistinctiveNameWhoseDomainsContradictIsOnlyAPossibleMatch()
    {
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)));
        var theirs = Pop(Rec("t1", D(2), L(2), N(5), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        var all = OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void ADistinctiveNameWithoutAKnownCountryMatchesTheNameInAnyCountryStrongly()
    {
        // m1 has name-only tokens and no name token: a spec v2 record whose country is unknown.
        var mine = Pop(Rec("m1", O(5)));
        var theirs = Pop(Rec("t1", N(7), O(5)), Rec("t2", D(2), L(2), N(8), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t2"));
        Assert.Equal(MatchKinds.NameOnly, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void ANameOnlyMatchBetweenTwoKnownCountriesIsPossible()
    {
        var mine = Pop(Rec("m1", N(6), O(5)));
        var theirs = Pop(Rec("t1", N(7), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible), mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void ANameAcrossCountriesIsStrongWhenTheRecordWithoutADomainNamesTheOtherOnesDomainLabel()
    {
        // Kickstarter on kickstarter.com in Germany; Kickstarter in the United States without a domain, whose client
        // sends its name key as a label ("kickstarter"): rule (c). Dashlane without a domain against a Dashlane record
        // on brandfolder.com shares no label: still only possible.
        var mine = Pop(Rec("m1", D(1), L(1), N(10), O(5)), Rec("m2", L(6), N(11), O(6)));
        var theirs = Pop(Rec("t1", L(1), N(20), O(5)), Rec("t2", D(2), L(2), N(21), O(6)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.DomainLabel | MatchKinds.NameOnly, KindWith(result, mine, theirs, "m1", "t1"));
        Assert.Null(ConfidenceOf(result, mine, theirs, "m2", "t2"));
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible), mine, theirs, "m2", "t2"));
    }

    [Fact]
    public void TwoRecordsWithoutDomainsSharingANameAndALabelAcrossCountriesAreOnlyAPossibleMatch()
    {
        // Pantheon in the United States and Pantheon Limited in Japan, neither with a domain: each label is only the
        // name again (or one e-mail domain), which says no more than the name.
        var mine = Pop(Rec("m1", L(5), N(10), O(5)));
        var theirs = Pop(Rec("t1", L(5), N(20), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible), mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void APartnerRecordWithoutADomainWhoseNameMeetsTwoOfMyCompaniesIsOnlyAPossibleMatchOfEither()
    {
        // Publons (publons.com) and Publons Corp. (publons-partners.de), both in Japan, are two companies on my side;
        // the partner's Publons in Japan has no domain and cannot be told between them.
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)), Rec("m2", D(2), L(2), N(5), O(5)), Rec("m3", D(3), L(3), N(7), O(7)));
        var theirs = Pop(Rec("t1", L(5), N(5), O(5)), Rec("t2", L(7), N(7), O(7)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Null(ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Null(ConfidenceOf(result, mine, theirs, "m2", "t1"));
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m3", "t2"));
        var all = OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m2", "t1"));
    }

    [Fact]
    public void MyRecordWithoutADomainWhoseNameMeetsTwoPartnerCompaniesIsOnlyAPossibleMatchOfEither()
    {
        // The same from the other side: the ambiguity is decided from either side's point of view alike.
        var mine = Pop(Rec("m1", L(5), N(5), O(5)));
        var theirs = Pop(Rec("t1", D(1), L(1), N(5), O(5)), Rec("t2", D(2), L(2), N(5), O(5)));
        Assert.Equal(0, OverlapEngine.Compute(mine, theirs).Count);
        var all = OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible);
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(all, mine, theirs, "m1", "t2"));
    }

    [Fact]
    public void ANameWithoutADomainThatMeetsTwoRecordsOfOneCompanyStaysStrong()
    {
        // acme.com and acme.de share the label "acme": one company, no ambiguity.
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)), Rec("m2", D(2), L(1), N(5), O(5)));
        var theirs = Pop(Rec("t1", L(5), N(5), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m2", "t1"));
    }

    [Fact]
    public void TheNameInTheRecordsOwnCountryWinsOverTheSameNameOnABrandDomainAbroad()
    {
        // The partner's Google Inc. in Germany without a domain meets my Google Inc. in Germany
        // (partnermarketinghub.withgoogle.com) by name and country, and my Google on google.com in the United States
        // by its name label (rule c): the match in its own country keeps its place, the other is only possible.
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)), Rec("m2", D(2), L(5), N(6), O(5)));
        var theirs = Pop(Rec("t1", L(5), N(5), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Null(ConfidenceOf(result, mine, theirs, "m2", "t1"));
        Assert.Equal(MatchConfidence.Possible, ConfidenceOf(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible), mine, theirs, "m2", "t1"));
    }

    [Fact]
    public void AmbiguityLeavesExactMatchesAlone()
    {
        // A record with a domain is never ambiguous, and an exact match is never demoted.
        var mine = Pop(Rec("m1", D(1), L(1), N(5), O(5)));
        var theirs = Pop(Rec("t1", D(1), L(1), N(5), O(5)), Rec("t2", D(2), L(2), N(5), O(5)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Exact, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Null(ConfidenceOf(result, mine, theirs, "m1", "t2"));
    }

    [Fact]
    public void ASharedSkeletonIsAStrongMatchUnlessTheDomainsContradict()
    {
        // "Mytilineos" and "Mytilinaios" in one country: different name tokens, one skeleton.
        var mine = Pop(Rec("m1", N(1), O(1), S(3)), Rec("m2", D(1), L(1), N(2), O(2), S(4)));
        var theirs = Pop(Rec("t1", N(5), O(5), S(3)), Rec("t2", D(2), L(2), N(6), O(6), S(4)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.NameSkeleton, KindWith(result, mine, theirs, "m1", "t1"));
        Assert.Null(ConfidenceOf(result, mine, theirs, "m2", "t2"));
    }

    [Fact]
    public void ASharedTypoKeyIsAStrongMatchUnlessTheDomainsContradict()
    {
        // "Qualys" and "Qualis" in one country: different name tokens, one shared deletion variant ("quals").
        var mine = Pop(Rec("m1", N(1), O(1), T(10), T(11)), Rec("m2", D(1), L(1), N(2), O(2), T(20), T(21)), Rec("m3", D(3), L(3), N(3), O(3), T(30)));
        var theirs = Pop(Rec("t1", N(5), O(5), T(11), T(12)), Rec("t2", D(2), L(2), N(6), O(6), T(21)), Rec("t3", N(7), O(7), T(30)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.NameTypo, KindWith(result, mine, theirs, "m1", "t1"));
        // Both carry websites and share no label: different companies whose names are one typo apart.
        Assert.Null(ConfidenceOf(result, mine, theirs, "m2", "t2"));
        Assert.Null(ConfidenceOf(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible), mine, theirs, "m2", "t2"));
        // One side without a website does not contradict.
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m3", "t3"));
    }

    [Fact]
    public void EqualNamesReportTheirNameAndNotTheTypoKeysTheyAlsoShare()
    {
        var mine = Pop(Rec("m1", N(1), O(1), T(10), T(11)));
        var theirs = Pop(Rec("t1", N(1), O(1), T(10), T(11)));
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(MatchConfidence.Strong, ConfidenceOf(result, mine, theirs, "m1", "t1"));
        Assert.Equal(MatchKinds.Name, KindWith(result, mine, theirs, "m1", "t1"));
    }

    [Fact]
    public void PossibleMatchesNeverTakeAPlaceOfTheDefaultView()
    {
        // 60 partner records share my generic name (possible), one shares my distinctive trading name (strong):
        // the default view keeps the strong one and is not truncated by the possible ones.
        var mine = Pop(Rec("m1", G(5), N(9), O(5), O(9)));
        var theirs = Pop([.. Enumerable.Range(0, 60).Select(i => Rec($"t{i:D3}", G(5), O(5))), Rec("z", N(9), O(9))]);
        var result = OverlapEngine.Compute(mine, theirs);
        Assert.Equal(["z"], PartnersOf(result, mine, theirs, "m1"));
        Assert.False(result.Truncated[0]);
        // On request the possible ones count too, and the cap (the first 50 by partner record id) applies to them all.
        Assert.True(OverlapEngine.Compute(mine, theirs, MatchView.IncludePossible).Truncated[0]);
    }

    [Fact]
    public void TheNewIdentifierTypesHaveWireNamesAndParse()
    {
        foreach (var type in IdentifierTypes.All)
        {
            Assert.True(IdentifierTypes.TryParse(type.WireName(), out var parsed));
            Assert.Equal(type, parsed);
        }
        Assert.Equal("name_generic", IdentifierType.NameGeneric.WireName());
        Assert.Equal("name_skeleton", IdentifierType.NameSkeleton.WireName());
        Assert.Equal("name_typo", IdentifierType.NameTypo.WireName());
        Assert.Equal(7, IdentifierTypes.All.Count);
    }
}
