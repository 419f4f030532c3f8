using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Tests.Disclosure;

/// <summary>
/// A partnership between "me" (org-me, populations m1, m2) and a partner (org-them, populations t1, t2), as a
/// <see cref="PartnerView"/> from my side, with whatever rules a test sets.
/// </summary>
internal static class Views
{
    public const string PartnershipId = "ptn-1";
    public static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public static PopulationSummary Pop(string id, string org) => new(id, org, "Population " + id, "customers", T0, "ver-" + id, 100, T0);

    public static PartnerView View(PartnershipStatus status = PartnershipStatus.Active, IEnumerable<SharingRule>? theirRules = null,
        IEnumerable<SharingRule>? myRules = null, IEnumerable<string>? myPopulations = null, IEnumerable<string>? theirPopulations = null) =>
        new(new Partnership(PartnershipId, "org-me", "org-them", status, T0, T0, null),
            "org-me",
            new PartnerOrganization("org-them", "them", "Them Inc."),
            (myPopulations ?? ["m1", "m2"]).Select(id => Pop(id, "org-me")).ToList(),
            (theirPopulations ?? ["t1", "t2"]).Select(id => Pop(id, "org-them")).ToList(),
            (theirRules ?? []).ToList(),
            (myRules ?? []).ToList());

    /// <summary>The partner's default rule for one of its populations.</summary>
    public static SharingRule Default(string population, SharingLevel level, int? minimum = null, params string[] fields) =>
        new(population, null, null, level, fields, minimum);

    /// <summary>The partner's rule for one of its populations as seen from one of my populations.</summary>
    public static SharingRule ForMine(string population, string myPopulation, SharingLevel level, int? minimum = null, params string[] fields) =>
        new(population, PartnershipId, myPopulation, level, fields, minimum);

    public static EffectiveSharing Rule(SharingLevel level, int minimum = SharingPolicy.DefaultMinimumCount, params string[] fields) =>
        new(level, fields, minimum);
}
