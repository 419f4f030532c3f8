using OverlapEscrow.Api.Accounts;
using OverlapEscrow.Api.Audit;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Partnerships;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Schedules;
using OverlapEscrow.Api.Webhooks;

var builder = WebApplication.CreateBuilder(EscrowArgs.Normalize(args));
builder.AddServiceDefaults();
builder.AddEscrowStorage();
builder.AddEscrowAuth();
builder.AddEscrowFeatures();
builder.AddSchedules();

var app = builder.Build();
app.UseServiceDefaults();
app.MapAccounts();
app.MapApiKeys();
app.MapPopulations();
app.MapPartnerships();
app.MapSharing();
app.MapOverlaps();
app.MapSchedules();
app.MapAudit();
app.MapWebhooks();
app.Run();

public partial class Program;
