using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Data.Privacy;

internal sealed class CountReleaseRow
{
    public string Id { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string ViewerOrganizationId { get; init; } = "";
    public string ViewerPopulationId { get; init; } = "";
    public string OwnerOrganizationId { get; init; } = "";
    public string OwnerPopulationId { get; init; } = "";
    public string ViewerVersionId { get; init; } = "";
    public string OwnerVersionId { get; init; } = "";
    public long ReleasedAt { get; init; }
    public long Value { get; init; }
    public long Gate { get; init; }
    public long EpsilonMillionths { get; init; }

    public StoredRelease ToDomain() => new(Id, PartnershipId, ViewerOrganizationId, ViewerPopulationId, OwnerOrganizationId, OwnerPopulationId,
        ViewerVersionId, OwnerVersionId, Time.FromUnixMs(ReleasedAt), new CountDraw(Value, Gate, new Epsilon(EpsilonMillionths)));

    public static object From(StoredRelease r) => new
    {
        r.Id, r.PartnershipId, r.ViewerOrganizationId, r.ViewerPopulationId, r.OwnerOrganizationId, r.OwnerPopulationId, r.ViewerVersionId,
        r.OwnerVersionId, ReleasedAt = Time.ToUnixMs(r.ReleasedAt), r.Draw.Value, r.Draw.Gate, EpsilonMillionths = r.Draw.Noise.Millionths,
    };
}

internal sealed class PrivacySettingsRow
{
    public long? EpsilonPerPeriodMillionths { get; init; }
    public long? EpsilonPerReleaseMillionths { get; init; }
    public long? RefreshIntervalMinutes { get; init; }
    public long ExactCounts { get; init; }
    public long UpdatedAt { get; init; }
    public string UpdatedBy { get; init; } = "";

    public StoredPrivacySettings ToDomain() => new(new PrivacyOverrides(
            EpsilonPerPeriodMillionths is { } p ? new Epsilon(p) : null,
            EpsilonPerReleaseMillionths is { } r ? new Epsilon(r) : null,
            RefreshIntervalMinutes is { } m ? TimeSpan.FromMinutes(m) : null,
            ExactCounts != 0),
        Time.FromUnixMs(UpdatedAt), UpdatedBy);
}
