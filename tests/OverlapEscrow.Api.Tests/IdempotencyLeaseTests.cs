using System.Diagnostics;
using System.Net;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The lease on an upload's Idempotency-Key: short, kept alive in the database by a heartbeat while the upload's
/// process lives, so that a retry after a crash is not locked out for long and a live upload is never doubled.
/// </summary>
public sealed class IdempotencyLeaseTests(ITestOutputHelper output)
{
    private const string PendingSegments =
        "SELECT COUNT(*) FROM segments s JOIN population_versions v ON v.id = s.version_id WHERE v.status = 'pending'";

    /// <summary>A pending version, once the upload has begun: all a snapshot stored without segments shows before its first record blocks.</summary>
    private const string PendingVersion = "SELECT COUNT(*) FROM population_versions WHERE status = 'pending'";

    /// <param name="snapshotSegments">Whether the snapshot is stored with segments (the test then waits for some) or as its columns only.</param>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ARetryAfterTheServiceWasKilledMidUploadCommitsOnceTheShortLeaseRanOut(bool snapshotSegments)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string>
        {
            ["Escrow__Uploads__IdempotencyLeaseSeconds"] = "2",
            ["Escrow__Uploads__SegmentRecords"] = "128",
            ["Escrow__Uploads__SnapshotSegments"] = snapshotSegments ? "true" : "false",
        };
        var databasePath = Path.Combine(dataDirectory, "escrow.db");
        var key = "nightly-2027-01-04";
        var retryBody = Records.Range("R", 0, 300);
        try
        {
            Org org;
            string population;
            var killed = new Stopwatch();
            using (var first = await ServiceProcess.StartAsync(dataDirectory, settings))
            {
                org = await first.SignupAsync("crashing");
                population = await org.CreatePopulationAsync("Customers");
                var body = Encoding.UTF8.GetBytes(Records.Range("K", 0, 1000));
                var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, body.Length * 6 / 10, between: async () =>
                {
                    if (!await WaitUntilAsync(databasePath, snapshotSegments ? PendingSegments : PendingVersion)) return false;
                    // Alive but silent for longer than the lease: the upload keeps its key.
                    await Task.Delay(TimeSpan.FromSeconds(3));
                    var meanwhile = await ExpectProblem(await org.Http.UploadAsync(population, retryBody, idempotencyKey: key), HttpStatusCode.Conflict);
                    Assert.Equal("Upload in progress", meanwhile["title"]!.GetValue<string>());
                    first.Kill();
                    killed.Start();
                    return true;
                }, abortAfterFirstPart: true, headers: new Dictionary<string, string> { ["Idempotency-Key"] = key });
                Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");
            }

            using var second = await ServiceProcess.StartAsync(dataDirectory, settings);
            var restartedAfter = killed.Elapsed;
            using var http = second.CreateClient();
            http.DefaultRequestHeaders.Authorization = org.Http.DefaultRequestHeaders.Authorization;
            // The old lease held the key for 15 minutes. Now it runs out 2 s after the last heartbeat of the killed
            // process; the bound leaves room for a slow machine (a restart under load), not for the old lease.
            var waitingSince = Stopwatch.StartNew();
            HttpResponseMessage retry;
            var attempts = 0;
            while (true)
            {
                attempts++;
                retry = await http.UploadAsync(population, retryBody, idempotencyKey: key);
                if (retry.StatusCode != HttpStatusCode.Conflict || waitingSince.Elapsed > TimeSpan.FromSeconds(15)) break;
                await Task.Delay(250);
            }
            await Expect(retry, HttpStatusCode.OK);
            output.WriteLine($"Restarted {restartedAfter.TotalSeconds:F1} s after the kill; attempt {attempts} of the retry committed {killed.Elapsed.TotalSeconds:F1} s after it (lease 2 s).");
            var committed = await retry.Content.ReadAsStringAsync();

            var populationNow = await Json(await http.GetAsync($"/v1/populations/{population}"));
            Assert.Equal(300, populationNow["recordCount"]!.GetValue<long>());
            using (var db = Open(databasePath))
            {
                Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE population_id = @population AND status = 'committed'", new { population }));
            }

