using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// `admin copy-to-postgres` moves a running SQLite escrow into an empty PostgreSQL database, and the service started on
/// the copy answers as the SQLite one did; `admin verify-copy` catches a copy that differs. Needs OE_TEST_POSTGRES (a
/// server where the test may create databases); shown as skipped without it.
/// </summary>
public sealed class PostgresMoveTests : IDisposable
{
    /// <summary>Skipped, with the reason, when the run has no PostgreSQL server.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class ServerFactAttribute : FactAttribute
    {
        public ServerFactAttribute()
        {
            if (TestPostgres.Server is null) Skip = "OE_TEST_POSTGRES is not set: no PostgreSQL server to move to (scripts/test starts one when PostgreSQL is installed).";
        }
    }

    // The test server trusts local connections, so this password is sent and ignored: it is here to be looked for in the output.
    private const string TargetPassword = "not-for-any-output-7f3a";

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
    private readonly List<string> _databases = [];

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        foreach (var database in _databases) TestPostgres.Drop(database);
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>On SQLite whatever pass this is: the escrow being moved.</summary>
    private static readonly Dictionary<string, string?> OnSqlite = new()
    {
        ["Escrow:Database:Provider"] = "sqlite", ["Escrow:Database:ConnectionString"] = null, ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
    };

    private string NewTarget()
    {
        var name = "oe_move_" + Guid.NewGuid().ToString("N");
        Admin($"CREATE DATABASE {name}");
        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString(name)) { Password = TargetPassword }.ConnectionString;
    }

    private static void Admin(string sql, string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(TestPostgres.Server!) { Pooling = false };
        if (database is not null) builder.Database = database;
        using var connection = new NpgsqlConnection(builder.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(string target, string sql)
    {
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(target) { Pooling = false }.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }

    private async Task<(int Code, string Output)> AdminAsync(params string[] args)
    {
        var output = new StringWriter();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _dataDirectory };
        foreach (var (key, value) in OnSqlite) settings[key] = value;
        var code = await AdminCommand.RunAsync(args, output, output, settings);
        return (code, output.ToString());
    }

    private EscrowApp OnPostgresApp(string target) => new(new Dictionary<string, string?>
    {
        ["Escrow:Database:Provider"] = "postgres", ["Escrow:Database:ConnectionString"] = target, ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
    }, _dataDirectory);

    private static async Task<string> GetAsync(HttpClient http, string url)
    {
        var response = await http.GetAsync(url);
        await Expect(response, HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Waits until the schedule's newest run is neither queued nor running.</summary>
    private static async Task RunFinishedAsync(HttpClient http, string scheduleId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = JsonNode.Parse(await GetAsync(http, $"/v1/schedules/{scheduleId}/runs?limit=1"))!["items"]![0]!["status"]!.GetValue<string>();
            if (status is not ("queued" or "running")) return;
            Assert.True(DateTime.UtcNow < deadline, $"the run is still {status} after 60 s");
            await Task.Delay(50);
        }
    }

    /// <summary>What the test compares between the two databases: what each side reads through the API.</summary>
    private static async Task<Dictionary<string, string>> ReadEverythingAsync(HttpClient alpha, HttpClient beta, string partnership, string alphaCustomers, string betaCustomers)
    {
        var seen = new Dictionary<string, string>();
        foreach (var (who, http) in new[] { ("alpha", alpha), ("beta", beta) })
        {
            seen[$"{who} matrix"] = JsonNode.Parse(await GetAsync(http, $"/v1/partnerships/{partnership}/overlaps"))!["cells"]!.ToJsonString();
            seen[$"{who} history"] = JsonNode.Parse(await GetAsync(http, $"/v1/partnerships/{partnership}/overlaps/history"))!["cells"]!.ToJsonString();
            seen[$"{who} populations"] = await GetAsync(http, "/v1/populations");
            seen[$"{who} schedules"] = await GetAsync(http, "/v1/schedules");
            seen[$"{who} webhooks"] = await GetAsync(http, "/v1/webhooks");
            seen[$"{who} partnerships"] = await GetAsync(http, "/v1/partnerships");
            var verify = JsonNode.Parse(await GetAsync(http, "/v1/audit/verify"))!;
            Assert.True(verify["valid"]!.GetValue<bool>(), $"{who}'s audit chain: {verify.ToJsonString()}");
            seen[$"{who} audit size"] = verify["size"]?.ToJsonString() ?? "";
        }
        seen["alpha list"] = await GetAsync(alpha, $"/v1/partnerships/{partnership}/overlaps/{alphaCustomers}/{betaCustomers}?limit=500");
        return seen;
    }

    [ServerFact]
    public async Task ARunningSqliteEscrowCopiedIntoPostgresAnswersTheSameThereAndTheCopyVerifies()
    {
        Directory.CreateDirectory(_dataDirectory);
        var target = NewTarget();
        string partnership, alphaCustomers, betaCustomers, scheduleId;
        Dictionary<string, string> before;
        // The demo's organizations bring co-selling signals (data requests, attribution claims, opportunities).
        using (var app = new EscrowApp(new Dictionary<string, string?>(OnSqlite) { ["Escrow:Demo:Enabled"] = "true" }, _dataDirectory))
        {
            var alpha = await app.SignupAsync("move-alpha");
            var beta = await app.SignupAsync("move-beta");
            var gamma = await app.SignupAsync("move-gamma");
            alphaCustomers = await alpha.CreatePopulationAsync("Customers");
            var alphaProspects = await alpha.CreatePopulationAsync("Prospects", "prospects");
            betaCustomers = await beta.CreatePopulationAsync("Customers");
            await alpha.UploadOkAsync(alphaCustomers, Records.Range("M", 0, 120, "owner"));
            await alpha.UploadOkAsync(alphaCustomers, Records.Range("M", 500, 10, "owner"), delta: true);
            await alpha.UploadOkAsync(alphaProspects, Records.Range("M", 200, 80));
            await beta.UploadOkAsync(betaCustomers, Records.Range("M", 60, 200, "owner"));
            await alpha.ShareAsync(alphaCustomers, "overlaps", "owner");
            await alpha.ShareAsync(alphaProspects, "counts");
            await beta.ShareAsync(betaCustomers, "overlaps", "owner");
            partnership = await alpha.PartnerAsync(beta);
            await alpha.PartnerAsync(gamma);
            // Reads record history points and a counts-level release (noised, budgeted) for beta.
            await alpha.MatrixAsync(partnership);
            await beta.MatrixAsync(partnership);
            var schedule = await Json(await alpha.Http.PostAsJsonAsync("/v1/schedules", new { name = "Nightly refresh", cron = "0 3 * * *", timeZone = "Europe/Paris", action = "refresh" }));
            scheduleId = schedule["id"]!.GetValue<string>();
            Assert.True((await alpha.Http.PostAsync($"/v1/schedules/{scheduleId}/run", null)).IsSuccessStatusCode);
            // The run is the runner's, in the background. While it is still queued a second "run now" queues nothing
            // new (it answers with the queued run), so the count of runs after the move would depend on the timing.
            await RunFinishedAsync(alpha.Http, scheduleId);
            await Expect(await alpha.Http.PostAsJsonAsync("/v1/api-keys", new { name = "crm export", scopes = new[] { "overlaps:read" } }), HttpStatusCode.Created);
            await alpha.SetPrivacyAsync(partnership, new { epsilonPerPeriod = 1, epsilonPerRelease = 0.05, refreshIntervalMinutes = 60 });
            await Expect(await alpha.Http.UploadAsync(alphaProspects, Records.Range("M", 300, 5), delta: true, idempotencyKey: "move-test-1"), HttpStatusCode.OK);
            Assert.Equal(AdminCommand.Ok, (await AdminAsync("signup-code", "--days", "3")).Code);
            await Expect(await beta.Http.PostAsJsonAsync("/v1/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "overlaps.changed" } }), HttpStatusCode.Created);
            await Expect(await alpha.Http.PostAsync("/v1/audit/checkpoints", null), HttpStatusCode.OK);
            // An erased organization: its keys destroyed, its partnership with alpha a tombstone.
            var erased = await AdminAsync("organization", "delete", "move-gamma", "--confirm", "move-gamma");
            Assert.True(erased.Code == 0, erased.Output);
            // Alpha's data key rotated: its values are sealed under a second key version.
            var rotated = await AdminAsync("keys", "rotate-data", "--organization", "move-alpha", "--settle", "0");
            Assert.True(rotated.Code == 0, rotated.Output);
            // A change after the partnership's first read, so history has two points.
            await beta.UploadOkAsync(betaCustomers, Records.Range("M", 100, 50, "owner"), delta: true);
            await alpha.MatrixAsync(partnership);
            // History points and overlaps.changed are the refresher's, in the background: what is read below must be
            // what the copy copies, so the refresher catches up first (under load a read could come before its points).
            await app.RefreshedAsync();
            before = await ReadEverythingAsync(alpha.Http, beta.Http, partnership, alphaCustomers, betaCustomers);

            // The copy runs while the service runs.
            var (code, output) = await AdminAsync("copy-to-postgres", "--to", target);
            Assert.True(code == 0, output);
            Assert.Contains("the copy verifies", output);
            Assert.DoesNotContain(TargetPassword, output);
            Assert.DoesNotContain(TargetPassword, string.Join('\n', app.Logs));
            Assert.Matches(@"verify matrices: [2-9]\d* active partnerships, [1-9]\d* cells from each side's view, all equal", output);
            // The snapshot holds everything the database does: it does not outlive the command.
            Assert.Empty(Directory.EnumerateDirectories(_dataDirectory, "move-snapshot-*"));
            // Every table of the SQLite schema is in the report, copied and verified.
            using var sqlite = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly;Pooling=False");
            sqlite.Open();
            using var tables = sqlite.CreateCommand();
            tables.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'";
            using var reader = tables.ExecuteReader();
            var count = 0;
            while (reader.Read())
            {
                count++;
                Assert.Matches($"verify {reader.GetString(0)}: [0-9,]+ rows on both sides, same digest", output);
            }
            Assert.Contains($"verify: all {count} tables hold the same rows on both sides", output);
            Assert.Matches("copied partnership_tombstones: [1-9]", output);
            foreach (var table in new[] { "audit_checkpoints", "data_requests", "attributions", "overlap_history", "schedules", "sync_runs", "webhooks", "segments",
                         "version_columns", "api_keys", "privacy_settings", "idempotency_keys", "signup_codes", "count_releases" })
                Assert.Matches($"copied {table}: [1-9]", output);
        }

        // The service on PostgreSQL, with the same secrets, answers what the SQLite one answered.
        using (var app = OnPostgresApp(target))
        {
            var alpha = await app.SignInAsync("move-alpha");
            var beta = await app.SignInAsync("move-beta");
            var after = await ReadEverythingAsync(alpha, beta, partnership, alphaCustomers, betaCustomers);
            foreach (var (what, value) in before) Assert.True(value == after[what], $"{what} differs:\n{value}\n{after[what]}");
            // And it keeps working there: a new upload is accepted, and rows numbered by the database (a sync run, a
            // checkpoint) take numbers after the copied ones.
            var upload = await alpha.UploadAsync(alphaCustomers, Records.Range("M", 900, 5, "owner"), delta: true);
            Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());
            var run = await alpha.PostAsync($"/v1/schedules/{scheduleId}/run", null);
            Assert.True(run.IsSuccessStatusCode, await run.Content.ReadAsStringAsync());
            await Expect(await alpha.PostAsync("/v1/audit/checkpoints", null), HttpStatusCode.OK);
            Assert.Equal(2L, Scalar<long>(target, "SELECT COUNT(*) FROM sync_runs"));
            Assert.True(Scalar<long>(target, "SELECT COUNT(*) FROM audit_checkpoints") >= 2);
        }
    }

    [Fact]
    public async Task ATargetNamedWrongOrNotAtAllIsRefusedBeforeAnythingIsReadAndItsPasswordIsNeverRepeated()
    {
        var none = await AdminAsync("copy-to-postgres");
        Assert.Equal(AdminCommand.Failed, none.Code);
        Assert.Contains("name the target with --to-env <variable> or --to <connection string>", none.Output);

        var unset = await AdminAsync("verify-copy", "--to-env", "OE_TEST_MOVE_NOT_SET_" + Guid.NewGuid().ToString("N"));
        Assert.Equal(AdminCommand.Failed, unset.Code);
        Assert.Contains("is not set", unset.Output);

        var noDatabase = await AdminAsync("copy-to-postgres", "--to", $"Host=db.example;Password={TargetPassword}");
        Assert.Equal(AdminCommand.Failed, noDatabase.Code);
        Assert.Contains("error: the target's connection string names no Database", noDatabase.Output);
        Assert.DoesNotContain(TargetPassword, noDatabase.Output);

        var unreachable = await AdminAsync("copy-to-postgres", "--to", $"Host=127.0.0.1;Port=1;Database=escrow;Username=escrow;Password={TargetPassword};Timeout=5");
        Assert.Equal(AdminCommand.Failed, unreachable.Code);
        Assert.Contains("target: database escrow on 127.0.0.1:1 as escrow", unreachable.Output);
        Assert.DoesNotContain(TargetPassword, unreachable.Output);
        Assert.False(Directory.Exists(_dataDirectory) && Directory.EnumerateDirectories(_dataDirectory, "move-snapshot-*").Any(), "a snapshot was left behind");
    }

    [ServerFact]
    public async Task ASnapshotAKilledRunLeftIsDeletedByTheNextRunAndOneInUseIsNot()
    {
        Directory.CreateDirectory(_dataDirectory);
        using (var app = new EscrowApp(OnSqlite, _dataDirectory)) await app.SignupAsync("leftover-alpha");
        string Snapshot(string name, bool withLock)
        {
            var directory = Path.Combine(_dataDirectory, name);
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "escrow.db"), "a copy of the whole database");
            if (withLock) File.WriteAllText(Path.Combine(directory, ".lock"), "");
            return directory;
        }
        // Killed mid-copy: its lock file is there and no process holds it.
        var killed = Snapshot("move-snapshot-20261101T010000000Z", withLock: true);
        // A copy running in another process: it holds its lock.
        var running = Snapshot("move-snapshot-20261101T020000000Z", withLock: true);
        using var held = new FileStream(Path.Combine(running, ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        // Without a lock file: left long ago (deleted), or a run between creating its folder and its lock (kept).
        var old = Snapshot("move-snapshot-20261101T030000000Z", withLock: false);
        Directory.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));
        var young = Snapshot("move-snapshot-20261101T040000000Z", withLock: false);

        var (code, output) = await AdminAsync("copy-to-postgres", "--to", NewTarget());
        Assert.True(code == 0, output);
        Assert.Contains("deleted move-snapshot-20261101T010000000Z: a snapshot an interrupted run left", output);
        Assert.Contains("deleted move-snapshot-20261101T030000000Z: a snapshot an interrupted run left", output);
        Assert.DoesNotContain("deleted move-snapshot-20261101T020000000Z", output);
        Assert.DoesNotContain("deleted move-snapshot-20261101T040000000Z", output);
        Assert.False(Directory.Exists(killed));
        Assert.False(Directory.Exists(old));
        Assert.True(File.Exists(Path.Combine(running, "escrow.db")));
        Assert.True(File.Exists(Path.Combine(young, "escrow.db")));
        // Its own snapshot is gone too: only the two left alone remain.
        Assert.Equal(2, Directory.EnumerateDirectories(_dataDirectory, "move-snapshot-*").Count());

        // Once the other process lets go, the next run (a verification too) deletes it.
        held.Dispose();
        var verify = await AdminAsync("verify-copy", "--to", TargetOf(_databases[^1]));
        Assert.Contains("deleted move-snapshot-20261101T020000000Z", verify.Output);
        Assert.False(Directory.Exists(running));
    }

    private static string TargetOf(string database) =>
        new NpgsqlConnectionStringBuilder(TestPostgres.ConnectionString(database)) { Password = TargetPassword }.ConnectionString;

    [ServerFact]
    public async Task ATargetThatIsNotEmptyIsRefusedAndLeftAsItWas()
    {
        Directory.CreateDirectory(_dataDirectory);
        var target = NewTarget();
        Admin("CREATE TABLE invoices (id bigint PRIMARY KEY, amount bigint); INSERT INTO invoices VALUES (1, 100);", _databases[^1]);
        using (var app = new EscrowApp(OnSqlite, _dataDirectory)) await app.SignupAsync("full-alpha");

        var (code, output) = await AdminAsync("copy-to-postgres", "--to", target);
        Assert.Equal(AdminCommand.Failed, code);
        Assert.Contains("error: the target database is not empty", output);
        Assert.Contains("invoices", output);
        Assert.DoesNotContain(TargetPassword, output);
        Assert.Equal(1L, Scalar<long>(target, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()"));
        Assert.Equal(100L, Scalar<long>(target, "SELECT amount FROM invoices WHERE id = 1"));

        // A second copy into a database that already holds a copy is refused the same way.
        var second = NewTarget();
        Assert.Equal(AdminCommand.Ok, (await AdminAsync("copy-to-postgres", "--to", second)).Code);
        var again = await AdminAsync("copy-to-postgres", "--to", second);
        Assert.Equal(AdminCommand.Failed, again.Code);
        Assert.Contains("not empty", again.Output);
        Assert.Equal(1L, Scalar<long>(second, "SELECT COUNT(*) FROM organizations"));
    }

    [ServerFact]
    public async Task VerifyCatchesARowChangedInTheCopyAndACopyThatFellBehind()
    {
        Directory.CreateDirectory(_dataDirectory);
        var target = NewTarget();
        Environment.SetEnvironmentVariable("OE_TEST_MOVE_TARGET_" + _databases[^1], target);
        string partnership;
        using (var app = new EscrowApp(OnSqlite, _dataDirectory))
        {
            var alpha = await app.SignupAsync("verify-alpha");
            var beta = await app.SignupAsync("verify-beta");
            var mine = await alpha.CreatePopulationAsync("Customers");
            var theirs = await beta.CreatePopulationAsync("Customers");
            await alpha.UploadOkAsync(mine, Records.Range("V", 0, 40));
            await beta.UploadOkAsync(theirs, Records.Range("V", 20, 40));
            await beta.ShareAsync(theirs, "overlaps");
            partnership = await alpha.PartnerAsync(beta);
            await alpha.MatrixAsync(partnership);
        }
        var copy = await AdminAsync("copy-to-postgres", "--to-env", "OE_TEST_MOVE_TARGET_" + _databases[^1]);
        Assert.True(copy.Code == 0, copy.Output);
        var verified = await AdminAsync("verify-copy", "--to-env", "OE_TEST_MOVE_TARGET_" + _databases[^1]);
        Assert.True(verified.Code == 0, verified.Output);
        Assert.Contains("the copy verifies", verified.Output);

        // A sharing rule changed by hand in the copy.
        Admin("UPDATE sharing_rules SET level = 'counts' WHERE level = 'overlaps'", _databases[^1]);
        var changed = await AdminAsync("verify-copy", "--to-env", "OE_TEST_MOVE_TARGET_" + _databases[^1]);
        Assert.Equal(AdminCommand.Failed, changed.Code);
        Assert.Contains("verify sharing_rules: DIFFERENT (1 rows in SQLite, 1 rows in PostgreSQL, different content)", changed.Output);
        Assert.Contains("error: the copy does not verify: tables that differ: sharing_rules", changed.Output);
        Admin("UPDATE sharing_rules SET level = 'overlaps' WHERE level = 'counts'", _databases[^1]);

        // A population's current version pointed at nothing in the copy: the table and the matrices differ.
        Admin("UPDATE populations SET current_version_id = NULL WHERE organization_id = (SELECT id FROM organizations WHERE slug = 'verify-beta')", _databases[^1]);
        var matrix = await AdminAsync("verify-copy", "--to-env", "OE_TEST_MOVE_TARGET_" + _databases[^1]);
        Assert.Equal(AdminCommand.Failed, matrix.Code);
        Assert.Contains("verify populations: DIFFERENT", matrix.Output);
        Assert.Contains("verify matrix: DIFFERENT cell " + partnership, matrix.Output);
        Assert.Contains("matrix cells differ", matrix.Output);
        Environment.SetEnvironmentVariable("OE_TEST_MOVE_TARGET_" + _databases[^1], null);
    }
}
