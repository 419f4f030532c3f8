using OverlapEscrow.Domain.Privacy;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// A count as it may leave the escrow: <see cref="Value"/>, or nothing when it is withheld, and then
/// <see cref="WithheldBelow"/> says which minimum it did not reach (null when no value has been released yet).
/// <see cref="Protection"/> is set for every counts-level value: how it was protected and how fresh it is.
/// </summary>
public readonly record struct ReleasedCount(int? Value, int? WithheldBelow, CountProtection? Protection = null)
{
    public bool IsWithheld => Value is null;
}

/// <summary>Where a counts-level value stands.</summary>
public enum ReleaseState
{
    /// <summary>Released for the data as it is now.</summary>
    Current,

    /// <summary>The data changed since the release; a new value comes no sooner than the cell's refresh interval after it.</summary>
    DataChanged,

    /// <summary>The data changed (or nothing was released yet), and the owner's budget for this partner is spent until the period ends.</summary>
    BudgetExhausted,
}

/// <summary>
/// How a counts-level value was released: with noise (<see cref="Noised"/>, then ± <see cref="MarginOfError"/> around
/// the true count at 90 % confidence) or exactly because its owner chose exact counts; when it was released and
/// when it may next change.
/// </summary>
public sealed record CountProtection(bool Noised, int MarginOfError, DateTimeOffset? ReleasedAt, DateTimeOffset? RefreshesAt, ReleaseState State)
{
    public double Confidence => PrivacySettings.Confidence;
}

/// <summary>
/// The counts of a cell a counts-level value is drawn from: the viewer's overlapping records, the owner's records among
/// the kept pairs, and the contribution-bounded count (<see cref="ContributionBound"/>) that noise protects.
/// </summary>
public readonly record struct CellCounts(int ViewerCount, int OwnerCount, int BoundedCount);

/// <summary>
/// A counts-level value as drawn once and stored; never shown as such. <see cref="Value"/> is what a viewer may read
/// and <see cref="Gate"/> what the minimum reportable count is compared with. A noised draw has both equal to the
/// bounded count plus noise of ε <see cref="Noise"/>; an exact draw (the owner's explicit choice, <see cref="Noise"/>
/// zero) has the viewer's count and the smaller of both sides' counts.
/// </summary>
public readonly record struct CountDraw(long Value, long Gate, Epsilon Noise)
{
    public bool IsExact => Noise == Epsilon.Zero;
}

/// <summary>
/// THE release function: every overlap count that reaches a viewer — a matrix cell, a history point, a webhook
/// payload, the dashboard, any later figure — is produced here, and by nothing else. A count computed inside the
/// escrow is a fact about the owner's data; only its released form may be shown.
/// </summary>
/// <remarks>
/// At the overlaps level the list itself is visible, so the count is exact (<see cref="Release"/>). At the counts
/// level a value is drawn once (<see cref="Draw"/>) for the data of both sides as it is then, stored, and shown again
/// on every read from any endpoint (<see cref="Show"/>), so reading a cell many times learns nothing new: the
/// discrete Laplace mechanism on the contribution-bounded count, ε-differentially private for each account of the
/// owner (docs/privacy.md). The minimum reportable count is applied to the noised value, so crossing it is no
/// exact oracle either.
/// </remarks>
public static class CountRelease
{
    /// <summary>
    /// A count of a cell shared at the overlaps level: exact, since the viewer can list the records anyway. A
    /// counts-level value is never released from exact counts like this; it is drawn and shown (<see cref="Show"/>).
    /// A hidden cell has no count to release: asking for one is a programming error.
    /// </summary>
    public static ReleasedCount Release(EffectiveSharing sharing, int viewerCount, int ownerCount) => sharing.Level switch
    {
        SharingLevel.Overlaps => new ReleasedCount(viewerCount, null),
        SharingLevel.Counts => throw new ArgumentException("A counts-level value is released from its stored draw (CountRelease.Show).", nameof(sharing)),
        _ => throw new ArgumentException("A hidden cell has no count to release.", nameof(sharing)),
    };

    /// <summary>
    /// Draws a counts-level value: the bounded count plus discrete Laplace noise of ε <paramref name="noise"/>
    /// (sensitivity 1 per owner account, see <see cref="ContributionBound"/>), from <paramref name="bits"/>. With no
    /// noise (exact counts, the owner's explicit choice) the viewer's count, gated by the smaller of both sides' counts
    /// as before noise existed: five of my records hitting one of the owner's stay below a minimum of 5.
    /// </summary>
    public static CountDraw Draw(CellCounts counts, Epsilon? noise, IRandomBits bits)
    {
        if (noise is not { } epsilon || epsilon == Epsilon.Zero)
            return new CountDraw(counts.ViewerCount, Math.Min(counts.ViewerCount, counts.OwnerCount), Epsilon.Zero);
        var value = counts.BoundedCount + ExactSampling.DiscreteLaplace(bits, epsilon);
        return new CountDraw(value, value, epsilon);
    }

    /// <summary>
    /// A stored draw as the viewer may read it under the counts rule in force (<paramref name="sharing"/>, counts): its
    /// value when it reaches the minimum reportable count, else withheld below the minimum. Post-processing of a
    /// released value, so showing it again, under another minimum or in another endpoint, costs no privacy.
    /// </summary>
    public static ReleasedCount Show(EffectiveSharing sharing, CountDraw draw, DateTimeOffset? releasedAt, DateTimeOffset? refreshesAt, ReleaseState state)
    {
        if (sharing.Level == SharingLevel.Hidden) throw new ArgumentException("A hidden cell has no count to release.", nameof(sharing));
        var protection = new CountProtection(!draw.IsExact, draw.IsExact ? 0 : DiscreteLaplaceFacts.MarginOfError(draw.Noise, PrivacySettings.Confidence),
            releasedAt, refreshesAt, state);
        return draw.Gate >= sharing.MinimumCount
            ? new ReleasedCount((int)Math.Min(draw.Value, int.MaxValue), null, protection)
            : new ReleasedCount(null, sharing.MinimumCount, protection);
    }

    /// <summary>A counts-level cell with no value released yet because the budget is spent: nothing to show until <paramref name="refreshesAt"/>.</summary>
    public static ReleasedCount NotYetReleased(Epsilon noise, DateTimeOffset refreshesAt) =>
        new(null, null, new CountProtection(true, DiscreteLaplaceFacts.MarginOfError(noise, PrivacySettings.Confidence), null, refreshesAt, ReleaseState.BudgetExhausted));

    /// <summary>What a counts-level cell reads before anything was released for it: withheld (the start of every trend and notice).</summary>
    public static ReleasedCount Empty(EffectiveSharing sharing) => new(null, sharing.MinimumCount);
}
