using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Syncs;

public sealed record ScheduleFormView(DashboardPage Page, ScheduleForm Form, IReadOnlyList<PopulationSummary> Populations);
