namespace OverlapEscrow.Domain.Sharing;

/// <summary>What a data owner lets a partner see of one of its populations.</summary>
public enum SharingLevel
{
    /// <summary>The population does not exist for the partner.</summary>
    Hidden = 0,

    /// <summary>The partner sees how many of its own records overlap, subject to a minimum reportable count.</summary>
    Counts = 1,

    /// <summary>The partner sees which of its own records overlap, and the fields the owner chose.</summary>
    Overlaps = 2,
}

/// <summary>
/// One sharing rule set by the owner of a population. Without a partnership it is the population's default for
/// every partner; with a partnership it overrides that default for one partner; with a partner population as
/// well it overrides it for one of that partner's populations.
/// </summary>
public sealed record SharingRule(
    string PopulationId,
    string? PartnershipId,
    string? PartnerPopulationId,
    SharingLevel Level,
    IReadOnlyList<string> Fields,
    int? MinimumCount);

/// <summary>The rule in force for one (owner population, partner population) cell.</summary>
public sealed record EffectiveSharing(SharingLevel Level, IReadOnlyList<string> Fields, int MinimumCount)
{
    public static readonly EffectiveSharing Hidden = new(SharingLevel.Hidden, [], SharingPolicy.DefaultMinimumCount);
}
