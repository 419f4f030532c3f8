using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Sync schedules over the real service and real SQLite files, driven by a manual clock: daylight-saving nights,
/// retries with backoff, leases across instances, missed runs, pulls over real HTTP and from directories, tenancy
/// and secrets (docs/syncs.md).
/// </summary>
public sealed class SchedulesTests
{
    private static readonly DateTimeOffset Start = new(2027, 1, 10, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset ThreeOClock = Start.AddHours(3);
    private const string Secret = "Bearer s3cret-PULL-TOKEN-8f2c";

    private static Dictionary<string, string?> Settings(bool allowPrivateNetworks = true, int pollSeconds = 0, string? pullDirectory = null,
        int maxConcurrentRuns = 4, int maxConcurrentRunsPerOrganization = 2)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Escrow:Schedules:PollSeconds"] = pollSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Escrow:Schedules:MaxConcurrentRuns"] = maxConcurrentRuns.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Escrow:Schedules:MaxConcurrentRunsPerOrganization"] = maxConcurrentRunsPerOrganization.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Escrow:AccessTokenMinutes"] = "1440",
            ["Escrow:Outbound:AllowPrivateNetworks"] = allowPrivateNetworks ? "true" : "false",
        };
        if (pullDirectory is not null) settings["Escrow:Schedules:PullDirectories:0"] = pullDirectory;
        return settings;
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso + "Z", System.Globalization.CultureInfo.InvariantCulture);

    private static ScheduleRunner Runner(EscrowApp app) => app.Services.GetRequiredService<ScheduleRunner>();

    private static object Refresh(string name = "Nightly refresh", string cron = "0 3 * * *", string timeZone = "UTC") =>
        new { name, cron, timeZone, action = "refresh" };

    private static object PullUrl(string populationId, string url, string? secret = Secret, string cron = "0 3 * * *", string name = "Nightly pull") =>
        new
        {
            name, cron, timeZone = "UTC", action = "pull",
            pull = new { populationId, url, secretHeader = secret is null ? null : new { name = "Authorization", value = secret } },
        };

    private static async Task<JsonObject> CreateScheduleAsync(Org org, object body)
    {
        var response = await org.Http.PostAsJsonAsync("/v1/schedules", body);
        await Expect(response, HttpStatusCode.Created);
        return await Json(response);
    }

    private static string Id(JsonNode node) => node["id"]!.GetValue<string>();

    /// <summary>The schedule's attempts, oldest first.</summary>
    private static async Task<List<JsonNode>> RunsAsync(Org org, string scheduleId)
    {
        var response = await org.Http.GetAsync($"/v1/schedules/{scheduleId}/runs?limit=500");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["items"]!.AsArray().Select(i => i!.DeepClone()).Reverse().ToList();
    }

    private static async Task<JsonObject> PopulationAsync(Org org, string populationId) =>
        await Json(await org.Http.GetAsync($"/v1/populations/{populationId}"));

    /// <summary>A fresh access token, after the manual clock has moved past the old one's lifetime.</summary>
    private static async Task ReloginAsync(EscrowApp app, Org org)
    {
        var login = await app.CreateClient().PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        org.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Encoding.UTF8.GetBytes(text));
        return buffer.ToArray();
    }

    private static async Task ServeAsync(HttpContext http, string body, string contentType = "application/x-ndjson")
    {
        http.Response.ContentType = contentType;
        await http.Response.WriteAsync(body);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until " + what);
            await Task.Delay(20);
        }
    }

    // ---- time zones and daylight saving ----

    [Fact]
    public async Task AHalfPastTwoScheduleRunsOnceOnTheSpringForwardNightAtThreeAndAtHalfPastTwoTheNextDay()
    {
        var clock = new ManualTimeProvider(Utc("2027-03-13T17:00:00"));
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("dst-spring");
        var schedule = await CreateScheduleAsync(org, Refresh(cron: "30 2 * * *", timeZone: "America/New_York"));
        Assert.Equal(DateTimeOffset.Parse("2027-03-14T03:00:00-04:00"), schedule["nextRunAt"]!.GetValue<DateTimeOffset>());

        var ran = new List<DateTimeOffset>();
        while (clock.GetUtcNow() < Utc("2027-03-15T17:00:00"))
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            if (await Runner(app).RunDueAsync(CancellationToken.None) > 0) ran.Add(clock.GetUtcNow());
        }
        Assert.Equal([Utc("2027-03-14T07:00:00"), Utc("2027-03-15T06:30:00")], ran);

        await ReloginAsync(app, org);
        var runs = await RunsAsync(org, Id(schedule));
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal(("schedule", "succeeded"), (r["trigger"]!.GetValue<string>(), r["status"]!.GetValue<string>())));
        Assert.Equal(Utc("2027-03-14T07:00:00"), runs[0]["startedAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task AHalfPastOneScheduleRunsOnceAcrossTheAutumnFallBack()
    {
        var clock = new ManualTimeProvider(Utc("2027-11-06T17:00:00"));
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("dst-autumn");
        var schedule = await CreateScheduleAsync(org, Refresh(cron: "30 1 * * *", timeZone: "America/New_York"));

        var ran = new List<DateTimeOffset>();
        while (clock.GetUtcNow() < Utc("2027-11-08T17:00:00"))
        {
            clock.Advance(TimeSpan.FromMinutes(5));
            if (await Runner(app).RunDueAsync(CancellationToken.None) > 0) ran.Add(clock.GetUtcNow());
        }
        // 01:30 EDT on the night of the change (not again at 01:30 EST an hour later), then 01:30 EST the next night.
        Assert.Equal([Utc("2027-11-07T05:30:00"), Utc("2027-11-08T06:30:00")], ran);
        await ReloginAsync(app, org);
        Assert.Equal(2, (await RunsAsync(org, Id(schedule))).Count);
    }

    [Fact]
    public async Task AnInvalidCronUnknownTimeZoneOrNonHttpUrlIsAProblemNamingTheField()
    {
        using var app = new EscrowApp(Settings());
        var org = await app.SignupAsync("sched-invalid");
        var population = await org.CreatePopulationAsync("Customers");

        async Task<JsonObject> Invalid(object body)
        {
            var problem = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/schedules", body), HttpStatusCode.BadRequest);
            Assert.Equal("urn:overlap-escrow:problem:validation", problem["type"]!.GetValue<string>());
            return problem["errors"]!.AsObject();
        }

        Assert.True((await Invalid(Refresh(cron: "61 * * * *"))).ContainsKey("cron"));
        Assert.True((await Invalid(Refresh(cron: "0 0 30 2 *"))).ContainsKey("cron"));
        // Numbers past int (the parser throws on them), steps of 0 and backward ranges: a 400 naming cron, never a 500.
        foreach (var cron in new[] { "9999999999 * * * *", "0 99999999999 * * *", "*/99999999999 * * * *", "1,2,99999999999 * * * *", "*/0 * * * *", "5-1 * * * *", "0 0 1-31/0 * *" })
            Assert.True((await Invalid(Refresh(cron: cron))).ContainsKey("cron"), cron);
        Assert.True((await Invalid(Refresh(timeZone: "Mars/Olympus_Mons"))).ContainsKey("timeZone"));
        Assert.True((await Invalid(Refresh(timeZone: "Eastern Standard Time"))).ContainsKey("timeZone"));
        Assert.True((await Invalid(new { name = "x", cron = "0 3 * * *", timeZone = "UTC", action = "dance" })).ContainsKey("action"));
        Assert.True((await Invalid(PullUrl(population, "ftp://exports.example/customers.ndjson"))).ContainsKey("pull.url"));
        Assert.True((await Invalid(PullUrl(population, "file:///etc/passwd"))).ContainsKey("pull.url"));
        Assert.True((await Invalid(PullUrl(population, "https://user:pass@exports.example/c.ndjson"))).ContainsKey("pull.url"));
        Assert.True((await Invalid(PullUrl("pop_not_mine", "https://exports.example/c.ndjson"))).ContainsKey("pull.populationId"));
        var both = await Invalid(new { name = "x", cron = "bad", timeZone = "Nowhere/Else", action = "refresh" });
        Assert.True(both.ContainsKey("cron") && both.ContainsKey("timeZone"));
    }

    // ---- retries and backoff ----

    [Fact]
    public async Task ASourceThatFailsTwiceIsRetriedWithGrowingDelaysAndItsSnapshotCommittedOnce()
    {
        var clock = new ManualTimeProvider(Start);
        var calls = 0;
        await using var server = await PullServer.StartAsync(async http =>
        {
            if (Interlocked.Increment(ref calls) <= 2) http.Response.StatusCode = 500;
            else await ServeAsync(http, Records.Range("R", 0, 40));
        });
        var events = new RecordingEvents();
        using var app = new EscrowApp(Settings(), time: clock) { TestServices = s => s.AddSingleton<IEventPublisher>(events) };
        var org = await app.SignupAsync("retrying");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));

        clock.SetUtcNow(ThreeOClock);
        var run = Runner(app).RunDueAsync(CancellationToken.None);
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(60));
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(1, await run);

        var runs = await RunsAsync(org, Id(schedule));
        Assert.Equal([1, 2, 3], runs.Select(r => r["attempt"]!.GetValue<int>()));
        Assert.Equal(["failed", "failed", "succeeded"], runs.Select(r => r["status"]!.GetValue<string>()));
        Assert.Equal([ThreeOClock, ThreeOClock.AddSeconds(30), ThreeOClock.AddSeconds(90)], runs.Select(r => r["startedAt"]!.GetValue<DateTimeOffset>()));
        Assert.All(runs.Skip(1), r => Assert.Equal(Id(runs[0]), r["retryOf"]!.GetValue<string>()));
        Assert.Equal("The pull source answered with an error", runs[0]["error"]!["title"]!.GetValue<string>());
        Assert.Contains("500", runs[0]["error"]!["detail"]!.GetValue<string>());
        Assert.Equal(40, runs[2]["recordsApplied"]!.GetValue<long>());
        Assert.Equal(3, server.Hits("/export.ndjson"));

        Assert.Equal(40, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
        using var db = app.OpenDatabase();
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE population_id = @population", new { population }));
        Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM audit_events WHERE action = 'population.uploaded' AND actor = @actor", new { actor = "schedule:" + Id(schedule) }));
        var published = Assert.Single(events.Published);
        Assert.Equal(("sync.succeeded", org.Id), (published.Type, published.OrganizationId));
        var payload = JsonNode.Parse(published.Payload)!;
        Assert.Equal(Id(runs[2]), payload["runId"]!.GetValue<string>());
        Assert.Equal(40, payload["recordsApplied"]!.GetValue<long>());
    }

    // ---- sharing the run slots between organizations ----

    [Fact]
    public async Task ARunWaitingToRetryLendsItsSlotSoAnotherOrganizationsRunStartsDuringTheWait()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http =>
        {
            http.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        using var app = new EscrowApp(Settings(maxConcurrentRuns: 1), time: clock);
        var failing = await app.SignupAsync("failing-source");
        var failingSchedule = await CreateScheduleAsync(failing, PullUrl(await failing.CreatePopulationAsync("Customers"), server.Url("/export.ndjson")));
        var other = await app.SignupAsync("waiting-tenant");
        var otherSchedule = await CreateScheduleAsync(other, Refresh(cron: "0 4 * * *"));

        clock.SetUtcNow(ThreeOClock);
        var run = Runner(app).RunDueAsync(CancellationToken.None);
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(30)); // the failing pull waits to retry; the instance's one slot is lent
        await Expect(await other.Http.PostAsync($"/v1/schedules/{Id(otherSchedule)}/run", null), HttpStatusCode.Accepted);
        await WaitUntilAsync(async () => (await RunsAsync(other, Id(otherSchedule))) is [{ } r] && r["status"]!.GetValue<string>() == "succeeded",
            "the other organization's run succeeded while the failing pull waits");
        Assert.Single(await RunsAsync(failing, Id(failingSchedule)));

        clock.Advance(TimeSpan.FromSeconds(30));
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(60));
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(1, await run);
        Assert.Equal(["failed", "failed", "failed"], (await RunsAsync(failing, Id(failingSchedule))).Select(r => r["status"]!.GetValue<string>()));
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task OneOrganizationsManyHangingPullsLeaveTheOtherOrganizationsTheirShareOfTheSlots()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartHangingAsync();
        var settings = Settings(maxConcurrentRuns: 2, maxConcurrentRunsPerOrganization: 1);
        settings["Escrow:Schedules:MaxPerOrganization"] = "200"; // more schedules than one poll looks at
        using var app = new EscrowApp(settings, time: clock);
        var busy = await app.SignupAsync("hanging-sources");
        var population = await busy.CreatePopulationAsync("Customers");
        // More due schedules than the runner looks at in one poll (100), each due before the other organization's.
        for (var i = 0; i < 101; i++)
            await CreateScheduleAsync(busy, PullUrl(population, server.Url($"/export-{i}.ndjson"), cron: "59 2 * * *", name: $"Pull {i}"));
        var other = await app.SignupAsync("patient-tenant");
        var first = await CreateScheduleAsync(other, Refresh(name: "First refresh", cron: "58 2 * * *"));
        var second = await CreateScheduleAsync(other, Refresh(name: "Second refresh"));

        clock.SetUtcNow(ThreeOClock);
        using var stop = new CancellationTokenSource();
        var firstPoll = Runner(app).RunDueAsync(stop.Token);
        await WaitUntilAsync(async () => (await RunsAsync(other, Id(first))) is [{ } r] && r["status"]!.GetValue<string>() == "succeeded",
            "the other organization's first schedule ran beside the hanging pulls");
        // Polls as the runner's timer would: once the first refresh gives its slot back, one is free, and the hanging
        // organization's next pull is due before the second refresh — but that organization has its share running.
        var polls = new List<Task<int>>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await RunsAsync(other, Id(second))) is not [{ } run] || run["status"]!.GetValue<string>() != "succeeded")
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until the other organization's second schedule ran");
            polls.Add(Runner(app).RunDueAsync(stop.Token));
            await Task.Delay(50);
        }
        // The hanging pull's request may reach the server after both refreshes are done (a CI run under load saw none yet).
        await WaitUntilAsync(() => Task.FromResult(!server.Requests.IsEmpty), "the hanging pull reached its server");
        Assert.Single(server.Requests);

        await stop.CancelAsync();
        Assert.Equal(3, await firstPoll + (await Task.WhenAll(polls)).Sum()); // the hanging pull and both refreshes
    }

    [Fact]
    public async Task AnOrganizationHasAtMostMaxPerOrganizationSchedulesAndAnotherOrganizationIsNotCountedAgainstIt()
    {
        var settings = Settings();
        settings["Escrow:Schedules:MaxPerOrganization"] = "2";
        using var app = new EscrowApp(settings);
        var org = await app.SignupAsync("many-schedules");
        var other = await app.SignupAsync("few-schedules");
        var first = await CreateScheduleAsync(org, Refresh(name: "One"));
        await CreateScheduleAsync(org, Refresh(name: "Two"));

        var third = await org.Http.PostAsJsonAsync("/v1/schedules", Refresh(name: "Three"));
        var problem = await ExpectProblem(third, HttpStatusCode.Conflict);
        Assert.Contains("at most 2 schedules", problem["detail"]!.GetValue<string>());
        Assert.Equal(["One", "Two"], JsonNode.Parse(await org.Http.GetStringAsync("/v1/schedules"))!.AsArray().Select(s => s!["name"]!.GetValue<string>()).Order());
        // A name already taken is still said as such, not as the limit.
        Assert.Contains("name", (await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/schedules", Refresh(name: "One")), HttpStatusCode.Conflict))["detail"]!.GetValue<string>());

        await CreateScheduleAsync(other, Refresh(name: "Three"));
        await Expect(await org.Http.DeleteAsync($"/v1/schedules/{Id(first)}"), HttpStatusCode.NoContent);
        await CreateScheduleAsync(org, Refresh(name: "Three"));
    }

    [Fact]
    public async Task APullIsRecordedUnderItsSchedulesHashingSpecVersionAndAnUnknownVersionIsAProblemNamingTheField()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("R", 0, 10)));
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("pull-spec");
        var v2 = await org.CreatePopulationAsync("Hashed with v2");
        var unstated = await org.CreatePopulationAsync("Unstated");

        var bad = await org.Http.PostAsJsonAsync("/v1/schedules", new
        {
            name = "Bad", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = v2, url = server.Url("/export.ndjson"), hashingSpec = "v9" },
        });
        var problem = await ExpectProblem(bad, HttpStatusCode.BadRequest);
        Assert.Contains("pull.hashingSpec", problem["errors"]!.AsObject().Select(e => e.Key));
        Assert.Empty(JsonNode.Parse(await org.Http.GetStringAsync("/v1/schedules"))!.AsArray());

        var stated = await CreateScheduleAsync(org, new
        {
            name = "Stated", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = v2, url = server.Url("/export.ndjson"), hashingSpec = "v2" },
        });
        Assert.Equal("v2", stated["pull"]!["hashingSpec"]!.GetValue<string>());
        var old = await CreateScheduleAsync(org, PullUrl(unstated, server.Url("/export.ndjson"), secret: null, name: "Unstated"));
        // Without the field a pull is recorded as version 1, as an upload without the Hashing-Spec header.
        Assert.Equal("v1", old["pull"]!["hashingSpec"]!.GetValue<string>());

        clock.SetUtcNow(ThreeOClock);
        Assert.Equal(2, await Runner(app).RunDueAsync(CancellationToken.None));
        Assert.Equal("v2", (await PopulationAsync(org, v2))["hashingSpec"]!.GetValue<string>());
        Assert.Equal("v1", (await PopulationAsync(org, unstated))["hashingSpec"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASourceThatAlwaysFailsEndsFailedAfterMaxAttemptsAndLeavesThePopulationUnchanged()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http =>
        {
            http.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var events = new RecordingEvents();
        using var app = new EscrowApp(Settings(), time: clock) { TestServices = s => s.AddSingleton<IEventPublisher>(events) };
        var org = await app.SignupAsync("always-failing");
        var population = await org.CreatePopulationAsync("Customers");
        var before = await org.UploadOkAsync(population, Records.Range("B", 0, 10));
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));

        clock.SetUtcNow(ThreeOClock);
        var run = Runner(app).RunDueAsync(CancellationToken.None);
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(60));
        clock.Advance(TimeSpan.FromSeconds(60));
        await run;

        var runs = await RunsAsync(org, Id(schedule));
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal("failed", r["status"]!.GetValue<string>()));
        Assert.Equal("The pull source answered with an error", runs[2]["error"]!["title"]!.GetValue<string>());
        Assert.Equal("The source answered HTTP 503.", runs[2]["error"]!["detail"]!.GetValue<string>());
        var population1 = await PopulationAsync(org, population);
        Assert.Equal(before["versionId"]!.GetValue<string>(), population1["currentVersionId"]!.GetValue<string>());
        Assert.Equal(10, population1["recordCount"]!.GetValue<long>());
        var current = await Json(await org.Http.GetAsync($"/v1/schedules/{Id(schedule)}"));
        Assert.Equal("failed", current["lastRun"]!["status"]!.GetValue<string>());
        Assert.Equal(DateTimeOffset.Parse("2027-01-11T03:00:00Z"), current["nextRunAt"]!.GetValue<DateTimeOffset>());

        var published = Assert.Single(events.Published);
        Assert.Equal("sync.failed", published.Type);
        var payload = JsonNode.Parse(published.Payload)!;
        Assert.Equal(3, payload["attempt"]!.GetValue<int>());
        Assert.Equal("The pull source answered with an error", payload["errorTitle"]!.GetValue<string>());
        Assert.Equal("Nightly pull", payload["scheduleName"]!.GetValue<string>());
    }

    [Fact]
    public async Task RowErrorsInThePulledSnapshotFailTheRunOnceWithoutRetrying()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http =>
            ServeAsync(http, Records.Range("E", 0, 5) + """{"recordId":"E-bad","identifiers":{"domain":"not-a-hash"}}""" + "\n"));
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("row-errors");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));
        clock.SetUtcNow(ThreeOClock);
        await Runner(app).RunDueAsync(CancellationToken.None);

        var run = Assert.Single(await RunsAsync(org, Id(schedule)));
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal((6L, 1L, 0L), (run["rowsRead"]!.GetValue<long>(), run["rowsRejected"]!.GetValue<long>(), run["recordsApplied"]!.GetValue<long>()));
        Assert.Equal("Some rows are invalid; nothing was applied", run["error"]!["title"]!.GetValue<string>());
        Assert.Equal(0, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task APullStoppedAtTheRowLimitSaysHowManyRowsItRead()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("M", 0, 12)));
        var settings = Settings();
        settings["Escrow:Uploads:MaxRows"] = "10";
        using var app = new EscrowApp(settings, time: clock);
        var org = await app.SignupAsync("row-limit");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));
        clock.SetUtcNow(ThreeOClock);
        await Runner(app).RunDueAsync(CancellationToken.None);

        var run = Assert.Single(await RunsAsync(org, Id(schedule)));
        Assert.Equal(("failed", "Too many rows"), (run["status"]!.GetValue<string>(), run["error"]!["title"]!.GetValue<string>()));
        // It stopped at the first row past the limit (it reported 0 rows read).
        Assert.Equal((11L, 0L), (run["rowsRead"]!.GetValue<long>(), run["recordsApplied"]!.GetValue<long>()));
    }

    // ---- leases ----

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task TwoInstancesOnOneDatabaseRunADueScheduleOnce()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("L", 0, 20)));
        using var first = new EscrowApp(Settings(), time: clock);
        var org = await first.SignupAsync("two-instances");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));
        using var second = new EscrowApp(Settings(), dataDirectory: first.DataDirectory, time: clock);
        var runners = new[] { Runner(first), Runner(second) };

        clock.SetUtcNow(ThreeOClock);
        var ran = await Task.WhenAll(runners.Select(r => Task.Run(() => r.RunDueAsync(CancellationToken.None))));
        Assert.Equal(1, ran.Sum());
        Assert.Equal(1, server.Hits("/export.ndjson"));
        Assert.Single(await RunsAsync(org, Id(schedule)));

        // The next day, whichever instance asks first runs it, once again.
        clock.SetUtcNow(ThreeOClock.AddDays(1));
        ran = await Task.WhenAll(runners.Select(r => Task.Run(() => r.RunDueAsync(CancellationToken.None))));
        Assert.Equal(1, ran.Sum());
        Assert.Equal(2, server.Hits("/export.ndjson"));
    }

    [Fact]
    public async Task ALeaseLeftByACrashedInstanceBlocksUntilItExpiresAndItsAttemptIsMarkedInterrupted()
    {
        var clock = new ManualTimeProvider(Start);
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("crashed-lease");
        var schedule = await CreateScheduleAsync(org, Refresh());
        var scheduleId = Id(schedule);
        using (var db = app.OpenDatabase())
        {
            // An instance took the lease at 02:59, started an attempt and died.
            db.Execute("UPDATE schedules SET lease_owner = 'lease_crashed', lease_until = @until WHERE id = @scheduleId",
                new { scheduleId, until = ThreeOClock.AddMinutes(1).ToUnixTimeMilliseconds() });
            db.Execute("""
                INSERT INTO sync_runs (id, schedule_id, organization_id, trigger_type, attempt, status, created_at, started_at)
                VALUES ('run_crashed', @scheduleId, @org, 'manual', 1, 'running', @at, @at)
                """, new { scheduleId, org = org.Id, at = ThreeOClock.AddMinutes(-1).ToUnixTimeMilliseconds() });
        }

        clock.SetUtcNow(ThreeOClock);
        Assert.Equal(0, await Runner(app).RunDueAsync(CancellationToken.None));
        await ExpectProblem(await org.Http.DeleteAsync($"/v1/schedules/{scheduleId}"), HttpStatusCode.Conflict); // a run holds the lease
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await Runner(app).RunDueAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await Runner(app).RunDueAsync(CancellationToken.None));

        var runs = await RunsAsync(org, scheduleId);
        Assert.Equal(["run_crashed", "failed", "Interrupted"], [Id(runs[0]), runs[0]["status"]!.GetValue<string>(), runs[0]["error"]!["title"]!.GetValue<string>()]);
        Assert.Equal(("schedule", "succeeded"), (runs[1]["trigger"]!.GetValue<string>(), runs[1]["status"]!.GetValue<string>()));
        using var check = app.OpenDatabase();
        Assert.Null(check.ExecuteScalar<string?>("SELECT lease_owner FROM schedules WHERE id = @scheduleId", new { scheduleId }));
    }

    // ---- missed runs ----

    [Fact]
    public async Task AScheduleMissedSeveralTimesWhileTheServiceWasDownRunsOnceAtStartUp()
    {
        var clock = new ManualTimeProvider(Start);
        using var before = new EscrowApp(Settings(), time: clock);
        var org = await before.SignupAsync("missed-runs");
        var schedule = await CreateScheduleAsync(org, Refresh(cron: "0 * * * *"));
        var scheduleId = Id(schedule);
        Assert.Equal(Start.AddHours(1), schedule["nextRunAt"]!.GetValue<DateTimeOffset>());

        // Nothing polls for five and a half hours: five occurrences pass. Then an instance starts, polling every 5 s.
        clock.SetUtcNow(Start.AddHours(5.5));
        using var after = new EscrowApp(Settings(pollSeconds: 5), dataDirectory: before.DataDirectory, time: clock);
        _ = after.Services;
        long Runs(string status)
        {
            using var db = after.OpenDatabase();
            return db.ExecuteScalar<long>("SELECT COUNT(*) FROM sync_runs WHERE schedule_id = @scheduleId AND status = @status", new { scheduleId, status });
        }
        await WaitUntilAsync(() => Task.FromResult(Runs("succeeded") == 1), "the missed run ran");
        for (var i = 0; i < 12; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(5)); // polls, with nothing due before 06:00
            await Task.Delay(20);
        }
        Assert.Equal(1, Runs("succeeded") + Runs("running") + Runs("failed"));
        var current = await Json(await org.Http.GetAsync($"/v1/schedules/{scheduleId}"));
        Assert.Equal(Start.AddHours(6), current["nextRunAt"]!.GetValue<DateTimeOffset>());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ThePollingRunnerRunsAScheduleWhenItsTimeComes()
    {
        var clock = new ManualTimeProvider(Start);
        using var app = new EscrowApp(Settings(pollSeconds: 5), time: clock);
        var org = await app.SignupAsync("polling");
        var schedule = await CreateScheduleAsync(org, Refresh(cron: "2 0 * * *"));
        var runs = () => RunsAsync(org, Id(schedule));
        clock.Advance(TimeSpan.FromMinutes(1));
        await Task.Delay(100);
        Assert.Empty(await runs());
        for (var i = 0; i < 12; i++) clock.Advance(TimeSpan.FromSeconds(5));
        await WaitUntilAsync(async () => (await runs()) is [{ } r] && r["status"]!.GetValue<string>() == "succeeded", "the schedule ran");
    }

    // ---- pulls over HTTP ----

    [Fact]
    public async Task APullOverRealHttpSendsTheSecretHeaderAndCommitsNdjsonAndGzipSnapshots()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(async http =>
        {
            if (http.Request.Headers.Authorization != Secret)
            {
                http.Response.StatusCode = 401;
                return;
            }
            switch (http.Request.Path.Value)
            {
                case "/customers.ndjson": await ServeAsync(http, Records.Range("N", 0, 25)); break;
                case "/prospects.ndjson.gz":
                    http.Response.ContentType = "application/gzip";
                    await http.Response.Body.WriteAsync(Gzip(Records.Range("G", 100, 30)));
                    break;
                case "/moved": http.Response.Redirect("/customers.ndjson"); break;
                default: http.Response.StatusCode = 404; break;
            }
        });
        using var app = new EscrowApp(Settings(maxConcurrentRunsPerOrganization: 4), time: clock); // three of its schedules in one poll
        var org = await app.SignupAsync("http-pull");
        var customers = await org.CreatePopulationAsync("Customers");
        var prospects = await org.CreatePopulationAsync("Prospects", "prospects");
        var plain = await CreateScheduleAsync(org, PullUrl(customers, server.Url("/customers.ndjson"), name: "Customers"));
        var gzip = await CreateScheduleAsync(org, PullUrl(prospects, server.Url("/prospects.ndjson.gz"), name: "Prospects"));
        var moved = await CreateScheduleAsync(org, PullUrl(customers, server.Url("/moved"), name: "Moved", cron: "0 4 * * *"));
        var wrong = await CreateScheduleAsync(org, PullUrl(prospects, server.Url("/customers.ndjson"), secret: "Bearer wrong", name: "Wrong secret"));

        clock.SetUtcNow(ThreeOClock);
        Assert.Equal(3, await Runner(app).RunDueAsync(CancellationToken.None));
        Assert.Equal(25, (await PopulationAsync(org, customers))["recordCount"]!.GetValue<long>());
        Assert.Equal(30, (await PopulationAsync(org, prospects))["recordCount"]!.GetValue<long>());
        Assert.Equal("succeeded", (await RunsAsync(org, Id(plain)))[0]["status"]!.GetValue<string>());
        Assert.Equal(30, (await RunsAsync(org, Id(gzip)))[0]["recordsApplied"]!.GetValue<long>());
        var refused = Assert.Single(await RunsAsync(org, Id(wrong))); // a 401 is not retried
        Assert.Equal("The source answered HTTP 401.", refused["error"]!["detail"]!.GetValue<string>());

        // A redirect on the same host is followed, with the secret header sent again.
        clock.SetUtcNow(ThreeOClock.AddHours(1));
        Assert.Equal(1, await Runner(app).RunDueAsync(CancellationToken.None));
        Assert.Equal("succeeded", (await RunsAsync(org, Id(moved)))[0]["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task WithoutAllowPrivateNetworksAPullFromLoopbackIsRefusedAndTheRefusalIsTheRunError()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("S", 0, 5)));
        using var permissive = new EscrowApp(Settings(allowPrivateNetworks: true), time: clock);
        var org = await permissive.SignupAsync("ssrf");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));

        // The operator turns private networks off; the instance that runs the schedule now refuses to connect.
        using var strict = new EscrowApp(Settings(allowPrivateNetworks: false), dataDirectory: permissive.DataDirectory, time: clock);
        clock.SetUtcNow(ThreeOClock);
        Assert.Equal(1, await Runner(strict).RunDueAsync(CancellationToken.None));

        var run = Assert.Single(await RunsAsync(org, Id(schedule))); // a refusal is not retried
        Assert.Equal("failed", run["status"]!.GetValue<string>());
        Assert.Equal("The pull source was refused", run["error"]!["title"]!.GetValue<string>());
        Assert.Contains("does not connect to", run["error"]!["detail"]!.GetValue<string>());
        Assert.Equal(0, server.Hits("/export.ndjson"));
        Assert.Equal(0, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());

        // And an address literal on loopback is refused when the schedule is created.
        var strictOrg = await strict.SignupAsync("ssrf-strict");
        var strictPopulation = await strictOrg.CreatePopulationAsync("Customers");
        foreach (var url in new[] { server.Url("/export.ndjson"), "http://169.254.169.254/latest/meta-data/", $"http://localhost:{server.Port}/x", "http://[::1]/x",
                     "http://203.0.113.7/export", "http://[2001:db8::1]/x", "http://[::ffff:192.0.2.2]/x" })
        {
            var problem = await ExpectProblem(await strictOrg.Http.PostAsJsonAsync("/v1/schedules", PullUrl(strictPopulation, url)), HttpStatusCode.BadRequest);
            Assert.True(problem["errors"]!.AsObject().ContainsKey("pull.url"), url);
        }
    }

    [Fact]
    public async Task WithoutAllowPrivateNetworksAPullFromTheMachinesOwnHostNameIsRefusedAndTheRefusalIsTheRunError()
    {
        var clock = new ManualTimeProvider(Start);
        // A server on every address of this machine: a pull that slipped past the guard would be answered.
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("S", 0, 5)), everyAddress: true);
        using var app = new EscrowApp(Settings(allowPrivateNetworks: false), time: clock);
        var org = await app.SignupAsync("own-host");
        var population = await org.CreatePopulationAsync("Customers");
        // A name is accepted at creation (it is resolved when connecting); the machine's own name resolves to the
        // addresses of its interfaces as well as to loopback.
        var schedule = await CreateScheduleAsync(org, PullUrl(population, $"http://{Dns.GetHostName()}:{server.Port}/export.ndjson"));

        clock.SetUtcNow(ThreeOClock);
        var running = Runner(app).RunDueAsync(CancellationToken.None);
        // A host name that leads only to refused addresses reads and is retried like one that does not resolve: which names
        // exist inside the network is not told (a hostile trial, 2026-12-04).
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(30));
        await clock.WaitForDelayAsync(TimeSpan.FromSeconds(60));
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(1, await running);

        var runs = await RunsAsync(org, Id(schedule));
        Assert.Equal(3, runs.Count);
        foreach (var run in runs)
        {
            Assert.Equal("failed", run["status"]!.GetValue<string>());
            Assert.Equal("The pull source could not be reached", run["error"]!["title"]!.GetValue<string>());
            Assert.Equal($"The host name {Dns.GetHostName()} did not resolve to an address the escrow connects to (public addresses only, not this machine's own).",
                run["error"]!["detail"]!.GetValue<string>());
        }
        Assert.Equal(0, server.Hits("/export.ndjson"));
        Assert.Equal(0, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task ARedirectToAnotherHostIsRefused()
    {
        var clock = new ManualTimeProvider(Start);
        PullServer? self = null;
        await using var server = await PullServer.StartAsync(async http =>
        {
            if (http.Request.Path == "/redirect") http.Response.Redirect($"http://localhost:{self!.Port}/export.ndjson");
            else await ServeAsync(http, Records.Range("X", 0, 5));
        });
        self = server;
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("redirect");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/redirect")));
        clock.SetUtcNow(ThreeOClock);
        await Runner(app).RunDueAsync(CancellationToken.None);

        var run = Assert.Single(await RunsAsync(org, Id(schedule)));
        Assert.Equal("The pull source was refused", run["error"]!["title"]!.GetValue<string>());
        Assert.Equal("A redirect to another host was refused.", run["error"]!["detail"]!.GetValue<string>());
        Assert.Equal(0, server.Hits("/export.ndjson"));
    }

    // ---- pulls from a directory ----

    [Fact]
    public async Task ADirectoryPullReadsTheNewestMatchingFileInsideItsOrganizationsFolderOnly()
    {
        var root = Path.Combine(Path.GetTempPath(), "oe-pulls", Guid.NewGuid().ToString("N"));
        var outside = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oe-pulls", Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var clock = new ManualTimeProvider(Start);
            using var app = new EscrowApp(Settings(pullDirectory: root), time: clock);
            var org = await app.SignupAsync("dir-pull");
            var population = await org.CreatePopulationAsync("Customers");
            // Each organization reads below <root>/<its id> only; another organization's folder is refused.
            var exports = Directory.CreateDirectory(Path.Combine(root, org.Id, "acme")).FullName;
            var otherOrganization = Directory.CreateDirectory(Path.Combine(root, "org_someone-else", "exports")).FullName;
            var older = Path.Combine(exports, "customers-2027-01-09.ndjson");
            await File.WriteAllTextAsync(older, Records.Range("D", 0, 20));
            File.SetLastWriteTimeUtc(older, DateTime.UtcNow.AddDays(-1));
            await File.WriteAllBytesAsync(Path.Combine(exports, "customers-2027-01-10.ndjson.gz"), Gzip(Records.Range("D", 0, 35)));
            await File.WriteAllTextAsync(Path.Combine(exports, "notes.txt"), "not a snapshot");
            await File.WriteAllTextAsync(Path.Combine(outside, "customers-9999.ndjson"), Records.Range("O", 0, 3));
            Directory.CreateSymbolicLink(Path.Combine(root, org.Id, "linked"), outside);

            object Body(string directory, string name = "Directory pull") => new
            {
                name, cron = "0 3 * * *", timeZone = "UTC", action = "pull", pull = new { populationId = population, directory, pattern = "customers-*" },
            };
            var schedule = await CreateScheduleAsync(org, Body(exports));

            foreach (var refusedPath in new[] { outside, Path.Combine(root, "..", Path.GetFileName(outside)), "/etc", "acme", root, otherOrganization })
            {
                var problem = await ExpectProblem(await org.Http.PostAsJsonAsync("/v1/schedules", Body(refusedPath, "Refused")), HttpStatusCode.BadRequest);
                Assert.True(problem["errors"]!.AsObject().ContainsKey("pull.directory"), refusedPath);
            }
            // Inside the allowed directory by its path, but a link out of it: accepted, and refused when it runs.
            var linked = await CreateScheduleAsync(org, Body(Path.Combine(root, org.Id, "linked"), "Through a link"));

            clock.SetUtcNow(ThreeOClock);
            Assert.Equal(2, await Runner(app).RunDueAsync(CancellationToken.None));
            var run = Assert.Single(await RunsAsync(org, Id(schedule)));
            Assert.Equal(("succeeded", 35L), (run["status"]!.GetValue<string>(), run["recordsApplied"]!.GetValue<long>()));
            Assert.Equal(35, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
            var linkRun = Assert.Single(await RunsAsync(org, Id(linked)));
            Assert.Equal("The pull directory is not allowed", linkRun["error"]!["title"]!.GetValue<string>());
            Assert.Equal(35, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    // ---- run now, pushes ----

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task RunNowAnswers202WithTheRunIdAndRunsInTheBackground()
    {
        await using var server = await PullServer.StartAsync(http => ServeAsync(http, Records.Range("M", 0, 12)));
        using var app = new EscrowApp(Settings());
        var org = await app.SignupAsync("run-now");
        var population = await org.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(org, PullUrl(population, server.Url("/export.ndjson")));
        // Paused schedules can still be run by hand.
        var paused = await org.Http.PutAsJsonAsync($"/v1/schedules/{Id(schedule)}", new
        {
            name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull", enabled = false,
            pull = new { populationId = population, url = server.Url("/export.ndjson"), secretHeader = new { name = "Authorization" } },
        });
        await Expect(paused, HttpStatusCode.OK);
        Assert.Null((await Json(paused))["nextRunAt"]);

        var response = await org.Http.PostAsync($"/v1/schedules/{Id(schedule)}/run", null);
        await Expect(response, HttpStatusCode.Accepted);
        var runId = (await Json(response))["runId"]!.GetValue<string>();
        await WaitUntilAsync(async () => (await RunsAsync(org, Id(schedule))) is [{ } r] && r["status"]!.GetValue<string>() == "succeeded", "the manual run succeeded");
        var run = (await RunsAsync(org, Id(schedule)))[0];
        Assert.Equal((runId, "manual", 12L), (Id(run), run["trigger"]!.GetValue<string>(), run["recordsApplied"]!.GetValue<long>()));
        Assert.Equal(12, (await PopulationAsync(org, population))["recordCount"]!.GetValue<long>());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AnUploadWithTheSyncScheduleHeaderIsRecordedAsAPushRun()
    {
        using var app = new EscrowApp(Settings());
        var alpha = await app.SignupAsync("push-alpha");
        var beta = await app.SignupAsync("push-beta");
        var population = await alpha.CreatePopulationAsync("Customers");
        var betaPopulation = await beta.CreatePopulationAsync("Customers");
        var schedule = await CreateScheduleAsync(alpha, Refresh("CLI push"));

        Task<HttpResponseMessage> Push(HttpClient http, string populationId, string scheduleId)
        {
            var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/populations/{populationId}/records")
            {
                Content = new StringContent(Records.Range("P", 0, 15), Encoding.UTF8, "application/x-ndjson"),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            request.Headers.Add("X-Sync-Schedule", scheduleId);
            return http.SendAsync(request);
        }

        await Expect(await Push(alpha.Http, population, Id(schedule)), HttpStatusCode.OK);
        var run = Assert.Single(await RunsAsync(alpha, Id(schedule)));
        Assert.Equal(("push", "succeeded", 15L), (run["trigger"]!.GetValue<string>(), run["status"]!.GetValue<string>(), run["recordsApplied"]!.GetValue<long>()));

        // Another organization's schedule, or none, is not found; nothing is uploaded then.
        await ExpectProblem(await Push(beta.Http, betaPopulation, Id(schedule)), HttpStatusCode.NotFound);
        await ExpectProblem(await Push(alpha.Http, population, "sch_missing"), HttpStatusCode.NotFound);
        Assert.Equal(0, (await PopulationAsync(beta, betaPopulation))["recordCount"]!.GetValue<long>());

        // A key that may upload but not write schedules cannot add to a schedule's history.
        var uploader = await ApiKeyClientAsync(app, alpha, "populations:write");
        await ExpectProblem(await Push(uploader, population, Id(schedule)), HttpStatusCode.Forbidden);
        var syncer = await ApiKeyClientAsync(app, alpha, "populations:write", "schedules:write");
        await Expect(await Push(syncer, population, Id(schedule)), HttpStatusCode.OK);
        Assert.Equal(2, (await RunsAsync(alpha, Id(schedule))).Count);
    }

    // ---- tenancy, roles, secrets ----

    private static async Task<HttpClient> ApiKeyClientAsync(EscrowApp app, Org org, params string[] scopes)
    {
        var key = await Json(await org.Http.PostAsJsonAsync("/v1/api-keys", new { name = "sync-" + Guid.NewGuid().ToString("N")[..6], scopes }));
        var token = await app.CreateClient().PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_secret"] = key["secret"]!.GetValue<string>(),
        }));
        await Expect(token, HttpStatusCode.OK);
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(token))["access_token"]!.GetValue<string>());
        return http;
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task AnotherOrganizationGets404ForEverySchedulePathAndAViewerCannotCreateSchedules()
    {
        using var app = new EscrowApp(Settings());
        var alpha = await app.SignupAsync("tenant-alpha");
        var beta = await app.SignupAsync("tenant-beta");
        var schedule = Id(await CreateScheduleAsync(alpha, Refresh()));

        var responses = new[]
        {
            await beta.Http.GetAsync($"/v1/schedules/{schedule}"),
            await beta.Http.PutAsJsonAsync($"/v1/schedules/{schedule}", Refresh("Taken over")),
            await beta.Http.DeleteAsync($"/v1/schedules/{schedule}"),
            await beta.Http.PostAsync($"/v1/schedules/{schedule}/run", null),
            await beta.Http.GetAsync($"/v1/schedules/{schedule}/runs"),
        };
        foreach (var response in responses)
            Assert.Equal("urn:overlap-escrow:problem:not-found", (await ExpectProblem(response, HttpStatusCode.NotFound))["type"]!.GetValue<string>());
        Assert.Empty(JsonNode.Parse(await beta.Http.GetStringAsync("/v1/schedules"))!.AsArray());
        Assert.Equal("Nightly refresh", (await Json(await alpha.Http.GetAsync($"/v1/schedules/{schedule}")))["name"]!.GetValue<string>());
        Assert.Empty(await RunsAsync(alpha, schedule));

        var viewer = await app.MemberAsync(alpha, "viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/v1/schedules", Refresh("Viewer's"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync($"/v1/schedules/{schedule}/run", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/v1/schedules/{schedule}/runs")).StatusCode);
        var partnerManager = await app.MemberAsync(alpha, "partner_manager");
        Assert.Equal(HttpStatusCode.Forbidden, (await partnerManager.PostAsJsonAsync("/v1/schedules", Refresh("PM's"))).StatusCode);
        var salesOps = await app.MemberAsync(alpha, "sales_ops");
        Assert.Equal(HttpStatusCode.Created, (await salesOps.PostAsJsonAsync("/v1/schedules", Refresh("Sales ops'"))).StatusCode);

        var reader = await ApiKeyClientAsync(app, alpha, "schedules:read");
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/schedules")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/v1/schedules", Refresh("Reader's"))).StatusCode);
        var writer = await ApiKeyClientAsync(app, alpha, "schedules:write");
        Assert.Equal(HttpStatusCode.Created, (await writer.PostAsJsonAsync("/v1/schedules", Refresh("Writer's"))).StatusCode);
        var uploader = await ApiKeyClientAsync(app, alpha, "populations:write");
        Assert.Equal(HttpStatusCode.Forbidden, (await uploader.GetAsync("/v1/schedules")).StatusCode);
        // A pull writes into a population: a key that may only manage schedules cannot define one, nor turn one into a pull
        // (nor learn whether a population id exists: the answer is the same for a made-up one); with both scopes it can.
        var population = await alpha.CreatePopulationAsync("Pulled");
        foreach (var target in new[] { population, "pop_made_up" })
            await ExpectProblem(await writer.PostAsJsonAsync("/v1/schedules", PullUrl(target, "https://exports.example/x.ndjson", secret: null)), HttpStatusCode.Forbidden);
        await ExpectProblem(await writer.PutAsJsonAsync($"/v1/schedules/{schedule}", PullUrl(population, "https://exports.example/x.ndjson", secret: null)), HttpStatusCode.Forbidden);
        Assert.Equal("refresh", (await Json(await alpha.Http.GetAsync($"/v1/schedules/{schedule}")))["action"]!.GetValue<string>());
        var both = await ApiKeyClientAsync(app, alpha, "schedules:write", "populations:write");
        await Expect(await both.PostAsJsonAsync("/v1/schedules", PullUrl(population, "https://exports.example/x.ndjson", secret: null)), HttpStatusCode.Created);

        var retimed = await alpha.Http.PutAsJsonAsync($"/v1/schedules/{schedule}", Refresh("Nightly refresh", cron: "17 5 * * *", timeZone: "Asia/Kolkata"));
        await Expect(retimed, HttpStatusCode.OK);
        var next = (await Json(retimed))["nextRunAt"]!.GetValue<DateTimeOffset>();
        Assert.Equal((5, 17, TimeSpan.FromHours(5.5)), (next.Hour, next.Minute, next.Offset));

        Assert.Equal(HttpStatusCode.NoContent, (await alpha.Http.DeleteAsync($"/v1/schedules/{schedule}")).StatusCode);
        await ExpectProblem(await alpha.Http.GetAsync($"/v1/schedules/{schedule}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ThePullSecretNeverAppearsInAResponseALogLineOrTheDatabaseInTheClear()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await PullServer.StartAsync(async http =>
        {
            if (http.Request.Headers.Authorization != Secret) http.Response.StatusCode = 401;
            else await ServeAsync(http, Records.Range("K", 0, 8));
        });
        using var app = new EscrowApp(Settings(), time: clock);
        var org = await app.SignupAsync("secret-keeper");
        var population = await org.CreatePopulationAsync("Customers");
        var bodies = new List<string>();
        async Task<HttpResponseMessage> Keep(Task<HttpResponseMessage> call)
        {
            var response = await call;
            bodies.Add(await response.Content.ReadAsStringAsync());
            return response;
        }

        var created = await Keep(org.Http.PostAsJsonAsync("/v1/schedules", PullUrl(population, server.Url("/export.ndjson"))));
        await Expect(created, HttpStatusCode.Created);
        var schedule = await Json(created);
        Assert.Equal("Authorization", schedule["pull"]!["secretHeader"]!["name"]!.GetValue<string>());
        Assert.True(schedule["pull"]!["secretHeader"]!["configured"]!.GetValue<bool>());
        var id = Id(schedule);

        // A PUT without the value keeps it while the URL stays on the same host…
        var sameHost = new
        {
            name = "Renamed pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = server.Url("/export.ndjson?v=2"), secretHeader = new { name = "Authorization" } },
        };
        await Expect(await Keep(org.Http.PutAsJsonAsync($"/v1/schedules/{id}", sameHost)), HttpStatusCode.OK);
        // …but not when the URL moves to another host: the secret would follow it to whoever controls that host.
        var otherHost = new
        {
            name = "Renamed pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = $"http://localhost:{server.Port}/export.ndjson", secretHeader = new { name = "Authorization" } },
        };
        var moved = await Keep(org.Http.PutAsJsonAsync($"/v1/schedules/{id}", otherHost));
        Assert.True((await ExpectProblem(moved, HttpStatusCode.BadRequest))["errors"]!.AsObject().ContainsKey("pull.secretHeader.value"));
        // …nor when it moves to another header on the same host (one the source may echo back or log).
        var otherHeader = new
        {
            name = "Renamed pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = server.Url("/export.ndjson?v=2"), secretHeader = new { name = "X-Echo" } },
        };
        var renamed = await Keep(org.Http.PutAsJsonAsync($"/v1/schedules/{id}", otherHeader));
        Assert.True((await ExpectProblem(renamed, HttpStatusCode.BadRequest))["errors"]!.AsObject().ContainsKey("pull.secretHeader.value"));
        // The header's name is case-insensitive in HTTP: the same name differently cased keeps the value.
        var cased = new
        {
            name = "Renamed pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = server.Url("/export.ndjson?v=2"), secretHeader = new { name = "authorization" } },
        };
        await Expect(await Keep(org.Http.PutAsJsonAsync($"/v1/schedules/{id}", cased)), HttpStatusCode.OK);

        clock.SetUtcNow(ThreeOClock);
        await Runner(app).RunDueAsync(CancellationToken.None);
        await Keep(org.Http.GetAsync($"/v1/schedules/{id}"));
        await Keep(org.Http.GetAsync("/v1/schedules"));
        await Keep(org.Http.GetAsync($"/v1/schedules/{id}/runs"));
        Assert.Equal("succeeded", (await RunsAsync(org, id))[0]["status"]!.GetValue<string>()); // the kept value was sent

        foreach (var body in bodies) Assert.DoesNotContain("s3cret", body);
        Assert.DoesNotContain("s3cret", string.Join('\n', app.Logs));
        using var db = app.OpenDatabase();
        var stored = db.QuerySingle<(string Name, byte[] Value)>("SELECT secret_header_name, secret_value FROM schedules WHERE id = @id", new { id });
        Assert.Equal("authorization", stored.Name); // as the last PUT named it
        Assert.DoesNotContain("s3cret", Encoding.UTF8.GetString(stored.Value));
        foreach (var file in new[] { app.DatabasePath, app.DatabasePath + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.DoesNotContain("s3cret", Encoding.Latin1.GetString(copy.ToArray()));
        }
    }
}
