using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Cli.Tests.Infrastructure;

namespace OverlapEscrow.Cli.Tests;

public sealed class SyncCommandTests : IDisposable
{
    private readonly EscrowApp _app = new();
    private readonly CliRunner.TempDirectory _dir = CliRunner.TempDir();

    public void Dispose()
    {
        _dir.Dispose();
        _app.Dispose();
    }

    /// <summary>A config for the alpha sample's customers, with whatever the test changes.</summary>
    private static JsonObject Config(string file, Action<JsonObject>? change = null)
    {
        var config = new JsonObject
        {
            ["server"] = Escrow.Server,
            ["population"] = "Customers",
            ["create"] = "customers",
            ["file"] = file,
            ["idColumn"] = "Account ID",
            ["domainColumn"] = "Website",
            ["emailColumn"] = "Primary Contact Email",
            ["nameColumn"] = "Account Name",
            ["countryColumn"] = "Billing Country",
            ["attributes"] = new JsonArray("Account Name", "Owner", new JsonObject { ["column"] = "Stage", ["name"] = "dealStage" }),
            ["mode"] = "snapshot",
        };
        change?.Invoke(config);
        return config;
    }

    private string WriteConfig(JsonObject config, string name = "customers.json") => _dir.Write(name, config.ToJsonString());

    private Task<CliResult> SyncAsync(string configPath, IDictionary<string, string>? environment, params DelegatingHandler[] extra) =>
        CliRunner.RunWithHandlersAsync((uri, handlers) => _app.CreateDefaultClient(uri, [.. handlers, .. extra]), environment, "sync", "--config", configPath);

    private static Dictionary<string, string> Variable(string name, string value) => new() { [name] = value };

    [Fact]
    public async Task ASyncRunsTheSavedUploadAndCommitsIt()
    {
        var alpha = await _app.SignupAsync("alpha");
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers")));

        var run = await SyncAsync(config, Variable(CliApp.ApiKeyVariable, alpha.ApiKey));

        Assert.True(run.ExitCode == 0, run.ToString());
        var population = await Escrow.ExpectAsync(await alpha.Admin.GetAsync($"/v1/populations/{await alpha.PopulationIdAsync("Customers")}"), HttpStatusCode.OK);
        var records = population["recordCount"]!.GetValue<long>();
        Assert.True(records > 0);
        Assert.Equal(1, await alpha.AuditCountAsync("population.uploaded"));
        // The summary of `upload`, after one line that says what ran and when.
        Assert.StartsWith($"sync:             {config}, ", run.Out);
        Assert.Contains("rows read:        415 (customers.csv)", run.Out);
        Assert.Contains("uploaded to:      \"Customers\"", run.Out);
        Assert.Contains($"version:          {population["currentVersionId"]!.GetValue<string>()}", run.Out);
        Assert.Contains($"record count:     {records:N0}", run.Out);
        Assert.DoesNotContain("error", run.Error);
    }

    [Fact]
    public async Task TheSameConfigAgainUploadsAgainUnderANewIdempotencyKey()
    {
        var alpha = await _app.SignupAsync("alpha");
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers")));

        var first = await SyncAsync(config, Variable(CliApp.ApiKeyVariable, alpha.ApiKey));
        var second = await SyncAsync(config, Variable(CliApp.ApiKeyVariable, alpha.ApiKey));

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(2, await alpha.AuditCountAsync("population.uploaded"));
        Assert.DoesNotContain("already committed", second.Out);
    }

