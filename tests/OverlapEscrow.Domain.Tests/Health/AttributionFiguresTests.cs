using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Signals;
using Claim = OverlapEscrow.Domain.Health.AttributionFiguresOf.Claim;

namespace OverlapEscrow.Domain.Tests.Health;

/// <summary>The leadership report's sourced, influenced and disputed figures and the attach rate (docs/health.md, "Leadership report").</summary>
public class AttributionFiguresTests
{
    private static readonly FigurePeriod Q1 = new(new DateOnly(2026, 1, 1), new DateOnly(2026, 3, 31));

    private static Opportunity Opp(string id, decimal amount, string? created, string? closed = null, bool won = false, string currency = "USD") =>
        new(id, amount, currency, null, created is null ? null : DateOnly.Parse(created), closed is null ? null : DateOnly.Parse(closed), closed is not null, won, null);

    [Fact]
    public void SourcedInfluencedAndDisputedPipelineAndRevenueFollowTheirDefinitions()
    {
        IReadOnlyList<Opportunity> mine =
        [
            Opp("A", 100, "2026-01-10"),                                  // pipeline in Q1, sourced by P (confirmed)
            Opp("B", 200, "2025-12-01", "2026-02-01", won: true),         // revenue in Q1, sourced by P (unanswered) and influenced by Q
            Opp("C", 400, "2026-02-01", "2026-03-01", won: true),         // pipeline and revenue in Q1, disputed by Q
            Opp("D", 800, "2026-02-01"),                                  // in Q1, no claim
            Opp("E", 1600, "2025-06-01"),                                 // outside Q1, sourced by P
            Opp("F", 3200, "2026-01-05", currency: "EUR"),                // pipeline in Q1, influenced by P, another currency
        ];
        Claim[] claims =
        [
            new("A", "p", AttributionRole.Sourced, AttributionStatus.Confirmed),
            new("B", "p", AttributionRole.Sourced, AttributionStatus.Claimed),
            new("B", "q", AttributionRole.Influenced, AttributionStatus.Confirmed),
            new("C", "q", AttributionRole.Sourced, AttributionStatus.Disputed),
            new("E", "p", AttributionRole.Sourced, AttributionStatus.Confirmed),
            new("F", "p", AttributionRole.Influenced, AttributionStatus.Claimed),
        ];

        var f = AttributionFiguresOf.Compute(mine, claims, "USD", Q1);

        Assert.Equal(new AttributedAmount(1, 100), f.Overall.SourcedPipeline);        // A (B was created before Q1, E long before)
        Assert.Equal(new AttributedAmount(1, 200), f.Overall.SourcedRevenue);         // B
        Assert.Equal(new AttributedAmount(1, 0), f.Overall.InfluencedPipeline);        // F, counted, in EUR so no USD amount
        Assert.Equal(new AttributedAmount(1, 200), f.Overall.InfluencedRevenue);       // B
        Assert.Equal(new AttributedAmount(1, 400), f.Overall.DisputedPipeline);        // C, apart from sourced
        Assert.Equal(new AttributedAmount(1, 400), f.Overall.DisputedRevenue);
        Assert.Equal(new AttributedAmount(0, 0), f.PerPartnership["q"].SourcedRevenue);
        Assert.Equal(new AttributedAmount(1, 200), f.PerPartnership["q"].InfluencedRevenue);
        Assert.Equal(new AttributedAmount(1, 100), f.PerPartnership["p"].SourcedPipeline);
        // In Q1: A, B (closed in it), C, D, F; with a standing claim: A, B, F.
        Assert.Equal((5, 3), (f.InPeriod, f.Attached));
        Assert.Equal(0.6, f.AttachRate!.Value, 9);
    }

    [Fact]
    public void WithoutOpportunitiesInThePeriodThereIsNoAttachRate()
    {
        var f = AttributionFiguresOf.Compute([], [], "USD", Q1);
        Assert.Null(f.AttachRate);
        Assert.Equal(new AttributedAmount(0, 0), f.Overall.SourcedPipeline);
    }
}
