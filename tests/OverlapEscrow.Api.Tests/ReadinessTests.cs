using System.Net;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// /readyz, the load balancer's readiness check (docs/operations.md, "Several instances"), beside /healthz, and the start-up
/// line that names the database. With several real processes: SeveralInstancesTests.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class ReadinessTests
{
    [Fact]
    public async Task AnInstanceWhoseDatabaseHoldsEveryMigrationIsReadyWithoutAuthentication()
    {
        using var app = new EscrowApp();
        var response = await app.CreateClient().GetAsync("/readyz");
        await Expect(response, HttpStatusCode.OK);
        Assert.Equal("ready", (await Json(response))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnInstanceWhoseDatabaseLacksAMigrationOfItsBuildIsNotReadyUntilTheMigrationIsThere()
    {
        using var app = new EscrowApp();
        var http = app.CreateClient();
        await Expect(await http.GetAsync("/readyz"), HttpStatusCode.OK);
        string last;
        long appliedAt;
        using (var db = app.OpenAnyDatabase())
        {
            (last, appliedAt) = db.QuerySingle<(string, long)>("SELECT id, applied_at FROM schema_migrations ORDER BY id DESC LIMIT 1");
            db.Execute("DELETE FROM schema_migrations WHERE id = @last", new { last });
        }

        var problem = await ExpectProblem(await http.GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:overlap-escrow:problem:unavailable", problem["type"]!.GetValue<string>());
        Assert.Equal("The database schema is behind this build", problem["title"]!.GetValue<string>());
        Assert.StartsWith("1 migrations are not applied", problem["detail"]!.GetValue<string>());
        // Liveness is another question: the process and its database answer.
        await Expect(await http.GetAsync("/healthz"), HttpStatusCode.OK);

        using (var db = app.OpenAnyDatabase())
            db.Execute("INSERT INTO schema_migrations (id, applied_at) VALUES (@last, @appliedAt)", new { last, appliedAt });
        await Expect(await http.GetAsync("/readyz"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task AnInstanceThatHasBegunToStopIsNotReady()
    {
        using var app = new EscrowApp();
        await Expect(await app.CreateClient().GetAsync("/readyz"), HttpStatusCode.OK);
        var migrations = app.Services.GetRequiredService<IStorageMigrations>();

        var answer = await Readiness.CheckAsync(migrations, new Stopping(), NullLoggerFactory.Instance, CancellationToken.None);

        var problem = Assert.IsType<ProblemHttpResult>(answer.Result);
        Assert.Equal(503, problem.StatusCode);
        Assert.Equal("The instance is shutting down", problem.ProblemDetails.Title);
    }

    [Fact]
    public async Task AStoppingInstanceKeepsServingForItsDrainWindowWhileItsReadinessSaysItIsLeaving()
    {
        // A real process told to stop (SIGTERM): without a drain the listener closes within milliseconds, so a balancer's
        // probe never sees the 503 and its next request meets a closed port.
        var directory = Directory.CreateTempSubdirectory("oe-drain-").FullName;
        try
        {
            using var service = await ServiceProcess.StartAsync(directory, new Dictionary<string, string> { ["Escrow__ShutdownDrainSeconds"] = "3" });
            using var http = service.CreateClient();
            await Expect(await http.GetAsync("/readyz"), HttpStatusCode.OK);
            var asked = DateTime.UtcNow;
            service.Terminate();

            HttpResponseMessage? notReady = null;
            while (notReady is null && DateTime.UtcNow - asked < TimeSpan.FromSeconds(2))
            {
                HttpResponseMessage answer;
                try { answer = await http.GetAsync("/readyz"); }
                catch (HttpRequestException) { break; } // the port is closed already: no drain
                if (answer.StatusCode == HttpStatusCode.ServiceUnavailable) notReady = answer;
                else await Task.Delay(20);
            }
            Assert.True(notReady is not null, "/readyz never answered 503 while the instance stopped.\n" + service.Output);
            Assert.Equal("The instance is shutting down", (await ExpectProblem(notReady, HttpStatusCode.ServiceUnavailable))["title"]!.GetValue<string>());
            // Other requests are still served in the window: the instance drains, it does not refuse.
            await Expect(await http.GetAsync("/healthz"), HttpStatusCode.OK);
            Assert.True(DateTime.UtcNow - asked < TimeSpan.FromSeconds(3), "the checks above ran past the drain window");

            Assert.True(service.WaitForExit(TimeSpan.FromSeconds(30)), "the instance did not stop after its drain window.\n" + service.Output);
            Assert.True(DateTime.UtcNow - asked >= TimeSpan.FromSeconds(3), "the instance stopped before its drain window ended");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A host that has begun to stop (ApplicationStopping cancelled), as during a rolling restart.</summary>
    private sealed class Stopping : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(canceled: true);
        public CancellationToken ApplicationStopping => new(canceled: true);
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }
}

/// <summary>The start-up line that names the database (SQLite here; PostgreSQL with credentials: SeveralInstancesTests).</summary>
public sealed class StartupLogTests
{
    [Fact]
    public async Task TheServiceLogsWhichDatabaseFileItServesAtStart()
    {
        using var app = new EscrowApp();
        await Expect(await app.CreateClient().GetAsync("/healthz"), HttpStatusCode.OK);
        Assert.Contains(app.Logs, l => l.Contains("Database: sqlite " + Path.GetFullPath(app.DatabasePath), StringComparison.Ordinal));
    }
}
