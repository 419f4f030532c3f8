namespace OverlapEscrow.Domain.Privacy;

/// <summary>The release a cell's counts-level value was last drawn in: for which data (both versions), when, and whether exactly.</summary>
public sealed record ReleaseStamp(string ViewerVersionId, string OwnerVersionId, DateTimeOffset ReleasedAt, bool Exact);

/// <summary>What to do when a counts-level value is asked for.</summary>
public abstract record ReleaseDecision
{
    /// <summary>The stored value is for the data as it is now: show it again, spend nothing.</summary>
    public sealed record Reuse(DateTimeOffset RefreshesAt) : ReleaseDecision;

    /// <summary>The data changed, but the cell's refresh interval has not passed: show the stored value, marked with when it refreshes.</summary>
    public sealed record Wait(DateTimeOffset RefreshesAt) : ReleaseDecision;

    /// <summary>The data changed (or the cell has no value yet), but the period's budget cannot pay for a release: keep the last value (if any) until then.</summary>
    public sealed record Exhausted(DateTimeOffset RefreshesAt) : ReleaseDecision;

    /// <summary>Draw a new value: with noise of this ε, or exactly (null) when the owner chose exact counts.</summary>
    public sealed record Draw(Epsilon? Noise) : ReleaseDecision;
}

/// <summary>
/// When a counts-level cell gets a new value. Only facts the viewer already has or that are independent of the data
/// decide it — which versions the value is for, the time, the budget left (spent only by earlier releases) — never
/// the counts themselves: whether a new value was drawn must not tell whether the count moved.
/// </summary>
public static class ReleasePlan
{
    /// <param name="latest">
    /// The cell's latest release, or null when it has none. A release of the other kind than the settings now ask for
    /// (exact while noise is on, or noised while the owner chose exact counts) counts as none: switching exact counts
    /// off withdraws the exact values at once, and switching them on gives exact values at once.
    /// </param>
    /// <param name="spent">What the owner's budget with this partner has spent in <paramref name="period"/>.</param>
    public static ReleaseDecision Decide(ReleaseStamp? latest, string viewerVersionId, string ownerVersionId, PrivacySettings settings,
        Epsilon spent, BudgetPeriod period, DateTimeOffset now)
    {
        if (latest is not null && latest.Exact != settings.ExactCounts) latest = null;
        if (latest is not null && latest.ViewerVersionId == viewerVersionId && latest.OwnerVersionId == ownerVersionId)
            return new ReleaseDecision.Reuse(latest.ReleasedAt + settings.RefreshInterval);
        if (settings.ExactCounts) return new ReleaseDecision.Draw(null);
        if (latest is not null && now < latest.ReleasedAt + settings.RefreshInterval)
            return new ReleaseDecision.Wait(latest.ReleasedAt + settings.RefreshInterval);
        // Past the interval (or with no value yet), the next chance is the next period.
        if (spent + settings.PerRelease > settings.PerPeriod) return new ReleaseDecision.Exhausted(period.End);
        return new ReleaseDecision.Draw(settings.PerRelease);
    }
}
