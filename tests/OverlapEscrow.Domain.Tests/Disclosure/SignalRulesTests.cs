using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

/// <summary>DataRequestRules and AttributionEvidenceRule: asking and attributing never reach past what the partner shares.</summary>
public class SignalRulesTests
{
    [Fact]
    public void ARequestIsMadeOnlyOnACountsOnlyCellAndAHiddenPopulationAnswersLikeAMissingOne()
    {
        Assert.IsType<DataRequestRules.Decision.Allowed>(DataRequestRules.MayAsk(View(theirRules: [Default("t1", SharingLevel.Counts)]), "m1", "t1"));
        Assert.IsType<DataRequestRules.Decision.Refused>(DataRequestRules.MayAsk(View(theirRules: [Default("t1", SharingLevel.Overlaps)]), "m1", "t1"));
        var hidden = View(theirRules: [Default("t1", SharingLevel.Hidden)]);
        Assert.Equal(DataRequestRules.MayAsk(hidden, "m1", "t-missing"), DataRequestRules.MayAsk(hidden, "m1", "t1"));
        Assert.Equal(new DataRequestRules.Decision.NotFound("population"), DataRequestRules.MayAsk(View(theirRules: [Default("t1", SharingLevel.Counts)]), "t1", "t1"));
    }

    [Fact]
    public void AnAnswerIsARuleForExactlyTheRequestedCellAndNeverHidesIt()
    {
        var request = new DataRequest("drq_1", "p1", "org_me", "org_them", "m1", "t1", "please", DataRequestStatus.Open, DateTimeOffset.UnixEpoch, "member:x",
            null, null, null, [], null);
        var errors = new FieldErrors();
        var rule = DataRequestRules.Answer(request, new SharingSettingInput("overlaps", ["owner"], null), errors)!;
        Assert.Equal(("t1", "p1", "m1", SharingLevel.Overlaps), (rule.PopulationId, rule.PartnershipId, rule.PartnerPopulationId, rule.Level));
        Assert.Null(DataRequestRules.Answer(request, new SharingSettingInput("hidden", [], null), errors));
        Assert.Contains(errors.All, e => e.Path == "$.level");
    }

    [Fact]
    public void OnlyPopulationsSharedAtTheOverlapsLevelNowGiveAttributionEvidence()
    {
        var view = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Counts)]);
        Assert.Equal(["t1"], AttributionEvidenceRule.Sources(view, "m1").Select(p => p.Id));
        Assert.True(AttributionEvidenceRule.Usable(SharingLevel.Overlaps));
        Assert.False(AttributionEvidenceRule.Usable(SharingLevel.Counts));
    }

    [Fact]
    public void RecordedEvidenceIsReadOnlyWhileThePartnerSharesItsPopulationAtTheOverlapsLevel()
    {
        var span = new TimeSpanUtc(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1));
        AttributionEvidence[] evidence = [new("t1", "Customers", [span]), new("t2", "Partners", [span])];
        var both = View(theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Overlaps)]);
        Assert.Equal(evidence, AttributionEvidenceRule.AsClaimantReads(both, "m1", evidence));
        Assert.Equal(evidence, AttributionEvidenceRule.AsPartnerReads(both, evidence));
        // Lowered to counts, hidden, or gone: the entry is dropped whole, the same way in each case.
        foreach (var level in new[] { SharingLevel.Counts, SharingLevel.Hidden })
            Assert.Equal([evidence[1]], AttributionEvidenceRule.AsClaimantReads(View(theirRules: [Default("t1", level), Default("t2", SharingLevel.Overlaps)]), "m1", evidence));
        Assert.Equal([evidence[1]], AttributionEvidenceRule.AsClaimantReads(both, "m1", [new("t-deleted", "Old", [span]), evidence[1]]));
        // An ended partnership: neither side reads any.
        var ended = View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Overlaps), Default("t2", SharingLevel.Overlaps)]);
        Assert.Empty(AttributionEvidenceRule.AsClaimantReads(ended, "m1", evidence));
        Assert.Empty(AttributionEvidenceRule.AsPartnerReads(ended, evidence));
    }

    [Fact]
    public void TheOwnerReadsTheRequestersPopulationUnderItsCurrentNameOnlyWhileItExistsForTheOwner()
    {
        // The owner's view: the requester is "them", whose population t1 asked about my m1.
        var request = new DataRequest("drq_1", "p1", "org-them", "org-me", "t1", "m1", "please", DataRequestStatus.Open, DateTimeOffset.UnixEpoch, "member:x",
            null, null, null, [], null) { RequesterPopulationName = "Pipeline (when asked)" };
        Assert.Equal("Population t1", DataRequestRules.RequesterPopulationNameForOwner(View(theirRules: [Default("t1", SharingLevel.Counts)]), request));
        Assert.Equal("Pipeline (when asked)", DataRequestRules.RequesterPopulationNameForOwner(View(theirRules: [Default("t1", SharingLevel.Hidden)]), request));
        Assert.Equal("Pipeline (when asked)", DataRequestRules.RequesterPopulationNameForOwner(
            View(PartnershipStatus.Terminated, theirRules: [Default("t1", SharingLevel.Counts)]), request));
        // A request stored before the name was kept names a hidden population not at all.
        Assert.Null(DataRequestRules.RequesterPopulationNameForOwner(View(theirRules: [Default("t1", SharingLevel.Hidden)]), request with { RequesterPopulationName = null }));
    }

    [Fact]
    public void StagesAreBoundedInCountAndLength()
    {
        Assert.Null(CoSellingRules.ParseStages(null, out var none));
        Assert.Null(none);
        Assert.Equal(["Proposal", "Negotiation"], CoSellingRules.ParseStages(" Proposal ,,Negotiation", out var ok)!);
        Assert.Null(ok);
        Assert.Equal(CoSellingRules.MaxStages, CoSellingRules.ParseStages(string.Join(',', Enumerable.Range(0, CoSellingRules.MaxStages)), out _)!.Count);
        Assert.Null(CoSellingRules.ParseStages(string.Join(',', Enumerable.Range(0, CoSellingRules.MaxStages + 1)), out var many));
        Assert.NotNull(many);
        Assert.Null(CoSellingRules.ParseStages(new string('x', CoSellingRules.MaxStageLength + 1), out var tooLong));
        Assert.NotNull(tooLong);
        Assert.Null(CoSellingRules.ParseStages(new string(',', 100_000), out var padded));
        Assert.NotNull(padded);
    }
}
