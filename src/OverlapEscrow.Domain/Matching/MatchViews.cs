namespace OverlapEscrow.Domain.Matching;

/// <summary>
/// The <c>matches</c> parameter of a cell's list, export and dashboard page: <c>default</c> (exact and strong matches,
/// what the matrix counts) or <c>all</c> (possible matches too, labelled); docs/hashing.md, "Server match rules".
/// </summary>
public static class MatchViews
{
    public const string Field = "matches";

    public const string Rule = "matches is default (exact and strong matches) or all (possible matches too).";

    /// <summary>The view a parameter names (absent is the default), or null when it names none.</summary>
    public static MatchView? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "default" => MatchView.Default,
        "all" => MatchView.IncludePossible,
        _ => null,
    };

    public static string Wire(MatchView view) => view == MatchView.Default ? "default" : "all";
}
