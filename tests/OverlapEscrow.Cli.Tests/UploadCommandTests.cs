using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using OverlapEscrow.Cli.Tests.Infrastructure;
using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Tests;

public sealed class UploadCommandTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private static string[] Upload(string population, string file, params string[] more) =>
        ["upload", "--server", Escrow.Server, "--population", population, "--file", file, .. CliRunner.SampleColumns, .. more];

    [Fact]
    public async Task UploadHashesThePartnerSampleAndCommitsItAsASnapshot()
    {
        var alpha = await _app.SignupAsync("alpha");
        var file = CliRunner.PartnerFile("alpha", "customers");
        var hashed = await CliRunner.RunAsync(["hash", "--file", file, .. CliRunner.SampleColumns]);
        var expectedRecords = Encoding.UTF8.GetString(hashed.StandardOutputBytes).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

        // The API key comes from the environment, not the command line.
        var run = await CliRunner.RunAsync(_app, alpha.ApiKey, Upload("Customers", file, "--create", "customers"));

        Assert.True(run.ExitCode == 0, run.ToString());
        var population = await Escrow.ExpectAsync(await alpha.Admin.GetAsync($"/v1/populations/{await alpha.PopulationIdAsync("Customers")}"), HttpStatusCode.OK);
        Assert.Equal(expectedRecords, population["recordCount"]!.GetValue<long>());
        Assert.Contains($"version:          {population["currentVersionId"]!.GetValue<string>()}", run.Out);
        Assert.Contains($"record count:     {expectedRecords:N0}", run.Out);
        Assert.Contains($"server:           {expectedRecords:N0} rows read, {expectedRecords:N0} applied, 0 rejected", run.Out);
        Assert.Contains("rows read:        415 (customers.csv)", run.Out);
        Assert.Contains("keys per type:    domain ", run.Out);
        Assert.Contains("created population \"Customers\"", run.Error);
        Assert.DoesNotContain("error", run.Error);
    }

    [Fact]
    public async Task TheUploadedAttributesAreTheNamedColumnsUnderTheirCamelCaseNames()
    {
        var alpha = await _app.SignupAsync("alpha");
        var beta = await _app.SignupAsync("beta");
        using var alphaCsv = CliRunner.Temp("Account ID;Account Name;Website;Owner\nA-1;Acme GmbH;https://www.acme.de/;ana@alpha.example\n");
        using var betaCsv = CliRunner.Temp("Account ID,Account Name,Website,Stage\nB-1,ACME,acme.de,Proposal\n", bom: true);
        Assert.Equal(0, (await CliRunner.RunAsync(_app, alpha.ApiKey, "upload", "--server", Escrow.Server, "--population", "Customers", "--create", "customers",
            "--file", alphaCsv.Path, "--id-column", "Account ID", "--domain-column", "Website", "--attribute", "Account Name", "--attribute", "Owner")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(_app, beta.ApiKey, "upload", "--server", Escrow.Server, "--population", "Accounts", "--create", "customers",
            "--file", betaCsv.Path, "--id-column", "account id", "--domain-column", "WEBSITE", "--attribute", "Stage=dealStage")).ExitCode);
        var betaPopulation = await beta.PopulationIdAsync("Accounts");
        await beta.ShareAsync(betaPopulation, "overlaps", null, "dealStage");
        var partnership = await alpha.PartnerAsync(beta);

        var list = await Escrow.ExpectAsync(await alpha.Admin.GetAsync(
            $"/v1/partnerships/{partnership}/overlaps/{await alpha.PopulationIdAsync("Customers")}/{betaPopulation}"), HttpStatusCode.OK);

        var item = Assert.Single(list["items"]!.AsArray())!;
        Assert.Equal("A-1", item["recordId"]!.GetValue<string>());
        Assert.Equal("""{"accountName":"Acme GmbH","owner":"ana@alpha.example"}""", item["attributes"]!.ToJsonString());
        Assert.Equal("Proposal", item["matches"]![0]!["fields"]!["dealStage"]!.GetValue<string>());
    }

    private static readonly string[] OpportunityMapping =
    [
        "--attribute", "Amount=amount", "--attribute", "Currency=currency", "--attribute", "Stage=stage", "--attribute", "Created Date=created_date",
        "--attribute", "Close Date=close_date", "--attribute", "Closed=closed", "--attribute", "Won=won", "--attribute", "Opportunity Owner=owner",
    ];

    [Fact]
    public async Task AnOpportunitiesExportIsMappedOntoTheDocumentedFieldsInTheirWireForms()
    {
        var alpha = await _app.SignupAsync("alpha");
        var beta = await _app.SignupAsync("beta");
        using var opportunities = CliRunner.Temp(
            "Opportunity ID,Website,Amount,Currency,Stage,Created Date,Close Date,Closed,Won,Opportunity Owner\n" +
            "O-1,acme.com,\"$12,500.00\",usd,Closed Won,2026-01-05,2026-03-31T17:00:00Z,TRUE,Yes,ana@alpha.example\n");
        using var customers = CliRunner.Temp("Account ID,Website\nB-1,acme.com\n");
        var run = await CliRunner.RunAsync(_app, alpha.ApiKey, ["upload", "--server", Escrow.Server, "--population", "Pipeline", "--create", "opportunities",
            "--file", opportunities.Path, "--id-column", "Opportunity ID", "--domain-column", "Website", .. OpportunityMapping]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(0, (await CliRunner.RunAsync(_app, beta.ApiKey, "upload", "--server", Escrow.Server, "--population", "Customers", "--create", "customers",
            "--file", customers.Path, "--id-column", "Account ID", "--domain-column", "Website")).ExitCode);
        var betaCustomers = await beta.PopulationIdAsync("Customers");
        await beta.ShareAsync(betaCustomers, "overlaps", null);
        var partnership = await alpha.PartnerAsync(beta);

        // My own attributes come back with my side of a cell: the wire forms the client wrote.
        var list = await Escrow.ExpectAsync(await alpha.Admin.GetAsync(
            $"/v1/partnerships/{partnership}/overlaps/{await alpha.PopulationIdAsync("Pipeline")}/{betaCustomers}"), HttpStatusCode.OK);
        var item = Assert.Single(list["items"]!.AsArray())!;
        Assert.Equal("""{"amount":"12500.00","close_date":"2026-03-31","closed":"true","created_date":"2026-01-05","currency":"USD","owner":"ana@alpha.example","stage":"Closed Won","won":"true"}""",
            new JsonObject(item["attributes"]!.AsObject().OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => KeyValuePair.Create(a.Key, a.Value?.DeepClone()))).ToJsonString());
    }

    [Fact]
    public async Task AnAmbiguousOpportunityValueIsNotGuessedButRefusedWithItsFieldAndExportRow()
    {
        var alpha = await _app.SignupAsync("alpha");
        using var opportunities = CliRunner.Temp("Opportunity ID,Website,Close Date\nO-1,acme.com,2026-03-31\nO-2,globex.com,3/4/2026\n");

        var run = await CliRunner.RunAsync(_app, alpha.ApiKey, "upload", "--server", Escrow.Server, "--population", "Pipeline", "--create", "opportunities",
            "--file", opportunities.Path, "--id-column", "Opportunity ID", "--domain-column", "Website", "--attribute", "Close Date=close_date");

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("CSV row 3 attributes.close_date:", line);
        Assert.DoesNotContain("3/4/2026", line);
        Assert.Equal(0, await alpha.AuditCountAsync("population.uploaded"));
    }

    [Fact]
    public async Task TransientFailuresAreRetriedWithOneIdempotencyKeyAndCommitOnce()
    {
        var alpha = await _app.SignupAsync("alpha");
        await alpha.CreatePopulationAsync("Customers");
        var flaky = new FlakyUploads();

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, flaky), null,
            Upload("Customers", CliRunner.PartnerFile("alpha", "customers"), "--api-key", alpha.ApiKey));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(3, flaky.Keys.Count);
        Assert.Single(flaky.Keys.Distinct());
        Assert.Equal(1, await alpha.AuditCountAsync("population.uploaded"));
        // The second attempt was committed but its answer lost; the third gets the stored result back.
        Assert.Contains("already committed by an earlier run with this Idempotency-Key", run.Out);
        Assert.Equal(2, run.ErrorLines.Count(l => l.StartsWith("warning: attempt", StringComparison.Ordinal) && l.Contains("503")));
    }

    [Fact]
    public async Task AnExportWithNoRowsIsSentAsAnEmptyBodyTheEscrowReads()
    {
        var alpha = await _app.SignupAsync("alpha");
        Assert.Equal(0, (await CliRunner.RunAsync(_app, alpha.ApiKey, Upload("Customers", CliRunner.PartnerFile("alpha", "customers"), "--create", "customers"))).ExitCode);
        using var headerOnly = CliRunner.Temp("Account ID,Account Name,Website,Primary Contact Email,Billing Country,Owner,Stage\n");

        // A delta with no changes commits (it was sent as zero bytes, which is no gzip member, and refused as truncated);
        // an empty snapshot gets the escrow's own refusal.
        var delta = await CliRunner.RunAsync(_app, alpha.ApiKey, Upload("Customers", headerOnly.Path, "--mode", "delta"));
        Assert.True(delta.ExitCode == 0, delta.ToString());
        Assert.Equal(2, await alpha.AuditCountAsync("population.uploaded"));
        var snapshot = await CliRunner.RunAsync(_app, alpha.ApiKey, Upload("Customers", headerOnly.Path));
        Assert.NotEqual(0, snapshot.ExitCode);
        Assert.Contains("empty", snapshot.Error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("truncated", snapshot.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ARerunWithTheSameIdempotencyKeyIsAppliedOnce()
    {
        var alpha = await _app.SignupAsync("alpha");
        string[] args = [.. Upload("Customers", CliRunner.PartnerFile("alpha", "customers"), "--create", "customers", "--idempotency-key", "customers-2026-11-22")];

        var first = await CliRunner.RunAsync(_app, alpha.ApiKey, args);
        var second = await CliRunner.RunAsync(_app, alpha.ApiKey, args);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(1, await alpha.AuditCountAsync("population.uploaded"));
        Assert.Contains("already committed by an earlier run with this Idempotency-Key", second.Out);
        string Version(CliResult run) => run.Out.Split('\n').Single(l => l.StartsWith("version:", StringComparison.Ordinal));
        Assert.Equal(Version(first), Version(second));
    }

    [Fact]
    public async Task AnUploadInProgressUnderTheSameKeyIsWaitedFor()
    {
        var alpha = await _app.SignupAsync("alpha");
        var population = await alpha.CreatePopulationAsync("Customers");
        var flaky = new FlakyUploads { Status = HttpStatusCode.Conflict, Title = "Upload in progress", Failures = 1 };

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, flaky), null,
            Upload(population, CliRunner.PartnerFile("alpha", "prospects"), "--api-key", alpha.ApiKey, "--idempotency-key", "prospects-2026-11-22"));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["prospects-2026-11-22", "prospects-2026-11-22"], flaky.Keys);
    }

    [Fact]
    public async Task AnUploadNamesItsHashingSpecVersionInAHeaderThatTheServerAccepts()
    {
        var alpha = await _app.SignupAsync("alpha");
        var population = await alpha.CreatePopulationAsync("Customers");
        var recorder = new FlakyUploads { Failures = 0 };

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, recorder), null,
            Upload(population, CliRunner.PartnerFile("alpha", "prospects"), "--api-key", alpha.ApiKey));

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(["v2"], recorder.SpecVersions);
    }

    [Fact]
    public async Task AConflictThatWaitingCannotFixIsNotRetried()
    {
        var alpha = await _app.SignupAsync("alpha");
        await alpha.CreatePopulationAsync("Customers");
        var flaky = new FlakyUploads { Status = HttpStatusCode.Conflict, Title = "Upload superseded", Failures = 1 };

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, flaky), null,
            Upload("Customers", CliRunner.PartnerFile("alpha", "prospects"), "--api-key", alpha.ApiKey));

        Assert.Equal(1, run.ExitCode);
        Assert.Single(flaky.Keys);
        Assert.StartsWith("error: the escrow refused the upload to \"Customers\": Upload superseded (409)", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task RowErrorsOfTheEscrowBecomeOneLineWithTheRowsOfTheExport()
    {
        var alpha = await _app.SignupAsync("alpha");
        await alpha.CreatePopulationAsync("Customers");
        // Row 3 gives no key and is not sent, so upload line 2 is CSV row 4: the duplicate the escrow refuses.
        using var csv = CliRunner.Temp("Account ID,Website\nA-1,acme.com\nA-2,n/a\nA-1,globex.com\n");

        var run = await CliRunner.RunAsync(_app, alpha.ApiKey, "upload", "--server", Escrow.Server, "--population", "Customers", "--file", csv.Path,
            "--id-column", "Account ID", "--domain-column", "Website");

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("error: the escrow refused the upload to \"Customers\": Some rows are invalid; nothing was applied (422)", line);
        Assert.Contains("CSV row 4 recordId:", line);
        Assert.DoesNotContain("globex", line);
        Assert.Equal("", run.Out);
        Assert.Equal(0, await alpha.AuditCountAsync("population.uploaded"));
    }

    [Fact]
    public async Task AMalformedExportStopsTheUploadWithoutRetryingAndCommitsNothing()
    {
        var alpha = await _app.SignupAsync("alpha");
        await alpha.CreatePopulationAsync("Customers");
        var flaky = new FlakyUploads { Failures = 0 };
        var rows = string.Concat(Enumerable.Range(1, 5000).Select(i => $"A-{i},d{i}.example\n"));
        using var csv = CliRunner.Temp("Account ID,Website\n" + rows + "A-x,\"broken\n");

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, flaky), null, "upload", "--server", Escrow.Server,
            "--api-key", alpha.ApiKey, "--population", "Customers", "--file", csv.Path, "--id-column", "Account ID", "--domain-column", "Website");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("row 5002: not valid CSV", Assert.Single(run.ErrorLines));
        Assert.Single(flaky.Keys);
        Assert.Equal(0, await alpha.AuditCountAsync("population.uploaded"));
    }

    [Fact]
    public async Task AnUnknownPopulationIsNamedWithTheOnesThatExist()
    {
        var alpha = await _app.SignupAsync("alpha");
        await alpha.CreatePopulationAsync("Customers");

        var run = await CliRunner.RunAsync(_app, alpha.ApiKey, Upload("Prospects", CliRunner.PartnerFile("alpha", "prospects")));

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: your organization has no population \"Prospects\" (it has \"Customers\"); create it with --create TYPE, or POST /v1/populations.",
            Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task AWrongApiKeyIsOneErrorLine()
    {
        await _app.SignupAsync("alpha");

        var run = await CliRunner.RunAsync(_app, "oek_key_unknown.secret", Upload("Customers", CliRunner.PartnerFile("alpha", "customers")));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", Assert.Single(run.ErrorLines));
        Assert.Contains("(401)", run.Error);
    }

    [Fact]
    public async Task WithoutAnApiKeyTheCommandIsMisused()
    {
        var run = await CliRunner.RunAsync(_app, null, Upload("Customers", CliRunner.PartnerFile("alpha", "customers")));

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"error: no API key: pass --api-key or set {CliApp.ApiKeyVariable}.", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task AMissingColumnIsFoundBeforeAnythingIsSent()
    {
        var requests = new FlakyUploads { Failures = 0 };

        var run = await CliRunner.RunWithHttpAsync(uri => _app.CreateDefaultClient(uri, requests), null, "upload", "--server", Escrow.Server, "--api-key", "oek_x.y",
            "--population", "Customers", "--file", CliRunner.PartnerFile("alpha", "customers"), "--id-column", "Account ID", "--email-column", "Email");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: customers.csv has no column \"Email\"", Assert.Single(run.ErrorLines));
        Assert.Equal(0, requests.Requests);
    }

    [Fact]
    public async Task TheClientCachesItsTokenAcrossCalls()
    {
        var alpha = await _app.SignupAsync("alpha");
        var client = new EscrowClient(_app.CreateDefaultClient(new Uri(Escrow.Server)), alpha.ApiKey);

        await client.GetPopulationsAsync();
        await client.GetPartnershipsAsync();
        var token = await client.GetTokenAsync();

        Assert.Equal(1, client.TokensIssued);
        Assert.False(string.IsNullOrEmpty(token));
    }

    /// <summary>
    /// Fails the first upload attempts: the first without reaching the escrow, the second after the escrow
    /// committed it (the answer is lost on the way back); later attempts pass. Records every Idempotency-Key.
    /// </summary>
    private sealed class FlakyUploads : DelegatingHandler
    {
        public List<string> Keys { get; } = [];
        public List<string> SpecVersions { get; } = [];
        public int Requests { get; private set; }
        public int Failures { get; init; } = 2;
        public HttpStatusCode Status { get; init; } = HttpStatusCode.ServiceUnavailable;
        public string Title { get; init; } = "Service Unavailable";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Requests++;
            if (!request.RequestUri!.AbsolutePath.EndsWith("/records", StringComparison.Ordinal)) return await base.SendAsync(request, ct);
            Keys.Add(request.Headers.GetValues("Idempotency-Key").Single());
            if (request.Headers.TryGetValues("Hashing-Spec", out var spec)) SpecVersions.Add(spec.Single());
            var attempt = Keys.Count;
            if (attempt > Failures) return await base.SendAsync(request, ct);
            if (attempt == 2) (await base.SendAsync(request, ct)).Dispose();
            return new HttpResponseMessage(Status)
            {
                Content = JsonContent.Create(new JsonObject { ["title"] = Title, ["status"] = (int)Status }, mediaType: new("application/problem+json")),
            };
        }
    }
}
