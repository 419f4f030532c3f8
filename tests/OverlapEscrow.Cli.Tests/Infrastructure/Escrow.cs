using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace OverlapEscrow.Cli.Tests.Infrastructure;

/// <summary>An organization signed up through the API: an admin's HTTP client and an API key for the command line.</summary>
public sealed record Org(string Slug, HttpClient Admin, string ApiKey);

/// <summary>The API steps a partner takes by hand (signup, keys, sharing, partnerships), for setting up command-line tests.</summary>
public static class Escrow
{
    public const string Server = "http://localhost";

    public static async Task<Org> SignupAsync(this EscrowApp app, string slug)
    {
        var http = app.CreateClient();
        var signup = await http.PostAsJsonAsync("/v1/signup", new
        {
            organizationName = slug + " Inc.", organizationSlug = slug, email = $"admin@{slug}.example", password = "correct horse battery staple",
        });
        var body = await ExpectAsync(signup, HttpStatusCode.Created);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["tokens"]!["accessToken"]!.GetValue<string>());
        var key = await ExpectAsync(await http.PostAsJsonAsync("/v1/api-keys", new
        {
            name = "crm-export", scopes = new[] { "populations:write", "overlaps:read", "schedules:write" },
        }), HttpStatusCode.Created);
        return new Org(slug, http, key["secret"]!.GetValue<string>());
    }

    public static async Task<string> PopulationIdAsync(this Org org, string name)
    {
        var response = await org.Admin.GetAsync("/v1/populations");
        var list = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        return list.Single(p => p!["name"]!.GetValue<string>() == name)!["id"]!.GetValue<string>();
    }

    public static async Task<string> CreatePopulationAsync(this Org org, string name, string type = "customers") =>
        (await ExpectAsync(await org.Admin.PostAsJsonAsync("/v1/populations", new { name, type }), HttpStatusCode.Created))["id"]!.GetValue<string>();

    public static async Task ShareAsync(this Org org, string populationId, string level, int? minimumCount = null, params string[] fields) =>
        await ExpectAsync(await org.Admin.PutAsJsonAsync($"/v1/populations/{populationId}/sharing", new { level, fields, minimumCount }), HttpStatusCode.OK);

    /// <summary>An active partnership: <paramref name="inviter"/> invites, <paramref name="invitee"/> accepts.</summary>
    public static async Task<string> PartnerAsync(this Org inviter, Org invitee)
    {
        var invite = await ExpectAsync(await inviter.Admin.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = invitee.Slug }), HttpStatusCode.Created);
        var id = invite["id"]!.GetValue<string>();
        await ExpectAsync(await invitee.Admin.PostAsync($"/v1/partnerships/{id}/accept", null), HttpStatusCode.OK);
        return id;
    }

    /// <summary>Audit events of an action, as the organization's admin reads them.</summary>
    public static async Task<int> AuditCountAsync(this Org org, string action)
    {
        var body = await ExpectAsync(await org.Admin.GetAsync("/v1/audit?limit=1000"), HttpStatusCode.OK);
        return body["items"]!.AsArray().Count(i => i!["action"]!.GetValue<string>() == action);
    }

    public static async Task<JsonObject> ExpectAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} but got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!.AsObject();
    }
}
