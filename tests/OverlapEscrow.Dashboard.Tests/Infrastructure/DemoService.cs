using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests.Infrastructure;

/// <summary>
/// The service as <c>scripts/run</c> starts it: the demo loaded (Escrow:Demo:Enabled, what --demo sets) on its own
/// SQLite file and real Kestrel, with the ids of Northwind's partnership and populations read through the API.
/// </summary>
public sealed class DemoService : IAsyncLifetime
{
    public const string Admin = "admin@northwind.example";
    public const string Password = "demo-password-1";

    public EscrowApp App { get; } = new(new Dictionary<string, string?> { ["Escrow:Demo:Enabled"] = "true" }, kestrel: true);
    public string BaseUrl { get; private set; } = "";
    public string Partnership { get; private set; } = "";
    public string Customers { get; private set; } = "";
    public string PartnerCustomers { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var http = App.CreateClient();
        BaseUrl = http.BaseAddress!.ToString().TrimEnd('/');
        var login = await http.PostAsJsonAsync("/v1/auth/login", new { email = Admin, password = Password });
        await EscrowClient.Expect(login, HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await EscrowClient.Json(login))["accessToken"]!.GetValue<string>());
        var partnerships = JsonNode.Parse(await http.GetStringAsync("/v1/partnerships"))!.AsArray();
        // Contoso's: it shares at the overlaps level (Fabrikam, the other demo partner, at the counts level only).
        Partnership = partnerships.Single(p => p!["partner"]!["slug"]!.GetValue<string>() == "contoso")!["id"]!.GetValue<string>();
        var matrix = JsonNode.Parse(await http.GetStringAsync($"/v1/partnerships/{Partnership}/overlaps"))!.AsObject();
        var cell = matrix["cells"]!.AsArray().First(c => c!["count"] is not null && c["level"]?.GetValue<string>() == "overlaps")!;
        Customers = cell["myPopulationId"]!.GetValue<string>();
        PartnerCustomers = cell["partnerPopulationId"]!.GetValue<string>();
    }

    public Task DisposeAsync()
    {
        App.Dispose();
        return Task.CompletedTask;
    }
}
