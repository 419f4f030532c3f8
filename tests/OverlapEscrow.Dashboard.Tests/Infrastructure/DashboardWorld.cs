using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests.Infrastructure;

/// <summary>
/// One service on real Kestrel and a real SQLite file, with three companies set up through the API: Alpha and Beta,
/// partners, with the partner sample's CRM exports (tests/data/partners) hashed by the partner client; and Gamma, a
/// tenant that is nobody's partner. Beta shares its customers with two fields and its opportunities as counts only
/// with a minimum no cell reaches; Alpha shares its customers with two fields and its prospects as counts.
/// </summary>
public sealed class DashboardWorld : IAsyncLifetime
{
    public const string Password = EscrowClient.Password;

    public EscrowApp App { get; } = new(new Dictionary<string, string?>
    {
        ["Escrow:RateLimits:LoginPerEmail:PermitLimit"] = "1000",
        ["Escrow:RateLimits:LoginPerAddress:PermitLimit"] = "1000",
        ["Escrow:RateLimits:SignupPerAddress:PermitLimit"] = "1000",
        ["Escrow:Schedules:PollSeconds"] = "1",
    }, kestrel: true);

    public Chromium Chromium { get; } = new();
    public string BaseUrl { get; private set; } = "";

    public Org Alpha { get; private set; } = null!;
    public Org Beta { get; private set; } = null!;
    public Org Gamma { get; private set; } = null!;
    public string Partnership { get; private set; } = "";
    public string AlphaCustomers { get; private set; } = "";
    public string AlphaProspects { get; private set; } = "";
    public string BetaCustomers { get; private set; } = "";
    public string BetaOpportunities { get; private set; } = "";
    public string GammaCustomers { get; private set; } = "";

    public static string AdminOf(Org org) => $"admin@{org.Slug}.example";

    public async Task InitializeAsync()
    {
        await Chromium.InitializeAsync();
        BaseUrl = App.CreateClient().BaseAddress!.ToString().TrimEnd('/');
        Alpha = await App.SignupAsync("alpha");
        Beta = await App.SignupAsync("beta");
        Gamma = await App.SignupAsync("gamma");
        AlphaCustomers = await Alpha.CreatePopulationAsync("Customers");
        AlphaProspects = await Alpha.CreatePopulationAsync("Prospects", "prospects");
        BetaCustomers = await Beta.CreatePopulationAsync("Customers");
        BetaOpportunities = await Beta.CreatePopulationAsync("Open Opportunities", "opportunities");
        GammaCustomers = await Gamma.CreatePopulationAsync("Gamma Customers");
        await Alpha.UploadOkAsync(AlphaCustomers, PartnerData.Ndjson("alpha", "customers"));
        await Alpha.UploadOkAsync(AlphaProspects, PartnerData.Ndjson("alpha", "prospects"));
        await Beta.UploadOkAsync(BetaCustomers, PartnerData.Ndjson("beta", "customers"));
        await Beta.UploadOkAsync(BetaOpportunities, PartnerData.Ndjson("beta", "opportunities"));
        await Gamma.UploadOkAsync(GammaCustomers, PartnerData.Ndjson("beta", "customers"));

        await Alpha.ShareAsync(AlphaCustomers, "overlaps", "accountName", "owner");
        await Alpha.ShareAsync(AlphaProspects, "counts");
        await Beta.ShareAsync(BetaCustomers, "overlaps", "accountName", "stage");
        await EscrowClient.Expect(await Beta.Http.PutAsJsonAsync($"/v1/populations/{BetaOpportunities}/sharing",
            new { level = "counts", fields = Array.Empty<string>(), minimumCount = 100000 }), HttpStatusCode.OK);
        await Gamma.ShareAsync(GammaCustomers, "overlaps", "accountName", "owner", "stage");
        Partnership = await Alpha.PartnerAsync(Beta);
    }

    /// <summary>A browser context signed in as the member with this email (the dashboard's own sign-in form).</summary>
    public Task<IPage> SignInAsync(string email, string password = Password) => SignInAtAsync(BaseUrl, email, password);

    /// <summary>A browser context signed in at another service (the demo's) as the member with this email.</summary>
    public async Task<IPage> SignInAtAsync(string baseUrl, string email, string password)
    {
        var context = await Chromium.NewContextAsync(baseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/signin");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await SubmitAsync(page, page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }), u => !u.Contains("/signin", StringComparison.Ordinal),
            $"signing in as {email}");
        return page;
    }

    /// <summary>
    /// Clicks a form's submit button and waits for the browser to arrive where <paramref name="arrived"/> says. A wait
    /// that times out says what the browser got meanwhile, what the page shows and the service's last log lines, so a
    /// failure names its cause rather than only the timeout.
    /// </summary>
    public async Task SubmitAsync(IPage page, ILocator button, Func<string, bool> arrived, string what)
    {
        var responses = new List<string>();
        void Seen(object? sender, IResponse response)
        {
            lock (responses) responses.Add($"{response.Request.Method} {new Uri(response.Url).PathAndQuery} {response.Status}");
        }
        page.Response += Seen;
        try
        {
            await button.ClickAsync();
            // Arrived when the page's address is one `arrived` accepts; what a test then checks on the page, its
            // assertions wait for. Polled, not WaitForURLAsync: when the navigation had already committed by the time
            // the wait began (a fast redirect, the click returning after it), WaitForURLAsync found the address matching
            // and then waited for a "commit" load state that is never reported again — CI timed out that way with
            // the page at the very address (POST /signup 302, GET /populations 200); with the default "load" it had
            // timed out twice with the address reached and the network idle.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!arrived(page.Url))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"no address accepted within 60 s");
                await Task.Delay(25);
            }
        }
        catch (TimeoutException e)
        {
            var says = await page.Locator("[role=alert], .field-error").AllInnerTextsAsync();
            string seen;
            lock (responses) seen = string.Join("; ", responses);
            var log = App.Logs.Where(l => !l.StartsWith("Debug", StringComparison.Ordinal)).TakeLast(40);
            throw new TimeoutException($"{what}: the page stayed at {page.Url}. Responses: [{seen}]. The page says: [{string.Join(" | ", says)}]. " +
                $"The service's last log lines:\n{string.Join("\n", log)}", e);
        }
        finally
        {
            page.Response -= Seen;
        }
    }

    /// <summary>Adds a member with a role to an organization through the API; returns its email.</summary>
    public async Task<string> MemberAsync(Org org, string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@{org.Slug}.example";
        await EscrowClient.Expect(await org.Http.PostAsJsonAsync("/v1/members", new { email, password = Password, role }), HttpStatusCode.Created);
        return email;
    }

    public async Task<JsonObject> MatrixAsync(Org org) => await org.MatrixAsync(Partnership);

    public async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        App.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardWorld>
{
    public const string Name = "dashboard";
}
