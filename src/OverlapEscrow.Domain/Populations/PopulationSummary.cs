namespace OverlapEscrow.Domain.Populations;

/// <summary>The population types an organization can create (what a list of accounts is).</summary>
public static class PopulationTypes
{
    public static readonly IReadOnlyList<string> All = ["customers", "prospects", "opportunities", "partners", "custom"];
}

/// <summary>
/// A population with the figures of its current version: <see cref="CurrentVersionId"/> is null and
/// <see cref="RecordCount"/> zero until the first upload is committed; <see cref="UpdatedAt"/> is when the current
/// version was committed (its last upload), which is also how fresh any overlap with it is; <see cref="HashingSpec"/>
/// the hashing specification version it was hashed under (null before the first upload).
/// </summary>
public sealed record PopulationSummary(
    string Id,
    string OrganizationId,
    string Name,
    string Type,
    DateTimeOffset CreatedAt,
    string? CurrentVersionId,
    long RecordCount,
    DateTimeOffset? UpdatedAt,
    int? HashingSpec = null);
