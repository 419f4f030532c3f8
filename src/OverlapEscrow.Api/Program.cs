using OverlapEscrow.Api.Accounts;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Audit;
using OverlapEscrow.Api.Dashboard;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Health;
using OverlapEscrow.Api.Organizations;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Schedules;
using OverlapEscrow.Api.Signals;
using OverlapEscrow.Api.Webhooks;

// `dotnet OverlapEscrow.Api.dll admin …` is the operator's command line (backup, restore, keys, audit, erasure).
if (AdminCommand.Matches(args)) return await AdminCommand.RunAsync(args[1..]);

try
{
    // The content root is the application's own folder (appsettings.json sits there however it is started); the data
    // directory, when relative, resolves against the directory the service was started from (EscrowOptions).
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = EscrowArgs.Normalize(args), ContentRootPath = AppContext.BaseDirectory });
    builder.AddServiceDefaults();
    builder.AddEscrowStorage();
    builder.AddEscrowAuth();
    builder.AddEscrowRateLimits();
    builder.AddEscrowFeatures();
    builder.AddEscrowDashboard();

    var app = builder.Build();
    app.UseServiceDefaults();
    app.MapAccounts();
    app.MapApiKeys();
    app.MapPopulations();
    app.MapPartnerships();
    app.MapSharing();
    app.MapPrivacy();
    app.MapOverlaps();
    app.MapSchedules();
    app.MapAudit();
    app.MapWebhooks();
    app.MapOrganizations();
    app.MapDataRequests();
    app.MapAttributions();
    app.MapCoSelling();
    app.MapHealth();
    app.MapEscrowDashboard();
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException && System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly)
{
    // The service's own process (not a test host building it): one line, never a stack trace — which setting is wrong
    // (the checks' messages name it and never repeat a connection string), or what stopped it.
    Console.Error.WriteLine(e is Microsoft.Extensions.Options.OptionsValidationException invalid
        ? "The service did not start: " + string.Join(" ", invalid.Failures)
        : $"The service stopped: {e.GetType().Name}: {e.Message}");
    return 1;
}

public partial class Program;
