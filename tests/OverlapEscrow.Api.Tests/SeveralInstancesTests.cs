using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Http;
using Npgsql;
using OverlapEscrow.Api.Tests.Infrastructure;
using Xunit.Abstractions;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Three real service processes (<c>dotnet OverlapEscrow.Api.dll</c>) on one PostgreSQL database, one secrets directory and
/// loopback ports, behaving as one service (docs/operations.md, "Several instances"): requests alternate between them and
/// each sees what the previous one left. Instance B runs from a copy of the service installed in another folder, as a
/// second machine would. PostgreSQL only: skipped, with the reason, without OE_TEST_POSTGRES.
/// </summary>
public sealed class SeveralInstancesTests(SeveralInstancesTests.Instances instances, ITestOutputHelper output) : IClassFixture<SeveralInstancesTests.Instances>
{
    private ServiceProcess A => instances.A!;
    private ServiceProcess B => instances.B!;

    /// <summary>An organization's admin token, used on another instance than the one that issued it.</summary>
    private static HttpClient On(ServiceProcess instance, Org org)
    {
        var http = instance.CreateClient();
        http.DefaultRequestHeaders.Authorization = org.Http.DefaultRequestHeaders.Authorization;
        return http;
    }

    /// <summary>
    /// Alpha (signed up on A) and beta (signed up on B) in an active partnership, alpha's Customers d0…d39, beta's d0…d29
    /// shared at the overlaps level with the account name: 30 overlapping accounts.
    /// </summary>
    private async Task<(Org Alpha, Org Beta, string Partnership, string Mine, string Theirs)> PartnersAsync(string prefix)
    {
        var alpha = await A.SignupAsync(prefix + "-alpha");
        var beta = await B.SignupAsync(prefix + "-beta");
        var mine = await alpha.CreatePopulationAsync("Customers");
        var theirs = await beta.CreatePopulationAsync("Customers");
        await alpha.UploadOkAsync(mine, Records.Range("A", 0, 40));
        await beta.UploadOkAsync(theirs, Records.Range("B", 0, 30, "accountName"));
        await beta.ShareAsync(theirs, "overlaps", "accountName");
        var invite = await alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = beta.Slug });
        await Expect(invite, HttpStatusCode.Created);
        var partnership = (await Json(invite))["id"]!.GetValue<string>();
        // Accepted on A, by beta's token from B.
        await Expect(await On(A, beta).PostAsync($"/v1/partnerships/{partnership}/accept", null), HttpStatusCode.OK);
        return (alpha, beta, partnership, mine, theirs);
    }

    private static string ListUrl(string partnership, string mine, string theirs, int limit = 100, string? cursor = null) =>
        $"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}?limit={limit}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");

    private static async Task<int> ListCountAsync(HttpClient http, string partnership, string mine, string theirs)
    {
        var response = await http.GetAsync(ListUrl(partnership, mine, theirs, 500));
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["items"]!.AsArray().Count;
    }

    [PostgresProcessFact]
    public async Task EveryInstanceIsReadyAndLogsItsDatabaseWithoutTheConnectionStringsSecrets()
    {
        foreach (var instance in instances.All)
        {
            using var http = instance.CreateClient();
            var ready = await http.GetAsync("/readyz");
            await Expect(ready, HttpStatusCode.OK);
            Assert.Equal("ready", (await Json(ready))["status"]!.GetValue<string>());
            Assert.Contains($"Database: postgres {instances.Host}:{instances.Port}/{instances.Database}", instance.Output);
            Assert.DoesNotContain(Instances.Password, instance.Output);
            Assert.DoesNotContain("Username=", instance.Output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [PostgresProcessFact]
    public async Task TokensRefreshTokensAndApiKeysIssuedByOneInstanceAreAcceptedByTheOthers()
    {
        var org = await A.SignupAsync("procs-login");
        using var anonymous = A.CreateClient();
        var login = await anonymous.PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        var tokens = await Json(login);
        foreach (var instance in instances.All)
        {
            using var http = instance.CreateClient();
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens["accessToken"]!.GetValue<string>());
            await Expect(await http.GetAsync("/v1/me"), HttpStatusCode.OK);
        }

        // The refresh token from A, used once on B; its second use, on A, is refused (the session's family is in the database).
        using var anonymousOnB = B.CreateClient();
        var refresh = new { refreshToken = tokens["refreshToken"]!.GetValue<string>() };
        await Expect(await anonymousOnB.PostAsJsonAsync("/v1/auth/refresh", refresh), HttpStatusCode.OK);
        await ExpectProblem(await anonymous.PostAsJsonAsync("/v1/auth/refresh", refresh), HttpStatusCode.Unauthorized);

        // An API key made on A is exchanged for a token on B, which A accepts.
        var key = await org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "crm-export", scopes = new[] { "populations:write" } });
        await Expect(key, HttpStatusCode.Created);
        var exchange = await anonymousOnB.PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_secret"] = (await Json(key))["secret"]!.GetValue<string>(),
        }));
        await Expect(exchange, HttpStatusCode.OK);
        using var keyOnA = A.CreateClient();
        keyOnA.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(exchange))["access_token"]!.GetValue<string>());
        await Expect(await keyOnA.PostAsJsonAsync("/v1/populations", new { name = "Exported", type = "customers" }), HttpStatusCode.Created);
    }

    [PostgresProcessFact]
    public async Task ASharingChangeOnOneInstanceTakesEffectOnTheVeryNextReadOnAnother()
    {
        var (alpha, beta, partnership, mine, theirs) = await PartnersAsync("procs-share");
        using var alphaOnB = On(B, alpha);
        // A reads (and caches) the cell first, so a stale cache on A would show below.
        Assert.Equal(30, await ListCountAsync(alpha.Http, partnership, mine, theirs));
        Assert.Equal(30, await ListCountAsync(alphaOnB, partnership, mine, theirs));

        await beta.ShareAsync(theirs, "hidden"); // beta's client is bound to B
        await ExpectProblem(await alpha.Http.GetAsync(ListUrl(partnership, mine, theirs)), HttpStatusCode.NotFound);
        await ExpectProblem(await alphaOnB.GetAsync(ListUrl(partnership, mine, theirs)), HttpStatusCode.NotFound);

        using var betaOnA = On(A, beta);
        var shareAgain = await betaOnA.PutAsJsonAsync($"/v1/populations/{theirs}/sharing", new { level = "overlaps", fields = new[] { "accountName" } });
        await Expect(shareAgain, HttpStatusCode.OK);
        Assert.Equal(30, await ListCountAsync(alphaOnB, partnership, mine, theirs));
    }

    [PostgresProcessFact]
    public async Task ATerminationOnOneInstanceRefusesTheNextReadOnAnother()
    {
        var (alpha, beta, partnership, mine, theirs) = await PartnersAsync("procs-end");
        Assert.Equal(30, await ListCountAsync(alpha.Http, partnership, mine, theirs)); // cached on A

        await Expect(await beta.Http.PostAsync($"/v1/partnerships/{partnership}/terminate", null), HttpStatusCode.OK); // on B
        await ExpectProblem(await alpha.Http.GetAsync(ListUrl(partnership, mine, theirs)), HttpStatusCode.Conflict);
        await ExpectProblem(await alpha.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps"), HttpStatusCode.Conflict);
    }

    [PostgresProcessFact]
    public async Task AListCursorIssuedByOneInstanceIsAcceptedByAnInstanceInstalledElsewhere()
    {
        var (alpha, _, partnership, mine, theirs) = await PartnersAsync("procs-cursor");
        var first = await alpha.Http.GetAsync(ListUrl(partnership, mine, theirs, limit: 10)); // on A
        await Expect(first, HttpStatusCode.OK);
        var page = await Json(first);
        var cursor = page["nextCursor"]!.GetValue<string>();
        var seen = page["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()).ToList();

        using var alphaOnB = On(B, alpha);
        while (cursor is not null)
        {
            var next = await alphaOnB.GetAsync(ListUrl(partnership, mine, theirs, limit: 10, cursor));
            await Expect(next, HttpStatusCode.OK);
            page = await Json(next);
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"A-{i:D5}"), seen);
    }

    [PostgresProcessFact]
    public async Task ADueScheduleRunsOnceAcrossInstancesAndItsWebhookEventIsDeliveredOnceWithOneId()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var source = await PullServer.StartAsync(async http =>
        {
            http.Response.ContentType = "application/x-ndjson";
            await http.Response.WriteAsync(Records.Range("S", 0, 20));
        });
        var org = await A.SignupAsync("procs-sync");
        var population = await org.CreatePopulationAsync("Synced");
        var hook = await org.Http.PostAsJsonAsync("/v1/webhooks", new { url = receiver.BaseUrl + "/sync", events = new[] { "sync.succeeded" } });
        await Expect(hook, HttpStatusCode.Created);
        var created = await org.Http.PostAsJsonAsync("/v1/schedules", new
        {
            name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = source.Url("/export.ndjson") },
        });
        await Expect(created, HttpStatusCode.Created);
        var schedule = (await Json(created))["id"]!.GetValue<string>();

        // Queued on B; every instance's runner polls every second and may claim it.
        using var orgOnB = On(B, org);
        await Expect(await orgOnB.PostAsync($"/v1/schedules/{schedule}/run", null), HttpStatusCode.Accepted);
        await WaitUntilAsync(async () => (await RunStatusesAsync(org.Http, schedule)).Contains("succeeded"), "the run succeeded");
        await WaitUntilAsync(() => Task.FromResult(!receiver.Requests.IsEmpty), "the webhook arrived");
        // Three poll periods of every runner and delivery worker more: nothing runs or arrives twice.
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        Assert.Equal(["succeeded"], await RunStatusesAsync(orgOnB, schedule));
        Assert.Equal(1, source.Hits("/export.ndjson"));
        var delivered = Assert.Single(receiver.Requests);
        Assert.Equal("sync.succeeded", delivered.Type);
        Assert.False(string.IsNullOrEmpty(delivered.Id), "the delivery carries no webhook-id");
        Assert.Equal(20, (await Json(await On(B, org).GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
    }

    [PostgresProcessFact]
    public async Task AScheduleOccurrenceThatComesDueWhileSeveralInstancesRunIsRunOnceByOneOfThem()
    {
        await using var source = await PullServer.StartAsync(async http =>
        {
            http.Response.ContentType = "application/x-ndjson";
            await http.Response.WriteAsync(Records.Range("O", 0, 12));
        });
        var org = await B.SignupAsync("procs-cron");
        var population = await org.CreatePopulationAsync("Nightly");
        var created = await org.Http.PostAsJsonAsync("/v1/schedules", new
        {
            name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = source.Url("/nightly.ndjson") },
        });
        await Expect(created, HttpStatusCode.Created);
        var schedule = (await Json(created))["id"]!.GetValue<string>();

        // The occurrence comes due, as the clocks reaching 03:00 would make it, while every instance's runner polls (1 s).
        await instances.MakeDueAsync(schedule);
        await WaitUntilAsync(async () => (await RunStatusesAsync(org.Http, schedule)).Contains("succeeded"), "the occurrence ran");
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        using var orgOnA = On(A, org);
        var runs = await orgOnA.GetAsync($"/v1/schedules/{schedule}/runs");
        await Expect(runs, HttpStatusCode.OK);
        var run = Assert.Single((await Json(runs))["items"]!.AsArray())!;
        Assert.Equal(("succeeded", "schedule"), (run["status"]!.GetValue<string>(), run["trigger"]!.GetValue<string>()));
        Assert.Equal(1, source.Hits("/nightly.ndjson"));
    }

    [PostgresProcessFact]
    public async Task ADashboardSessionFromOneInstanceIsAcceptedByAnotherAndSigningOutOnOneEndsItOnTheOther()
    {
        await A.SignupAsync("procs-dash");
        var cookies = new Dictionary<string, string>();
        using var onA = Browser(A);
        var form = await Keep(cookies, await onA.GetAsync("/signin"));
        var signedIn = await onA.SendAsync(Form(HttpMethod.Post, "/signin", cookies, new Dictionary<string, string>
        {
            ["email"] = "admin@procs-dash.example", ["password"] = Password, ["__RequestVerificationToken"] = AntiforgeryTokenOf(form),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        await Keep(cookies, signedIn);
        var session = new Dictionary<string, string>(cookies); // the cookies as they were at sign-in, kept

        using var onB = Browser(B);
        Assert.Equal(HttpStatusCode.OK, (await onB.SendAsync(Form(HttpMethod.Get, "/", session))).StatusCode);

        // Signed out on A (with the page's antiforgery token): the kept cookie is refused on B.
        var page = await Keep(cookies, await onA.SendAsync(Form(HttpMethod.Get, "/", cookies)));
        var signedOut = await onA.SendAsync(Form(HttpMethod.Post, "/signout", cookies, new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = AntiforgeryTokenOf(page),
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        var refused = await onB.SendAsync(Form(HttpMethod.Get, "/", session));
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Contains("/signin", refused.Headers.Location!.OriginalString);
    }

    /// <summary>A client that follows no redirect and keeps no cookie: the test sends them (the instances speak plain HTTP).</summary>
    private static HttpClient Browser(ServiceProcess instance) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = instance.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static HttpRequestMessage Form(HttpMethod method, string path, Dictionary<string, string> cookies, Dictionary<string, string>? fields = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (cookies.Count > 0) request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        if (fields is not null) request.Content = new FormUrlEncodedContent(fields);
        return request;
    }

    /// <summary>Keeps the cookies the response sets; returns its body.</summary>
    private static async Task<string> Keep(Dictionary<string, string> cookies, HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("Set-Cookie", out var set))
            foreach (var pair in set.Select(c => c.Split(';')[0]).Where(c => c.Contains('=')))
                cookies[pair[..pair.IndexOf('=')]] = pair[(pair.IndexOf('=') + 1)..];
        return await response.Content.ReadAsStringAsync();
    }

    private static string AntiforgeryTokenOf(string html)
    {
        var match = System.Text.RegularExpressions.Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"");
        Assert.True(match.Success, "the page carries no antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private static async Task<List<string>> RunStatusesAsync(HttpClient http, string schedule)
    {
        var response = await http.GetAsync($"/v1/schedules/{schedule}/runs");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["items"]!.AsArray().Select(r => r!["status"]!.GetValue<string>()).ToList();
    }

    [PostgresProcessFact]
    public async Task LoginRateLimitsAreCountedByEachInstanceForItself()
    {
        var org = await A.SignupAsync("procs-limits");
        var wrong = new { email = $"admin@{org.Slug}.example", password = "not the password" };
        using var onA = A.CreateClient();
        for (var i = 0; i < Instances.LoginsPerEmail; i++)
            await Expect(await onA.PostAsJsonAsync("/v1/auth/login", wrong), HttpStatusCode.Unauthorized);
        await ExpectProblem(await onA.PostAsJsonAsync("/v1/auth/login", wrong), HttpStatusCode.TooManyRequests);
        // Documented (docs/operations.md): each instance counts its own requests, so B has not seen these.
        using var onB = B.CreateClient();
        await Expect(await onB.PostAsJsonAsync("/v1/auth/login", new { wrong.email, password = Password }), HttpStatusCode.OK);
    }

    [PostgresProcessFact]
    public async Task AnInstanceKilledMidUploadLeavesNothingHalfVisibleWhileAnotherServesReadsAndTheRetryOnAnotherCommits()
    {
        var c = instances.C!;
        var (alpha, beta, partnership, mine, theirs) = await PartnersAsync("procs-kill");
        using var alphaOnB = On(B, alpha);
        using var betaOnB = On(B, beta);
        using var betaOnC = On(c, beta);
        Assert.Equal(30, await ListCountAsync(alpha.Http, partnership, mine, theirs)); // A caches beta's first version

        // Reads on B all the while: every one answers 200 with the committed version's 30 overlaps.
        using var stopReading = new CancellationTokenSource();
        var reads = Task.Run(async () =>
        {
            var answers = new List<int>();
            while (!stopReading.IsCancellationRequested)
            {
                answers.Add(await ListCountAsync(alphaOnB, partnership, mine, theirs));
                await Task.Delay(25);
            }
            return answers;
        });

        const string key = "nightly-snapshot-2027-01-04";
        var body = Encoding.UTF8.GetBytes(Records.Range("B", 0, 5000, "accountName"));
        var sent = await RawUpload.SendAsync(betaOnC, $"/v1/populations/{theirs}/records", body, body.Length / 2, between: async () =>
        {
            if (!await instances.WaitForPendingVersionAsync(theirs)) return false;
            c.Kill(); // SIGKILL: no shutdown code runs
            return true;
        }, abortAfterFirstPart: true, headers: new Dictionary<string, string> { ["Idempotency-Key"] = key });
        Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");

        Assert.Equal(30, (await Json(await betaOnB.GetAsync($"/v1/populations/{theirs}")))["recordCount"]!.GetValue<long>());
        Assert.Equal(30, await ListCountAsync(alpha.Http, partnership, mine, theirs));
        await Task.Delay(250); // B keeps reading a little after the kill
        await stopReading.CancelAsync();
        var answers = await reads;
        Assert.NotEmpty(answers);
        Assert.All(answers, n => Assert.Equal(30, n));

        // The same upload again, with the same key, on B: refused while the killed upload's lease runs (2 s), then applied.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpResponseMessage retry;
        var conflicts = 0;
        while (true)
        {
            retry = await betaOnB.UploadAsync(theirs, Encoding.UTF8.GetString(body), idempotencyKey: key);
            if (retry.StatusCode != HttpStatusCode.Conflict || DateTime.UtcNow > deadline) break;
            conflicts++;
            await Task.Delay(250);
        }
        await Expect(retry, HttpStatusCode.OK);
        output.WriteLine($"{answers.Count} reads on B during and after the kill; the retry waited through {conflicts} conflicts");

        Assert.Equal(5000, (await Json(await betaOnB.GetAsync($"/v1/populations/{theirs}")))["recordCount"]!.GetValue<long>());
        // A had beta's first version and its overlaps cached: its next read uses the version B committed.
        Assert.Equal(40, await ListCountAsync(alpha.Http, partnership, mine, theirs));
        var replay = await betaOnB.UploadAsync(theirs, Encoding.UTF8.GetString(body), idempotencyKey: key);
        await Expect(replay, HttpStatusCode.OK);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [PostgresProcessFact]
    public async Task AnInstanceKilledWithAnUploadsRefreshStillQueuedLeavesItToAnotherWhichRecordsItAndAnnouncesItOnce()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (alpha, beta, partnership, mine, theirs) = await PartnersAsync("procs-queue");
        // Their rows only: a row an instance killed by another test held waits for its lease (two minutes) to run out.
        await WaitUntilAsync(async () => await instances.QueuedRefreshesAsync(alpha.Id, beta.Id) == 0, "the partnership's first refresh ran");
        Assert.Equal([30], await HistoryCountsAsync(alpha.Http, partnership, mine, theirs));
        var hook = await alpha.Http.PostAsJsonAsync("/v1/webhooks", new { url = receiver.BaseUrl + "/alpha", events = new[] { "overlaps.changed" } });
        await Expect(hook, HttpStatusCode.Created);

        // D's refresh worker is held back (Escrow__Refresh__WorkerStartDelaySeconds): what it queues, it never processes.
        var d = await instances.StartHeldBackAsync();
        using var alphaOnD = On(d, alpha);
        await Expect(await alphaOnD.UploadAsync(mine, Records.Range("A", 0, 20)), HttpStatusCode.OK);
        var queuedAtKill = await instances.QueuedRefreshesAsync(alpha.Id, beta.Id);
        d.Kill(); // SIGKILL: had the queue been in D's memory, the refresh would be gone with it
        output.WriteLine($"{queuedAtKill} refresh(es) still queued when D was killed");

        await WaitUntilAsync(async () => (await HistoryCountsAsync(alpha.Http, partnership, mine, theirs)).Count == 2, "another instance recorded the point");
        await WaitUntilAsync(() => Task.FromResult(!receiver.Requests.IsEmpty), "the overlaps.changed event arrived");
        // Three poll periods of every refresher and delivery worker more: nothing is refreshed or announced twice.
        await Task.Delay(TimeSpan.FromSeconds(3.5));

        Assert.Equal([30, 20], await HistoryCountsAsync(On(B, alpha), partnership, mine, theirs));
        Assert.Equal(0, await instances.QueuedRefreshesAsync(alpha.Id, beta.Id));
        var changed = Assert.Single(receiver.Requests);
        Assert.Equal("overlaps.changed", changed.Type);
        var cell = changed.Json["data"]!["cells"]!.AsArray().Single()!;
        Assert.Equal((mine, 20, 30), (cell["myPopulationId"]!.GetValue<string>(), cell["count"]!.GetValue<int>(), cell["previousCount"]!.GetValue<int>()));
    }

    private static async Task<List<int>> HistoryCountsAsync(HttpClient http, string partnership, string mine, string theirs)
    {
        var response = await http.GetAsync($"/v1/partnerships/{partnership}/overlaps/history");
        await Expect(response, HttpStatusCode.OK);
        var cell = (await Json(response))["cells"]!.AsArray().SingleOrDefault(c =>
            c!["myPopulationId"]!.GetValue<string>() == mine && c["partnerPopulationId"]!.GetValue<string>() == theirs);
        return cell is null ? [] : cell["points"]!.AsArray().Select(p => p!["count"]!.GetValue<int>()).ToList();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until " + what);
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The three instances, started once for the class: A first (it migrates the empty database and makes the keys), then
    /// B (from a copy of the service in another folder) and C together. Nothing is started without a PostgreSQL server.
    /// </summary>
    public sealed class Instances : IAsyncLifetime
    {
        /// <summary>Given in the connection string (the test cluster trusts local connections and never asks for it): it must not reach a log.</summary>
        public const string Password = "pg-Probe-7c1e-not-for-logs";

        public const int LoginsPerEmail = 3;

        private readonly string _root = Path.Combine(Path.GetTempPath(), "oe-tests", "instances-" + Guid.NewGuid().ToString("N"));

        public ServiceProcess? A { get; private set; }
        public ServiceProcess? B { get; private set; }
        public ServiceProcess? C { get; private set; }
        /// <summary>An instance started by a test with its refresh worker held back (and killed by it).</summary>
        public ServiceProcess? D { get; private set; }
        private Dictionary<string, string> _settings = [];
        /// <summary>The instances still running (one test kills C).</summary>
        public IEnumerable<ServiceProcess> All => new[] { A, B, C }.OfType<ServiceProcess>().Where(i => i.IsRunning);
        public string Database { get; private set; } = "";
        public string Host { get; private set; } = "";
        public int Port { get; private set; }

        private string ConnectionString => new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString(Database)) { Password = Password }.ConnectionString;

        public async Task InitializeAsync()
        {
            if (TestPostgres.Server is null) return;
            Directory.CreateDirectory(_root);
            Database = TestPostgres.DatabaseOf(_root);
            var builder = new NpgsqlConnectionStringBuilder(TestPostgres.Server);
            (Host, Port) = (builder.Host!, builder.Port);
            var settings = new Dictionary<string, string>
            {
                ["Escrow__Database__Provider"] = "postgres",
                ["Escrow__Database__ConnectionString"] = ConnectionString,
                ["Escrow__SecretsDirectory"] = Path.Combine(_root, "secrets"),
                ["Escrow__Schedules__PollSeconds"] = "1",
                ["Escrow__Webhooks__PollSeconds"] = "1",
                ["Escrow__Outbound__AllowPrivateNetworks"] = "true",
                ["Escrow__Uploads__IdempotencyLeaseSeconds"] = "2",
                ["Escrow__Uploads__SegmentRecords"] = "128",
                ["Escrow__Dashboard__SecureCookies"] = "false", // plain HTTP on loopback: the dashboard's cookies without Secure
                ["Escrow__RateLimits__SignupPerAddress__PermitLimit"] = "100",
                ["Escrow__RateLimits__LoginPerEmail__PermitLimit"] = LoginsPerEmail.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            _settings = settings;
            A = await ServiceProcess.StartAsync(DataDirectory("a"), settings);
            var elsewhere = InstallCopy(Path.Combine(_root, "installed-elsewhere"));
            var b = ServiceProcess.StartAsync(DataDirectory("b"), settings, elsewhere);
            var c = ServiceProcess.StartAsync(DataDirectory("c"), settings);
            try { await Task.WhenAll(b, c); }
            finally
            {
                if (b.IsCompletedSuccessfully) B = b.Result;
                if (c.IsCompletedSuccessfully) C = c.Result;
            }
        }

        private string DataDirectory(string name)
        {
            var path = Path.Combine(_root, name);
            Directory.CreateDirectory(path);
            return path;
        }

        /// <summary>The service's files copied to another folder: Data Protection's default application name would be that folder.</summary>
        private static string InstallCopy(string target)
        {
            var source = Path.GetDirectoryName(ServiceProcess.ApiAssembly())!;
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var to = Path.Combine(target, Path.GetRelativePath(source, file));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
            }
            return Path.Combine(target, Path.GetFileName(ServiceProcess.ApiAssembly()));
        }

        /// <summary>
        /// Starts instance D with its overlap refresh worker held back for a day (the test and operations knob
        /// Escrow__Refresh__WorkerStartDelaySeconds): the refreshes it queues are left to the other instances.
        /// </summary>
        public async Task<ServiceProcess> StartHeldBackAsync()
        {
            var settings = new Dictionary<string, string>(_settings) { ["Escrow__Refresh__WorkerStartDelaySeconds"] = "86400" };
            D = await ServiceProcess.StartAsync(DataDirectory("d"), settings);
            return D;
        }

        /// <summary>Makes the schedule's next occurrence due now (next_run_at a second ago).</summary>
        public async Task MakeDueAsync(string scheduleId)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("UPDATE schedules SET next_run_at = @due WHERE id = @id", connection);
            command.Parameters.AddWithValue("due", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("id", scheduleId);
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        /// <summary>Rows of the overlap refresher's queue for these organizations: changes queued or being processed by any instance.</summary>
        public async Task<long> QueuedRefreshesAsync(params string[] organizationIds)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT COUNT(*) FROM refresh_queue WHERE organization_id = ANY(@ids)", connection);
            command.Parameters.AddWithValue("ids", organizationIds);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        /// <summary>
        /// Waits until the population has a pending (uncommitted) version: an upload is under way (a snapshot is stored as
        /// its columns only, whose parts a small upload stores at its end).
        /// </summary>
        public async Task<bool> WaitForPendingVersionAsync(string populationId)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                await using var command = new NpgsqlCommand(
                    "SELECT COUNT(*) FROM population_versions WHERE status = 'pending' AND population_id = @p", connection);
                command.Parameters.AddWithValue("p", populationId);
                if ((long)(await command.ExecuteScalarAsync())! > 0) return true;
                await Task.Delay(20);
            }
            return false;
        }

        public Task DisposeAsync()
        {
            foreach (var instance in new[] { A, B, C, D }.OfType<ServiceProcess>()) instance.Dispose();
            if (Database.Length > 0) TestPostgres.Drop(Database);
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return Task.CompletedTask;
        }
    }
}

/// <summary>A test that starts service processes on PostgreSQL: shown as skipped, with the reason, without a server.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresProcessFactAttribute : FactAttribute
{
    public PostgresProcessFactAttribute()
    {
        if (TestPostgres.Server is null)
            Skip = "OE_TEST_POSTGRES is not set: several service processes need one PostgreSQL database to share (scripts/test starts a throwaway cluster when PostgreSQL is installed).";
    }
}
