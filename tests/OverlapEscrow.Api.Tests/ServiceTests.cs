using System.Net;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;

namespace OverlapEscrow.Api.Tests;

/// <summary>Health, the OpenAPI document, the demo, and a restart on the same data directory.</summary>
public sealed class ServiceTests
{
    [Fact]
    public async Task HealthAnswersWithoutAuthentication()
    {
        using var app = new EscrowApp();
        var response = await app.CreateClient().GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryRequiredEndpoint()
    {
        using var app = new EscrowApp();
        var doc = JsonNode.Parse(await app.CreateClient().GetStringAsync("/openapi/v1.json"))!;
        var paths = doc["paths"]!.AsObject();
        var required = new (string Path, string Method)[]
        {
            ("/v1/signup", "post"), ("/v1/auth/login", "post"), ("/v1/auth/token", "post"), ("/v1/api-keys", "post"), ("/v1/api-keys", "get"),
            ("/v1/populations", "post"), ("/v1/populations", "get"), ("/v1/populations/{populationId}/records", "put"), ("/v1/populations/{populationId}/records", "post"),
            ("/v1/partnerships", "post"), ("/v1/partnerships", "get"), ("/v1/partnerships/{partnershipId}/accept", "post"),
            ("/v1/partnerships/{partnershipId}/decline", "post"), ("/v1/partnerships/{partnershipId}/terminate", "post"),
            ("/v1/partnerships/{partnershipId}/sharing", "get"), ("/v1/partnerships/{partnershipId}/sharing", "put"),
            ("/v1/partnerships/{partnershipId}/overlaps", "get"), ("/v1/partnerships/{partnershipId}/overlaps/{myPopulationId}/{partnerPopulationId}", "get"),
            ("/healthz", "get"),
        };
        foreach (var (path, method) in required)
            Assert.True(paths[path]?[method] is not null, $"{method.ToUpperInvariant()} {path} is missing from the OpenAPI document");
        foreach (var (path, item) in paths)
            foreach (var (method, operation) in item!.AsObject())
            {
                Assert.False(string.IsNullOrEmpty(operation!["operationId"]?.GetValue<string>()), $"{method} {path} has no operationId");
                Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()), $"{method} {path} has no summary");
                Assert.NotNull(operation["tags"]);
            }
    }

    [Fact]
    public async Task TheDemoShowsAPopulatedMatrixAndLoadsOnlyOnce()
    {
        var settings = new Dictionary<string, string?> { ["Escrow:Demo:Enabled"] = "true" };
        using var app = new EscrowApp(settings);
        var http = app.CreateClient();
        var login = await http.PostAsync("/v1/auth/login", JsonContent("""{"email":"admin@northwind.example","password":"demo-password-1"}"""));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        http.DefaultRequestHeaders.Authorization = new("Bearer", (await EscrowClient.Json(login))["accessToken"]!.GetValue<string>());
        var partnerships = JsonNode.Parse(await http.GetStringAsync("/v1/partnerships"))!.AsArray();
        // Contoso (overlaps and counts, listed first: the newest) and Fabrikam (customers at the counts level only).
        Assert.Equal(["contoso", "fabrikam"], partnerships.Select(p => p!["partner"]!["slug"]!.GetValue<string>()));
        Assert.All(partnerships, p => Assert.Equal("active", p!["status"]!.GetValue<string>()));
        var partnership = partnerships[0]!;
        var matrix = await EscrowClient.MatrixAsync(new Org("", "northwind", http, ""), partnership["id"]!.GetValue<string>());
        Assert.Equal(6, matrix["cells"]!.AsArray().Count); // Northwind's customers, prospects and pipeline × Contoso's two
        Assert.All(matrix["cells"]!.AsArray(), c => Assert.True(c!["count"]!.GetValue<int>() > 0));
        // Data requests and attribution claims, so their pages show something: two received (one declined), three claims made.
        var requests = JsonNode.Parse(await http.GetStringAsync("/v1/data-requests"))!["items"]!.AsArray();
        Assert.Equal(["declined", "open"], requests.Select(r => r!["status"]!.GetValue<string>()).Order());
        Assert.All(requests, r => Assert.Equal("received", r!["direction"]!.GetValue<string>()));
        var claims = JsonNode.Parse(await http.GetStringAsync("/v1/attributions"))!["items"]!.AsArray();
        Assert.Equal(["claimed", "confirmed", "disputed"], claims.Select(c => c!["status"]!.GetValue<string>()).Order());
        Assert.All(claims, c => Assert.NotEmpty(c!["evidence"]!.AsArray()));
        // Fabrikam's figures, and the coverage over all partners, are released with noise and their margins.
        var health = JsonNode.Parse(await http.GetStringAsync("/v1/health/pipeline?period=2026"))!;
        var fabrikam = health["partners"]!.AsArray().Single(p => p!["partner"]!["slug"]!.GetValue<string>() == "fabrikam")!;
        Assert.Equal("counts_only", fabrikam["access"]!.GetValue<string>());
        Assert.NotNull(fabrikam["figures"]);
        Assert.Equal(0.1m, fabrikam["released"]!["releases"]![0]!["epsilon"]!.GetValue<decimal>());
        Assert.Equal([partnerships[1]!["id"]!.GetValue<string>()], health["overallReleased"]!["chargedPartnershipIds"]!.AsArray().Select(x => x!.GetValue<string>()));

        using var again = new EscrowApp(settings, app.DataDirectory);
        var second = again.CreateClient();
        var relogin = await second.PostAsync("/v1/auth/login", JsonContent("""{"email":"admin@northwind.example","password":"demo-password-1"}"""));
        second.DefaultRequestHeaders.Authorization = new("Bearer", (await EscrowClient.Json(relogin))["accessToken"]!.GetValue<string>());
        Assert.Equal(2, JsonNode.Parse(await second.GetStringAsync("/v1/partnerships"))!.AsArray().Count);
        Assert.Equal(3, JsonNode.Parse(await second.GetStringAsync("/v1/attributions"))!["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task DataAndKeysSurviveARestart()
    {
        using var first = new EscrowApp();
        var org = await first.SignupAsync("durable");
        var population = await org.CreatePopulationAsync("Customers");
        await org.UploadOkAsync(population, Records.Range("R", 0, 20));
        var partner = await first.SignupAsync("durable-partner");
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.UploadOkAsync(theirs, Records.Range("Q", 10, 20));
        await partner.ShareAsync(theirs, "counts");
        var partnership = await org.PartnerAsync(partner);
        // The counts level is privacy-protected: the cell holds a released value (it used to be the exact 10), and that
        // stored value is what a restarted service shows, not a fresh draw.
        var before = (await org.MatrixAsync(partnership)).Cell(population, theirs)!;
        Assert.True(before["privacy"]!["protected"]!.GetValue<bool>());

        using var second = new EscrowApp(new Dictionary<string, string?>(), first.DataDirectory);
        var http = second.CreateClient();
        http.DefaultRequestHeaders.Authorization = org.Http.DefaultRequestHeaders.Authorization;
        var again = await EscrowClient.MatrixAsync(new Org(org.Id, org.Slug, http, ""), partnership);
        Assert.Equal(before.ToJsonString(), again.Cell(population, theirs)!.ToJsonString());
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
