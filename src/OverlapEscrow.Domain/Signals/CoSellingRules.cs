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

    /// <summary>Most stage names a caller may list as mid/late, and the longest name (a CRM's stage picklist is a few dozen short labels).</summary>
    public const int MaxStages = 50, MaxStageLength = 100;

    /// <summary>
    /// The caller's comma-separated list of mid/late stages: null when none was given; <paramref name="error"/> says why
    /// a list is refused (too many names, a name too long: the query string is not a way to make the escrow compare
    /// megabytes of text per opportunity).
    /// </summary>
    public static IReadOnlyList<string>? ParseStages(string? stages, out string? error)
    {
        error = null;
        if (stages is null) return null;
        if (stages.Length > MaxStages * (MaxStageLength + 1)) { error = $"stages is at most {MaxStages * (MaxStageLength + 1)} characters."; return null; }
        var list = stages.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length > MaxStages) error = $"stages lists at most {MaxStages} stage names.";
        else if (list.Any(s => s.Length > MaxStageLength)) error = $"Each stage name is at most {MaxStageLength} characters.";
        return error is null ? list : null;
    }

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
