using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>Every error answer is problem+json, whatever the Accept header asks for (a CSV export, a browser).</summary>
public sealed class ProblemTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _alpha = null!, _beta = null!;
    private string _partnership = "", _mine = "", _theirs = "";

    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
        _mine = await _alpha.CreatePopulationAsync("Customers");
        _theirs = await _beta.CreatePopulationAsync("Customers");
        await _alpha.UploadOkAsync(_mine, Records.Range("A", 0, 10));
        await _beta.UploadOkAsync(_theirs, Records.Range("B", 0, 10));
        _partnership = await _alpha.PartnerAsync(_beta);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string accept)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.ParseAdd(accept);
        return http.SendAsync(request);
    }

    /// <summary>A problem+json answer with status and title (<see cref="ExpectProblem"/>), customized as every problem is: no trace id.</summary>
    private static async Task<JsonObject> ExpectProblemJson(HttpResponseMessage response, HttpStatusCode status, string? type = null)
    {
        var problem = await ExpectProblem(response, status);
        Assert.Null(problem["traceId"]);
        if (type is not null) Assert.Equal(type, problem["type"]!.GetValue<string>());
        return problem;
    }

    private string List(string query = "") => $"/v1/partnerships/{_partnership}/overlaps/{_mine}/{_theirs}{query}";

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task AHiddenCellOfTheListIsAProblemJsonWhateverTheAcceptHeader(string accept)
    {
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, List(), accept), HttpStatusCode.NotFound,
            "urn:overlap-escrow:problem:not-found");
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, List("?format=csv"), accept), HttpStatusCode.NotFound,
            "urn:overlap-escrow:problem:not-found");
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task ACountsOnlyCellAnInvalidLimitAndAnUnreadableLimitAreProblemJsonWhateverTheAcceptHeader(string accept)
    {
        await _beta.ShareAsync(_theirs, "counts");
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, List(), accept), HttpStatusCode.Forbidden,
            "urn:overlap-escrow:problem:forbidden");
        await _beta.ShareAsync(_theirs, "overlaps");
        var invalid = await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, List("?limit=0"), accept), HttpStatusCode.BadRequest);
        Assert.NotNull(invalid["errors"]!["limit"]);
        // A query that does not bind fails in the framework and reaches the exception handler.
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, List("?format=csv&limit=many"), accept), HttpStatusCode.BadRequest,
            "urn:overlap-escrow:problem:bad-request");
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task ARequestWithoutATokenIsAProblemJsonWhateverTheAcceptHeader(string accept)
    {
        using var anonymous = _app.CreateClient();
        var response = await SendAsync(anonymous, HttpMethod.Get, List(), accept);
        await ExpectProblemJson(response, HttpStatusCode.Unauthorized, "https://tools.ietf.org/html/rfc9110#section-15.5.2");
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task ARoleThatMayNotUseAnEndpointGetsAProblemJsonWhateverTheAcceptHeader(string accept)
    {
        using var viewer = await _app.MemberAsync(_alpha, "viewer");
        await ExpectProblemJson(await SendAsync(viewer, HttpMethod.Get, "/v1/audit", accept), HttpStatusCode.Forbidden,
            "https://tools.ietf.org/html/rfc9110#section-15.5.4");
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task AnUnknownRouteIsAProblemJsonWhateverTheAcceptHeader(string accept)
    {
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Get, "/v1/no-such-thing", accept), HttpStatusCode.NotFound,
            "https://tools.ietf.org/html/rfc9110#section-15.5.5");
    }

    [Theory]
    [InlineData("text/csv")]
    [InlineData("text/html")]
    public async Task AWrongMethodIsAProblemJsonWhateverTheAcceptHeader(string accept)
    {
        await ExpectProblemJson(await SendAsync(_alpha.Http, HttpMethod.Delete, List(), accept), HttpStatusCode.MethodNotAllowed,
            "https://tools.ietf.org/html/rfc9110#section-15.5.6");
    }

    /// <summary>What the exception handler every endpoint shares answers to <paramref name="exception"/>.</summary>
    private async Task<(int Status, string RetryAfter, JsonNode Body, string Raw)> HandledAsync(Exception exception, string method, string path)
    {
        var handler = _app.Services.GetServices<Microsoft.AspNetCore.Diagnostics.IExceptionHandler>().OfType<OverlapEscrow.Api.Infrastructure.ProblemExceptionHandler>().Single();
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext { RequestServices = _app.Services };
        http.Request.Method = method;
        http.Request.Path = path;
        http.Response.Body = new MemoryStream();
        Assert.True(await handler.TryHandleAsync(http, exception, CancellationToken.None));
        http.Response.Body.Position = 0;
        var raw = await new StreamReader(http.Response.Body).ReadToEndAsync();
        return (http.Response.StatusCode, http.Response.Headers.RetryAfter.ToString(), JsonNode.Parse(raw)!, raw);
    }

    [Fact]
    public async Task AnOrganizationErasedWhileARequestRunsIsA404NotA500()
    {
        // The keyring's answer once the organization is erased mid-request (an upload on one instance, the erasure on another).
        var (status, _, problem, _) = await HandledAsync(new OverlapEscrow.Application.Keys.OrganizationGoneException(), "PUT", $"/v1/populations/{_mine}/records");
        Assert.Equal(404, status);
        Assert.Equal("urn:overlap-escrow:problem:not-found", problem["type"]!.GetValue<string>());
        Assert.Equal("The organization no longer exists", problem["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task ADatabaseThatIsAwayIsA503WithRetryAfterNotA500()
    {
        // What the PostgreSQL driver throws when the server refuses or drops the connection: transient.
        var away = new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:1", new System.Net.Sockets.SocketException(111));
        Assert.True(away.IsTransient);
        var (status, retryAfter, problem, raw) = await HandledAsync(away, "GET", "/v1/populations");
        Assert.Equal((503, "5"), (status, retryAfter));
        Assert.Equal("urn:overlap-escrow:problem:unavailable", problem["type"]!.GetValue<string>());
        Assert.DoesNotContain("127.0.0.1", raw);
    }

    [Fact]
    public async Task ARowDeletedMeanwhileIsA409AndAVersionReplacedOnEveryRetryIsA503NeitherA500()
    {
        // What PostgreSQL answers when a webhook, a population or an erased organization went between a read and a write.
        var gone = new Npgsql.PostgresException("insert or update on table \"webhook_deliveries\" violates foreign key constraint", "ERROR", "ERROR", "23503");
        var (status, _, problem, raw) = await HandledAsync(gone, "PUT", $"/v1/partnerships/{_partnership}/sharing");
        Assert.Equal(409, status);
        Assert.Equal(("urn:overlap-escrow:problem:conflict", "Changed meanwhile"), (problem["type"]!.GetValue<string>(), problem["title"]!.GetValue<string>()));
        Assert.DoesNotContain("webhook_deliveries", raw);

        var (readStatus, retryAfter, readProblem, _) = await HandledAsync(new OverlapEscrow.Application.Overlaps.VersionGoneException(), "GET", $"/v1/partnerships/{_partnership}/overlaps");
        Assert.Equal((503, "1"), (readStatus, retryAfter));
        Assert.Equal("The data changed while it was read", readProblem["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task AQueryValueThatDoesNotBindNamesItsParameterWithoutRepeatingTheValue()
    {
        foreach (var path in new[] { $"/v1/partnerships/{_partnership}/data-requests?limit=abc", "/v1/audit?limit=1.5" })
        {
            var response = await _alpha.Http.GetAsync(path);
            var problem = await ExpectProblem(response, HttpStatusCode.BadRequest);
            Assert.True(problem["errors"]?["limit"] is not null, path + ": " + problem.ToJsonString());
            Assert.DoesNotContain("abc", problem.ToJsonString());
            Assert.DoesNotContain("1.5", problem.ToJsonString());
        }
    }

    [Fact]
    public async Task AnOverLongUrlIsA414ProblemFromTheServiceItselfNotTheWebServersBareStatus()
    {
        // A real process: Kestrel, not the in-process test server, answered a long request line with an empty 414.
        var directory = Directory.CreateTempSubdirectory("oe-long-url-").FullName;
        try
        {
            using var service = await ServiceProcess.StartAsync(directory, new Dictionary<string, string>());
            using var http = service.CreateClient();
            foreach (var length in new[] { 10_000, 20_000 })
            {
                var response = await http.GetAsync("/v1/overlaps?cursor=" + new string('z', length));
                var problem = await ExpectProblem(response, HttpStatusCode.RequestUriTooLong);
                Assert.Equal("urn:overlap-escrow:problem:uri-too-long", problem["type"]!.GetValue<string>());
                Assert.DoesNotContain("zzzz", problem.ToJsonString());
            }
            // Measured as sent: a percent-encoded path decodes to a third of its length.
            var encoded = await http.GetAsync("/v1/" + string.Concat(Enumerable.Repeat("%25", 3_000)));
            Assert.Equal("urn:overlap-escrow:problem:uri-too-long", (await ExpectProblem(encoded, HttpStatusCode.RequestUriTooLong))["type"]!.GetValue<string>());
            // Up to the limit the request is read as any other (here: not signed in).
            await ExpectProblem(await http.GetAsync("/v1/populations?cursor=" + new string('z', 8_000)), HttpStatusCode.Unauthorized);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task EveryApiAnswerIsKeptByNoCacheItsErrorsIncluded()
    {
        // A JSON answer carrying partner data had no Cache-Control (the CSV downloads and the pages had no-store).
        await _beta.ShareAsync(_theirs, "overlaps");
        foreach (var path in new[] { "/v1/me", $"/v1/partnerships/{_partnership}/overlaps", $"/v1/partnerships/{_partnership}/overlaps/{_mine}/{_theirs}", "/v1/populations/pop_nope" })
        {
            var response = await _alpha.Http.GetAsync(path);
            Assert.True(response.Headers.CacheControl?.NoStore == true, $"{path}: {response.Headers.CacheControl}");
        }
    }
}