    [Fact]
    public async Task TheKeyComesFromTheVariableNamedByApiKeyEnv()
    {
        var alpha = await _app.SignupAsync("alpha");
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "prospects"), c => c["apiKeyEnv"] = "ALPHA_ESCROW_KEY"));

        var run = await SyncAsync(config, Variable("ALPHA_ESCROW_KEY", alpha.ApiKey));
        var unset = await SyncAsync(config, Variable(CliApp.ApiKeyVariable, alpha.ApiKey));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(1, await alpha.AuditCountAsync("population.uploaded"));
        Assert.Equal(2, unset.ExitCode);
        Assert.Equal($"error: {config}, field \"apiKeyEnv\": the environment variable ALPHA_ESCROW_KEY is not set " +
                     "(cron starts commands with few variables: set it in the crontab line or in the script that cron runs).", Assert.Single(unset.ErrorLines));
    }

    [Theory]
    [InlineData("apiKey")]
    [InlineData("api_key")]
    [InlineData("secret")]
    public async Task AKeyWrittenInTheConfigIsRefusedAndNotEchoed(string field)
    {
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c[field] = "oek_abc123.s3cr3t-value"));

        // No HTTP client at all: nothing may be sent.
        var run = await CliRunner.RunWithHandlersAsync(null, Variable(CliApp.ApiKeyVariable, "oek_x.y"), "sync", "--config", config);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"error: {config}, field \"{field}\": the API key is never read from the config file", line);
        Assert.Contains("\"apiKeyEnv\"", line);
        Assert.DoesNotContain("s3cr3t", run.Error + run.Out);
    }

    [Fact]
    public async Task AKeyPutWhereTheVariableNameGoesIsRefusedAndNotEchoed()
    {
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c["apiKeyEnv"] = "oek_abc123.s3cr3t-value"));

        var run = await CliRunner.RunWithHandlersAsync(null, null, "sync", "--config", config);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"error: {config}, field \"apiKeyEnv\": is not an environment variable name", Assert.Single(run.ErrorLines));
        Assert.DoesNotContain("s3cr3t", run.Error + run.Out);
    }

    [Fact]
    public async Task AColumnTheExportLacksIsOneErrorLineAndNothingIsSent()
    {
        var requests = new Recorder();
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c["emailColumn"] = "Email"));

        var run = await SyncAsync(config, Variable(CliApp.ApiKeyVariable, "oek_x.y"), requests);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: customers.csv has no column \"Email\"", Assert.Single(run.ErrorLines));
        Assert.Empty(requests.Seen);
    }

    [Fact]
    public async Task RelativePathsAreRelativeToTheConfigFileNotTheWorkingDirectory()
    {
        var alpha = await _app.SignupAsync("alpha");
        _dir.Write("exports/customers.csv", "Account ID,Website,Owner\nA-1,acme.com,ana\nA-2,globex.com,bo\n");
        var keyFile = _dir.Write("secrets/escrow.key", alpha.ApiKey + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var config = WriteConfig(new JsonObject
        {
            ["server"] = Escrow.Server, ["population"] = "Customers", ["create"] = "customers", ["file"] = "exports/customers.csv",
            ["idColumn"] = "Account ID", ["domainColumn"] = "Website", ["attributes"] = new JsonArray("Owner"), ["apiKeyFile"] = "secrets/escrow.key",
        });
        Assert.NotEqual(_dir.Path, Path.TrimEndingDirectorySeparator(Environment.CurrentDirectory));

        var run = await SyncAsync(config, null);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("rows read:        2 (customers.csv)", run.Out);
        var population = await Escrow.ExpectAsync(await alpha.Admin.GetAsync($"/v1/populations/{await alpha.PopulationIdAsync("Customers")}"), HttpStatusCode.OK);
        Assert.Equal(2, population["recordCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task AMissingExportFailsTheRunNamingThePathItResolvedTo()
    {
        var config = WriteConfig(Config("exports/missing.csv"));

        var run = await CliRunner.RunWithHandlersAsync(null, Variable(CliApp.ApiKeyVariable, "oek_x.y"), "sync", "--config", config);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"error: cannot read {Path.Combine(_dir.Path, "exports", "missing.csv")}: no such file (the \"file\" of {config}).", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task AKeyFileOthersCanReadIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var keyFile = _dir.Write("escrow.key", "oek_abc123.s3cr3t-value\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c["apiKeyFile"] = "escrow.key"));

        var run = await CliRunner.RunWithHandlersAsync(null, null, "sync", "--config", config);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {config}, field \"apiKeyFile\": {keyFile} is readable or writable by group or others (mode 0644), so it is not used; " +
                     $"let only its owner read and write it: chmod 600 {keyFile}", Assert.Single(run.ErrorLines));
        Assert.DoesNotContain("s3cr3t", run.Error + run.Out);
    }

    [Fact]
    public async Task AKeyFileOthersCanWriteOrAConfigEveryoneCanWriteIsRefused()
    {
        if (OperatingSystem.IsWindows()) return;
        var keyFile = _dir.Write("escrow.key", "oek_abc123.s3cr3t-value\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        var config = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c["apiKeyFile"] = "escrow.key"));

        var run = await CliRunner.RunWithHandlersAsync(null, null, "sync", "--config", config);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is readable or writable by group or others (mode 0620)", Assert.Single(run.ErrorLines));

        // The key file owner-only now; the config writable by every user (whoever writes it chooses the server).
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        run = await CliRunner.RunWithHandlersAsync(null, null, "sync", "--config", config);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {config} may be written by every user (mode 0646), so it is not used: whoever writes it chooses where the API key is sent. " +
                     $"chmod o-w {config}", Assert.Single(run.ErrorLines));
        Assert.DoesNotContain("s3cr3t", run.Error + run.Out);
    }

    [Fact]
    public async Task TheScheduleIdTravelsWithTheUploadAsXSyncSchedule()
    {
        var alpha = await _app.SignupAsync("alpha");
        var created = await alpha.Admin.PostAsJsonAsync("/v1/schedules", new { name = "Nightly customers", cron = "30 2 * * *", timeZone = "UTC", action = "refresh" });
        var scheduleId = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var withSchedule = new Recorder();
        var without = new Recorder();
        var scheduled = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers"), c => c["scheduleId"] = scheduleId), "scheduled.json");
        var plain = WriteConfig(Config(CliRunner.PartnerFile("alpha", "customers")), "plain.json");

        var run = await SyncAsync(scheduled, Variable(CliApp.ApiKeyVariable, alpha.ApiKey), withSchedule);
        var plainRun = await SyncAsync(plain, Variable(CliApp.ApiKeyVariable, alpha.ApiKey), without);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(plainRun.ExitCode == 0, plainRun.ToString());
        var upload = Assert.Single(withSchedule.Seen, r => r.Path.EndsWith("/records", StringComparison.Ordinal));
        Assert.Equal("PUT", upload.Method);
        Assert.Equal(scheduleId, upload.Schedule);
        // Only the upload is a run of the schedule: the token and population calls go without the header.
        Assert.All(withSchedule.Seen.Where(r => r != upload), r => Assert.Null(r.Schedule));
        Assert.All(without.Seen, r => Assert.Null(r.Schedule));
        // The escrow recorded the scheduled push, and only it, as a run of the schedule.
        var runs = JsonNode.Parse(await (await alpha.Admin.GetAsync($"/v1/schedules/{scheduleId}/runs")).Content.ReadAsStringAsync())!;
        var pushRun = Assert.Single(runs["items"]!.AsArray());
        Assert.Equal("push", pushRun!["trigger"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"server": "ftp://escrow.example.com"}""", "server", "\"ftp://escrow.example.com\" is not an http:// or https:// URL.")]
    [InlineData("""{"mode": "full"}""", "mode", "\"full\" is neither \"snapshot\" nor \"delta\".")]
    [InlineData("""{"create": "leads"}""", "create", "\"leads\" is not a population type (customers, prospects, opportunities, partners, custom).")]
    [InlineData("""{"idColumn": 7}""", "idColumn", "must be a string, not a number.")]
    [InlineData("""{"population": null}""", "population", "is required.")]
    [InlineData("""{"domainColum": "Website"}""", "domainColum", "is not a sync setting; did you mean \"domainColumn\"?")]
    [InlineData("""{"website": "Website"}""", "website", "is not a sync setting (they are: server, population, create, file, idColumn, domainColumn, emailColumn, nameColumn, countryColumn, attributes, mode, apiKeyEnv, apiKeyFile, scheduleId).")]
    [InlineData("""{"attributes": ["Owner", {"column": "Stage", "name": "1st"}]}""", "attributes[1].name", "\"1st\" is not a valid attribute name (1–64 of A-Z a-z 0-9 _, starting with a letter).")]
    [InlineData("""{"attributes": [{"name": "stage"}]}""", "attributes[0].column", "is required.")]
    [InlineData("""{"apiKeyEnv": "A", "apiKeyFile": "k"}""", "apiKeyFile", "and \"apiKeyEnv\" are both set; keep the one that holds the key.")]
    [InlineData("""{"scheduleId": "nightly run"}""", "scheduleId", "is 1–255 visible ASCII characters (no spaces), as the escrow gave it.")]
    public async Task ABadConfigExitsWithTwoNamingTheField(string overrides, string field, string problem)
    {
        var config = Config(CliRunner.PartnerFile("alpha", "customers"));
        foreach (var (name, value) in JsonNode.Parse(overrides)!.AsObject()) config[name] = value?.DeepClone();
        var path = WriteConfig(config);

        var run = await CliRunner.RunWithHandlersAsync(null, Variable(CliApp.ApiKeyVariable, "oek_x.y"), "sync", "--config", path);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: {path}, field \"{field}\": {problem}", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task InvalidJsonAndAMissingConfigExitWithTwo()
    {
        var broken = _dir.Write("broken.json", "{\n  \"server\": \"http://localhost\",\n  \"population\" \"Customers\"\n}");

        var bad = await CliRunner.RunAsync("sync", "--config", broken);
        var missing = await CliRunner.RunAsync("sync", "--config", Path.Combine(_dir.Path, "nowhere.json"));

        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith($"error: {broken} is not valid JSON (line 3, column ", Assert.Single(bad.ErrorLines));
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal($"error: cannot read the config {Path.Combine(_dir.Path, "nowhere.json")}: no such file.", Assert.Single(missing.ErrorLines));
    }

    [Fact]
    public async Task TheExampleConfigUploadsTheAlphaSample()
    {
        var alpha = await _app.SignupAsync("alpha");
        var example = CliRunner.RepositoryFile("src", "OverlapEscrow.Cli", "examples", "sync.example.json");

        var run = await SyncAsync(example, Variable(CliApp.ApiKeyVariable, alpha.ApiKey));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("rows read:        415 (customers.csv)", run.Out);
        Assert.True(await alpha.AuditCountAsync("population.uploaded") == 1);
    }

    [Fact]
    public async Task HelpDescribesTheConfigFile()
    {
        var run = await CliRunner.RunAsync("sync", "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("--config", run.Out);
        foreach (var field in new[] { "server", "population", "create", "file", "idColumn", "domainColumn", "emailColumn", "nameColumn", "countryColumn",
                     "attributes", "mode", "apiKeyEnv", "apiKeyFile", "scheduleId" })
            Assert.Matches($@"(?m)^  {field}\b", run.Out);
        Assert.Contains("Exit codes: 0", run.Out);
    }

    /// <summary>Every request's method, path and X-Sync-Schedule header, as it leaves the client.</summary>
    private sealed class Recorder : DelegatingHandler
    {
        public List<(string Method, string Path, string? Schedule)> Seen { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var schedule = request.Headers.TryGetValues("X-Sync-Schedule", out var values) ? string.Join(",", values) : null;
            Seen.Add((request.Method.Method, request.RequestUri!.AbsolutePath, schedule));
            return base.SendAsync(request, ct);
        }
    }
}
