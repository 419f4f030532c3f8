using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>Sync schedules (SyncSchedules): each with its cron in words, its next runs in its zone, and its last run.</summary>
[DashboardAuthorize(Policies.SchedulesRead)]
public sealed class IndexModel(SyncSchedules schedules, PopulationCatalog populations, TimeProvider time) : DashboardPage
{
    public IReadOnlyList<Schedule> Schedules { get; private set; } = [];
    public IReadOnlyDictionary<string, string> PopulationNames { get; private set; } = new Dictionary<string, string>();
    public bool CanWrite { get; private set; }
    public DateTimeOffset Now { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Schedules = await schedules.ListAsync(Caller, ct);
        PopulationNames = (await populations.ListAsync(Caller, ct)).ToDictionary(p => p.Id, p => p.Name);
        CanWrite = await AllowsAsync(Policies.SchedulesWrite);
        Now = time.GetUtcNow();
    }
}
