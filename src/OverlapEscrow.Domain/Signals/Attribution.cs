using OverlapEscrow.Domain.Opportunities;

namespace OverlapEscrow.Domain.Signals;

public enum AttributionRole { Sourced, Influenced }

public enum AttributionStatus { Claimed, Confirmed, Disputed }

/// <summary>A span of time, start included, end excluded.</summary>
public sealed record TimeSpanUtc(DateTimeOffset From, DateTimeOffset To)
{
    public TimeSpanUtc? Intersect(TimeSpanUtc other)
    {
        var from = From > other.From ? From : other.From;
        var to = To < other.To ? To : other.To;
        return from < to ? new TimeSpanUtc(from, to) : null;
    }
}

/// <summary>
/// Evidence that a partner had the account of an opportunity in one of its populations while the opportunity was
/// open: the partner population and the spans (within the open window) in which the account was in it.
/// </summary>
public sealed record AttributionEvidence(string PartnerPopulationId, string PartnerPopulationName, IReadOnlyList<TimeSpanUtc> Spans);

/// <summary>
/// A claim in the attribution ledger: <see cref="ClaimantOrganizationId"/> says that the partner
/// (<see cref="PartnerOrganizationId"/>) sourced or influenced its opportunity <see cref="RecordId"/> of
/// <see cref="PopulationId"/>, with the evidence computed when the claim was recorded; the partner confirms or disputes.
/// At rest the record id, evidence and note are sealed under the claimant's data key and the response note under the
/// partner's: once the author is erased, <see cref="ClaimErased"/>/<see cref="ResponseErased"/> say so and the texts are empty.
/// </summary>
public sealed record AttributionClaim(
    string Id,
    string PartnershipId,
    string ClaimantOrganizationId,
    string PartnerOrganizationId,
    string PopulationId,
    string RecordId,
    AttributionRole Role,
    AttributionStatus Status,
    IReadOnlyList<AttributionEvidence> Evidence,
    string? Note,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? RespondedAt,
    string? RespondedBy,
    string? ResponseNote)
{
    /// <summary>The record id, evidence and note were sealed under the key of a claimant that was erased since: they cannot be read.</summary>
    public bool ClaimErased { get; init; }

    /// <summary>The response note was sealed under the key of a partner that was erased since.</summary>
    public bool ResponseErased { get; init; }
}

/// <summary>
/// Time-correct membership: from the points of one cell's history (as the viewer's side recorded them), when was one
/// of the viewer's records in the overlap, and did that happen while an opportunity was open.
/// </summary>
public static class TimeCorrectMembership
{
    /// <summary>One point of a cell's history: from <see cref="At"/> until the next point, the record was in the overlap or not (null: unknown, e.g. not recorded at the overlaps level).</summary>
    public sealed record Point(DateTimeOffset At, bool? Member);

    /// <summary>
    /// The spans in which the record was in the overlap, from points sorted by time; the last point holds until
    /// <paramref name="now"/>. A point of unknown membership (recorded below the overlaps level, or whose record ids
    /// were cleared after retention) ends a span and starts none: no evidence is made up.
    /// </summary>
    public static IReadOnlyList<TimeSpanUtc> Spans(IReadOnlyList<Point> points, DateTimeOffset now)
    {
        var spans = new List<TimeSpanUtc>();
        for (var i = 0; i < points.Count; i++)
        {
            if (points[i].Member != true) continue;
            var end = i + 1 < points.Count ? points[i + 1].At : now;
            if (end <= points[i].At) continue;
            if (spans.Count > 0 && spans[^1].To == points[i].At) spans[^1] = spans[^1] with { To = end };
            else spans.Add(new TimeSpanUtc(points[i].At, end));
        }
        return spans;
    }

    /// <summary>
    /// When an opportunity was open: from the start of its created_date (UTC) to the end of its close_date when it is
    /// closed, else until <paramref name="now"/>. Without a created_date, from the beginning of the record; a closed
    /// opportunity without a close_date has no known window (null: no time-correct evidence is possible).
    /// </summary>
    public static TimeSpanUtc? OpenWindow(Opportunity opportunity, DateTimeOffset now)
    {
        var from = opportunity.CreatedDate is { } c ? new DateTimeOffset(c.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : DateTimeOffset.MinValue;
        DateTimeOffset to;
        if (opportunity.Closed)
        {
            if (opportunity.CloseDate is not { } d) return null;
            to = new DateTimeOffset(d.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }
        else to = now;
        if (to > now) to = now;
        return from < to ? new TimeSpanUtc(from, to) : null;
    }

    /// <summary>The spans of <paramref name="membership"/> that fall within <paramref name="window"/>.</summary>
    public static IReadOnlyList<TimeSpanUtc> Within(IReadOnlyList<TimeSpanUtc> membership, TimeSpanUtc window) =>
        membership.Select(s => s.Intersect(window)).Where(s => s is not null).Select(s => s!).ToList();
}