            var replay = await http.UploadAsync(population, retryBody, idempotencyKey: key);
            await Expect(replay, HttpStatusCode.OK);
            Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(committed, await replay.Content.ReadAsStringAsync());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task ALiveUploadKeepsItsKeyWhileItsClientIsSilentLongerThanTheLeaseAndStopsRenewingWhenItEnds()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.Parse("2027-01-04T09:00:00Z"));
        using var app = new EscrowApp(new Dictionary<string, string?>
        {
            ["Escrow:Uploads:IdempotencyLeaseSeconds"] = "30",
            ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true",
        }, kestrel: true, time: clock);
        var org = await app.SignupAsync("silent");
        var population = await org.CreatePopulationAsync("Customers");
        var heartbeat = TimeSpan.FromSeconds(10); // a third of the lease
        // Other services may tick at the same period (the idle memory release does); only the upload's own count.
        var others = clock.PendingTimers.Count(t => t.Period == heartbeat);
        var body = Encoding.UTF8.GetBytes(Records.Range("L", 0, 600));

        var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, body.Length / 2, between: async () =>
        {
            if (!await WaitUntilAsync(app.DatabasePath, PendingSegments)) return false;
            Assert.True(await HeartbeatPendingAsync(clock, heartbeat, others), "no heartbeat renews the lease");
            // The client sends nothing for 40 s, longer than the 30 s lease; the service renews the lease meanwhile.
            for (var i = 0; i < 4; i++)
            {
                clock.Advance(heartbeat);
                var leaseUntil = (clock.GetUtcNow() + TimeSpan.FromSeconds(30)).ToUnixTimeMilliseconds();
                Assert.True(await WaitUntilAsync(app.DatabasePath, "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'silent-1' AND lease_until = @leaseUntil", new { leaseUntil }),
                    "the lease was not renewed to 30 s from now");
            }
            var refused = await org.Http.UploadAsync(population, Records.Range("M", 0, 5), idempotencyKey: "silent-1");
            // A retry is worth it once the holder has renewed its lease again (every third of the 30 s lease).
            Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);
            var meanwhile = await ExpectProblem(refused, HttpStatusCode.Conflict);
            Assert.Equal("Upload in progress", meanwhile["title"]!.GetValue<string>());
            return true;
        }, headers: new Dictionary<string, string> { ["Idempotency-Key"] = "silent-1" });

        Assert.True(sent.BetweenResult, "the test did not catch the upload in flight");
        Assert.StartsWith("HTTP/1.1 200", sent.Response);
        Assert.Equal(others, clock.PendingTimers.Count(t => t.Period == heartbeat));
        var replay = await org.Http.UploadAsync(population, Records.Range("L", 0, 600), idempotencyKey: "silent-1");
        await Expect(replay, HttpStatusCode.OK);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(600, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());

        // A failed upload stops its heartbeat too, and releases its key.
        await ExpectProblem(await org.Http.UploadAsync(population, "{\"recordId\":1}\n", idempotencyKey: "silent-2"), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(others, clock.PendingTimers.Count(t => t.Period == heartbeat));
        using var db = app.OpenDatabase();
        Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'silent-2'"));
    }

    [Fact]
    public async Task AStalledUploadWhoseKeyARetryTookOverStopsAtItsNextHeartbeatAndAppliesNothing()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.Parse("2027-01-04T09:00:00Z"));
        using var app = new EscrowApp(new Dictionary<string, string?>
        {
            ["Escrow:Uploads:IdempotencyLeaseSeconds"] = "30",
            ["Escrow:Uploads:SegmentRecords"] = "128", ["Escrow:Uploads:SnapshotSegments"] = "true",
        }, kestrel: true, time: clock);
        var org = await app.SignupAsync("stalled");
        var population = await org.CreatePopulationAsync("Customers");
        var others = clock.PendingTimers.Count(t => t.Period == TimeSpan.FromSeconds(10));
        var body = Encoding.UTF8.GetBytes(Records.Range("A", 0, 600));
        string? committed = null;

        var sent = await RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, body.Length / 2, between: async () =>
        {
            if (!await WaitUntilAsync(app.DatabasePath, PendingSegments) || !await HeartbeatPendingAsync(clock, TimeSpan.FromSeconds(10), others)) return false;
            // The first upload's process was frozen past its lease (a long pause, a suspended VM): its heartbeat did
            // not run in time, and a retry takes the key over and commits.
            using (var db = app.OpenDatabase()) db.Execute("UPDATE idempotency_keys SET lease_until = 0 WHERE key = 'stalled-1'");
            var retry = await org.Http.UploadAsync(population, Records.Range("B", 0, 300), idempotencyKey: "stalled-1");
            await Expect(retry, HttpStatusCode.OK);
            committed = await retry.Content.ReadAsStringAsync();
            // The first upload's next heartbeat finds the key taken over: it stops and removes what it wrote.
            clock.Advance(TimeSpan.FromSeconds(10));
            return await WaitUntilAsync(app.DatabasePath, "SELECT COUNT(*) = 0 FROM population_versions WHERE status = 'pending'");
        }, headers: new Dictionary<string, string> { ["Idempotency-Key"] = "stalled-1" });

        Assert.True(sent.BetweenResult, "the stalled upload did not stop when its key was taken over");
        Assert.StartsWith("HTTP/1.1 409", sent.Response);
        Assert.Contains("applied nothing", sent.Response);
        Assert.Equal(300, (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["recordCount"]!.GetValue<long>());
        var replay = await org.Http.UploadAsync(population, Records.Range("A", 0, 600), idempotencyKey: "stalled-1");
        await Expect(replay, HttpStatusCode.OK);
        Assert.Equal(committed, await replay.Content.ReadAsStringAsync());
        using var check = app.OpenDatabase();
        Assert.Equal(1, check.ExecuteScalar<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'committed'"));
    }

    /// <summary>Waits until more timers of <paramref name="period"/> are pending than the <paramref name="others"/> the
    /// service had before the upload began.</summary>
    private static async Task<bool> HeartbeatPendingAsync(ManualTimeProvider clock, TimeSpan period, int others)
    {
        for (var i = 0; i < 250 && clock.PendingTimers.Count(t => t.Period == period) <= others; i++) await Task.Delay(20);
        return clock.PendingTimers.Count(t => t.Period == period) > others;
    }

    private static SqliteConnection Open(string databasePath)
    {
        var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        connection.Open();
        return connection;
    }

    /// <summary>Polls the database (for a few seconds of real time) until a count query answers more than zero.</summary>
    private static async Task<bool> WaitUntilAsync(string databasePath, string countQuery, object? parameters = null)
    {
        using var db = Open(databasePath);
        for (var i = 0; i < 250; i++)
        {
            if (db.ExecuteScalar<long>(countQuery, parameters) > 0) return true;
            await Task.Delay(20);
        }
        return false;
    }
}
