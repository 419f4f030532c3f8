using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Signals;
using static OverlapEscrow.Domain.Signals.TimeCorrectMembership;

namespace OverlapEscrow.Domain.Tests.Signals;

public sealed class TimeCorrectMembershipTests
{
    private static DateTimeOffset T(string s) => DateTimeOffset.Parse(s + "T00:00:00Z");
    private static readonly DateTimeOffset Now = T("2026-03-10");

    [Fact]
    public void APointHoldsUntilTheNextAndTheLastUntilNowAndAdjacentSpansMerge()
    {
        var spans = Spans([new Point(T("2026-01-01"), true), new Point(T("2026-01-10"), true), new Point(T("2026-02-01"), false), new Point(T("2026-03-01"), true)], Now);
        Assert.Equal([new TimeSpanUtc(T("2026-01-01"), T("2026-02-01")), new TimeSpanUtc(T("2026-03-01"), Now)], spans);
    }

    [Fact]
    public void AnUnknownPointEndsASpanAndStartsNone()
    {
        // Recorded below the overlaps level (or ids cleared after retention): nothing is assumed about it.
        var spans = Spans([new Point(T("2026-01-01"), true), new Point(T("2026-01-20"), null), new Point(T("2026-02-01"), true)], Now);
        Assert.Equal([new TimeSpanUtc(T("2026-01-01"), T("2026-01-20")), new TimeSpanUtc(T("2026-02-01"), Now)], spans);
    }

    [Fact]
    public void AClosedOpportunityIsOpenFromTheStartOfItsCreatedDateToTheEndOfItsCloseDate()
    {
        var closed = new Opportunity("O", 1m, "USD", null, new DateOnly(2026, 1, 1), new DateOnly(2026, 1, 31), Closed: true, Won: true, null);
        Assert.Equal(new TimeSpanUtc(T("2026-01-01"), T("2026-02-01")), OpenWindow(closed, Now));
        var open = closed with { Closed = false, Won = false };
        Assert.Equal(new TimeSpanUtc(T("2026-01-01"), Now), OpenWindow(open, Now));
        // Closed without a close date: no known window, so no evidence is made up.
        Assert.Null(OpenWindow(closed with { CloseDate = null }, Now));
        // Created in the future: not open yet.
        Assert.Null(OpenWindow(open with { CreatedDate = new DateOnly(2026, 4, 1) }, Now));
    }

    [Fact]
    public void EvidenceIsTheMembershipWithinTheOpenWindowOnly()
    {
        var membership = Spans([new Point(T("2026-01-15"), true), new Point(T("2026-02-15"), false)], Now);
        Assert.Equal([new TimeSpanUtc(T("2026-01-15"), T("2026-02-01"))], Within(membership, new TimeSpanUtc(T("2026-01-01"), T("2026-02-01"))));
        Assert.Empty(Within(membership, new TimeSpanUtc(T("2026-03-01"), Now)));
    }
}
