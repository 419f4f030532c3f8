using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>An organization signed up through the API, with an HTTP client carrying its admin's access token.</summary>
public sealed class Org(string id, string slug, HttpClient http, string refreshToken)
{
    public string Id { get; } = id;
    public string Slug { get; } = slug;
    public HttpClient Http { get; } = http;
    public string RefreshToken { get; } = refreshToken;
}

public static class EscrowClient
{
    public const string Password = "correct horse battery staple";

    public static async Task<Org> SignupAsync(this EscrowApp app, string slug, string? name = null)
    {
        var http = app.CreateClient();
        var response = await http.PostAsJsonAsync("/v1/signup", new
        {
            organizationName = name ?? slug + " Inc.", organizationSlug = slug, email = $"admin@{slug}.example", password = Password,
        });
        await Expect(response, HttpStatusCode.Created);
        var body = await Json(response);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["tokens"]!["accessToken"]!.GetValue<string>());
        return new Org(body["organization"]!["id"]!.GetValue<string>(), slug, http, body["tokens"]!["refreshToken"]!.GetValue<string>());
    }

    /// <summary>An HTTP client of the organization's admin (as <see cref="SignupAsync"/> made it), signed in on this app: a restarted service, say.</summary>
    public static async Task<HttpClient> SignInAsync(this EscrowApp app, string slug)
    {
        var http = app.CreateClient();
        var login = await http.PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
        return http;
    }

    /// <summary>An HTTP client authorized as a new member of the organization with the given role.</summary>
    public static async Task<HttpClient> MemberAsync(this EscrowApp app, Org org, string role)
    {
        var email = $"{role}-{Guid.NewGuid():N}@{org.Slug}.example";
        await Expect(await org.Http.PostAsJsonAsync("/v1/members", new { email, password = Password, role }), HttpStatusCode.Created);
        var http = app.CreateClient();
        var login = await http.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        await Expect(login, HttpStatusCode.OK);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
        return http;
    }

    public static async Task<string> CreatePopulationAsync(this Org org, string name, string type = "customers")
    {
        var response = await org.Http.PostAsJsonAsync("/v1/populations", new { name, type });
        await Expect(response, HttpStatusCode.Created);
        return (await Json(response))["id"]!.GetValue<string>();
    }

    public static Task<HttpResponseMessage> UploadAsync(this HttpClient http, string populationId, string body, string contentType = "application/x-ndjson",
        bool delta = false, string? query = null, string? idempotencyKey = null, string? hashingSpec = null)
    {
        var request = new HttpRequestMessage(delta ? HttpMethod.Post : HttpMethod.Put, $"/v1/populations/{populationId}/records{query}")
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        if (hashingSpec is not null) request.Headers.Add("Hashing-Spec", hashingSpec);
        return http.SendAsync(request);
    }

    public static async Task<JsonObject> UploadOkAsync(this Org org, string populationId, string body, bool delta = false)
    {
        var response = await org.Http.UploadAsync(populationId, body, delta: delta);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    public static async Task ShareAsync(this Org org, string populationId, string level, params string[] fields)
    {
        var response = await org.Http.PutAsJsonAsync($"/v1/populations/{populationId}/sharing", new { level, fields, minimumCount = (int?)null });
        await Expect(response, HttpStatusCode.OK);
    }

    /// <summary>Forms an active partnership: <paramref name="inviter"/> invites, <paramref name="invitee"/> accepts.</summary>
    public static async Task<string> PartnerAsync(this Org inviter, Org invitee)
    {
        var invite = await inviter.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = invitee.Slug });
        await Expect(invite, HttpStatusCode.Created);
        var id = (await Json(invite))["id"]!.GetValue<string>();
        await Expect(await invitee.Http.PostAsync($"/v1/partnerships/{id}/accept", null), HttpStatusCode.OK);
        return id;
    }

    /// <summary>The owner's privacy report for a partner (budget, settings in force).</summary>
    public static async Task<JsonObject> PrivacyAsync(this Org org, string partnershipId)
    {
        var response = await org.Http.GetAsync($"/v1/partnerships/{partnershipId}/privacy");
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    /// <summary>Replaces the owner's privacy settings for the partner of a partnership.</summary>
    public static async Task<JsonObject> SetPrivacyAsync(this Org org, string partnershipId, object settings)
    {
        var response = await org.Http.PutAsJsonAsync($"/v1/partnerships/{partnershipId}/privacy", settings);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    /// <summary>
    /// Settings that make the noise negligible (ε = 10 per release: the noise is 0 with probability 0.99991; ten releases
    /// a period), for tests about what is counted rather than about the noise. Still the noised path: bounded count,
    /// noise, minimum. Set them before the cells under test get their first release.
    /// </summary>
    public static Task<JsonObject> NearlyExactAsync(this Org owner, string partnershipId) =>
        owner.SetPrivacyAsync(partnershipId, new { epsilonPerPeriod = 100, epsilonPerRelease = 10, refreshIntervalMinutes = 0 });

    public static async Task<JsonObject> MatrixAsync(this Org org, string partnershipId)
    {
        var response = await org.Http.GetAsync($"/v1/partnerships/{partnershipId}/overlaps");
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    /// <summary>The matrix cell for a pair of populations, or null when the pair has no cell.</summary>
    public static JsonNode? Cell(this JsonObject matrix, string myPopulationId, string partnerPopulationId) =>
        matrix["cells"]!.AsArray().FirstOrDefault(c => c!["myPopulationId"]!.GetValue<string>() == myPopulationId
                                                    && c["partnerPopulationId"]!.GetValue<string>() == partnerPopulationId);

    /// <summary>All pages of an overlap list, in order.</summary>
    public static async Task<List<JsonNode>> ListAllAsync(this Org org, string partnershipId, string mine, string theirs, int limit = 100)
    {
        var items = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var url = $"/v1/partnerships/{partnershipId}/overlaps/{mine}/{theirs}?limit={limit}" + (cursor is null ? "" : $"&cursor={cursor}");
            var response = await org.Http.GetAsync(url);
            await Expect(response, HttpStatusCode.OK);
            var page = await Json(response);
            items.AddRange(page["items"]!.AsArray().Select(i => i!.DeepClone()));
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null);
        return items;
    }

    public static async Task<JsonObject> Json(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Asserts a status code, showing the body when it differs (the API's problem details say why).</summary>
    public static async Task Expect(HttpResponseMessage response, HttpStatusCode status)
    {
        if (response.StatusCode != status)
            Assert.Fail($"Expected {(int)status} but got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Asserts an RFC 9457 problem response with the given status, and returns its body.</summary>
    public static async Task<JsonObject> ExpectProblem(HttpResponseMessage response, HttpStatusCode status)
    {
        await Expect(response, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await Json(response);
        Assert.Equal((int)status, body["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(body["title"]?.GetValue<string>()));
        return body;
    }

    public static string Serialize(object value) => JsonSerializer.Serialize(value);
}
