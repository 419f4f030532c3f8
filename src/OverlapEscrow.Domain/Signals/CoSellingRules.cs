using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Domain.Signals;

/// <summary>The three co-selling signals a cell can carry, by the types of its two populations (docs/health.md).</summary>
public enum SignalKind
{
    /// <summary>My open opportunity on an account the partner has in an opportunities population.</summary>
    Joint,

    /// <summary>My open opportunity on an account that is the partner's customer: a reference or intel cell.</summary>
    Reference,

    /// <summary>My customer on an account in the partner's opportunities population: where I can help the partner.</summary>
    Reciprocal,
}

/// <summary>
/// Which cells carry which signal, and which of my records count. The partner's opportunity fields never cross the
/// boundary (<see cref="OpportunityFields.IsOwnOnly"/>), so "the partner's opportunity" is any record of a partner
/// population of type opportunities: whether it is open is the partner's to say, by what it uploads there.
/// </summary>
public static class CoSellingRules
{
    /// <summary>Stages treated as early when no list of mid/late stages is given (compared case-insensitively).</summary>
    public static readonly IReadOnlyList<string> EarlyStages = ["", "lead", "new", "open", "prospecting", "prospect", "qualification", "qualify", "qualifying", "discovery"];

    public static SignalKind? KindOf(string myPopulationType, string partnerPopulationType) =>
        (myPopulationType, partnerPopulationType) switch
        {
            (OpportunityFields.PopulationType, OpportunityFields.PopulationType) => SignalKind.Joint,
            (OpportunityFields.PopulationType, "customers") => SignalKind.Reference,
            ("customers", OpportunityFields.PopulationType) => SignalKind.Reciprocal,
            _ => null,
        };

    /// <summary>Whether one of my records belongs in a signal of this kind: my opportunities only while open; my customers always.</summary>
    public static bool Counts(SignalKind kind, Opportunity? mine) => kind == SignalKind.Reciprocal || mine is { Open: true };

    /// <summary>
    /// Whether an open opportunity is at a mid or late stage: its stage is one of <paramref name="midOrLateStages"/>
    /// when a list is given, else any stage that is not early (<see cref="EarlyStages"/>); no stage is early.
    /// </summary>
    public static bool IsMidOrLate(Opportunity opportunity, IReadOnlyList<string>? midOrLateStages)
    {
        if (!opportunity.Open) return false;
        var stage = opportunity.Stage?.Trim() ?? "";
        return midOrLateStages is { Count: > 0 }
            ? midOrLateStages.Contains(stage, StringComparer.OrdinalIgnoreCase)
            : !EarlyStages.Contains(stage, StringComparer.OrdinalIgnoreCase);
    }
}
