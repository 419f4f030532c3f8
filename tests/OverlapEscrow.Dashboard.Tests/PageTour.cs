using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>The main pages a member of Alpha opens, with their addresses, for the tests that visit every page.</summary>
public static class PageTour
{
    public sealed record Stop(string Name, string Path);

    public static Task<IReadOnlyList<Stop>> StopsAsync(DashboardWorld w) => Task.FromResult(For(w.Partnership, w.AlphaCustomers, w.BetaCustomers));

    /// <summary>The main pages as seen from one side: a partnership, one of my populations, one of the partner's.</summary>
    public static IReadOnlyList<Stop> For(string p, string myPopulation, string theirPopulation)
    {
        var cell = $"/partnerships/{p}/cells/{myPopulation}/{theirPopulation}";
        return
        [
            new("partnerships", "/"),
            new("matrix", $"/partnerships/{p}"),
            new("cell", cell),
            new("trend", cell + "/trend"),
            new("new-since", cell + "/new?since=2020-01-01T00:00"),
            new("partnership-sharing", $"/partnerships/{p}/sharing"),
            new("data-requests", $"/partnerships/{p}/requests"),
            new("attribution", "/attribution"),
            new("signals", $"/partnerships/{p}/signals"),
            new("end-partnership", $"/partnerships/{p}/end"),
            new("health-pipeline", "/health?period=2026"),
            new("health-leaderboard", "/health/leaderboard?period=2026"),
            new("health-report", "/health/report?period=2026-Q3"),
            new("populations", "/populations"),
            new("population", $"/populations/{myPopulation}"),
            new("population-sharing", $"/populations/{myPopulation}/sharing"),
            new("upload", $"/populations/{myPopulation}/upload"),
            new("syncs", "/syncs"),
            new("new-sync", "/syncs/new"),
            new("webhooks", "/webhooks"),
            new("members", "/admin/members"),
            new("api-keys", "/admin/api-keys"),
            new("audit", "/admin/audit"),
            new("api-reference", "/api-reference"),
        ];
    }
}
