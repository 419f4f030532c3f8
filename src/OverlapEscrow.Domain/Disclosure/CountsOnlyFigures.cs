namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// Whether a partner's pipeline figures that rest on its counts-only customer cells (docs/health.md) may be shown: the
/// same rule as the matrix's counts, applied to figures that count and sum my own opportunities in those cells.
/// </summary>
public static class CountsOnlyFigures
{
    /// <summary>Why figures are withheld: the budget cannot pay a draw; the released count is below the owner's minimum; the owner gives exact counts.</summary>
    public const string Budget = "budget", Minimum = "minimum", ExactCounts = "exact_counts";

    /// <summary>
    /// Before any draw. Exact counts are the owner's choice for counts; a figure over a counts-only cell sums my own
    /// amounts and days too, and an exact sum tells which of my accounts overlap (amounts 1, 2, 4, … decode the set in one
    /// read), so without noise nothing is released: null when figures may be drawn, else <see cref="ExactCounts"/>.
    /// </summary>
    public static string? BeforeDraw(bool exactCounts) => exactCounts ? ExactCounts : null;

    /// <summary>
    /// After the draws: the released count of my open opportunities in the cells' overlap below the owner's minimum
    /// reportable count (the largest of the cells') withholds every figure, as the matrix withholds a cell below it
    /// (post-processing of the released value: the privacy guarantee is unchanged). Null when they may be shown.
    /// </summary>
    public static string? AfterDraw(long releasedCovered, int minimumCount) => releasedCovered < minimumCount ? Minimum : null;
}
