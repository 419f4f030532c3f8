using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// A count as it may leave the escrow: <see cref="Value"/>, or nothing when it is withheld, and then
/// <see cref="WithheldBelow"/> says which minimum it did not reach.
/// </summary>
public readonly record struct ReleasedCount(int? Value, int? WithheldBelow)
{
    public bool IsWithheld => Value is null;
}

/// <summary>
/// THE release function: every overlap count that reaches a viewer — a matrix cell, a history point, a webhook
/// payload, any later figure — is produced by <see cref="Release"/>, and by nothing else. A count computed inside
/// the escrow is a fact about the owner's data; only its released form may be shown.
/// </summary>
public static class CountRelease
{
    /// <summary>
    /// The count a viewer may read for a cell, from the number of the viewer's records that overlap and the number of
    /// the owner's records they overlap with, under the owner's rule in force.
    /// At the overlaps level the list itself is visible, so the count is too.
    /// At the counts level the count is withheld unless both the viewer's and the owner's overlapping records reach
    /// the minimum. Zero is withheld too ("0" answers a membership probe as well as "1"), and so is a cell where many
    /// of the viewer's records all hit one or two of the owner's: uploading one account five times under five record
    /// ids must not turn a minimum of 5 into a membership test.
    /// A hidden cell has no count to release: asking for one is a programming error.
    /// </summary>
    public static ReleasedCount Release(EffectiveSharing sharing, int viewerCount, int ownerCount) => sharing.Level switch
    {
        SharingLevel.Overlaps => new ReleasedCount(viewerCount, null),
        SharingLevel.Counts => Math.Min(viewerCount, ownerCount) >= sharing.MinimumCount
            ? new ReleasedCount(viewerCount, null)
            : new ReleasedCount(null, sharing.MinimumCount),
        _ => throw new ArgumentException("A hidden cell has no count to release.", nameof(sharing)),
    };
}
