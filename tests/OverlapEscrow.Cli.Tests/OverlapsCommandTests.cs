using System.Net;
using System.Net.Http.Json;
using OverlapEscrow.Cli.Tests.Infrastructure;

namespace OverlapEscrow.Cli.Tests;

public sealed class OverlapsCommandTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task UploadAsync(Org org, string partner, string population, string name)
    {
        var run = await CliRunner.RunAsync(_app, org.ApiKey, ["upload", "--server", Escrow.Server, "--population", name, "--create", population,
            "--file", CliRunner.PartnerFile(partner, population), .. CliRunner.SampleColumns]);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task OverlapsPrintsEachSideItsMatrixWithCountsWithheldAndHiddenCells()
    {
        var alpha = await _app.SignupAsync("alpha");
        var beta = await _app.SignupAsync("beta");
        await UploadAsync(alpha, "alpha", "customers", "Customers");
        await UploadAsync(alpha, "alpha", "prospects", "Prospects");
        await UploadAsync(beta, "beta", "customers", "Beta Customers");
        var alphaCustomers = await alpha.PopulationIdAsync("Customers");
        var alphaProspects = await alpha.PopulationIdAsync("Prospects");
        var betaCustomers = await beta.PopulationIdAsync("Beta Customers");
        // Alpha shares counts only, with a minimum no cell reaches; beta shares its customers but hides them from alpha's prospects.
        await alpha.ShareAsync(alphaCustomers, "counts", 100_000);
        await alpha.ShareAsync(alphaProspects, "counts", 100_000);
        await beta.ShareAsync(betaCustomers, "overlaps", null, "accountName");
        var partnership = await alpha.PartnerAsync(beta);
        await Escrow.ExpectAsync(await beta.Admin.PutAsJsonAsync($"/v1/partnerships/{partnership}/sharing", new
        {
            populations = new[] { new { populationId = betaCustomers, overrides = new[] { new { partnerPopulationId = alphaProspects, level = "hidden" } } } },
        }), HttpStatusCode.OK);
        var matrix = await Escrow.ExpectAsync(await alpha.Admin.GetAsync($"/v1/partnerships/{partnership}/overlaps"), HttpStatusCode.OK);
        var count = matrix["cells"]!.AsArray().Single(c => c!["myPopulationId"]!.GetValue<string>() == alphaCustomers)!["count"]!.GetValue<long>();
        Assert.True(count > 0);

        var alphaView = await CliRunner.RunAsync(_app, alpha.ApiKey, "overlaps", "--server", Escrow.Server);
        var betaView = await CliRunner.RunAsync(_app, beta.ApiKey, "overlaps", "--server", Escrow.Server, "--partner", "alpha");

        Assert.True(alphaView.ExitCode == 0, alphaView.ToString());
        Assert.Contains("beta Inc. (beta)", alphaView.Out);
        var alphaLines = alphaView.Out.Split('\n');
        Assert.Contains("Beta Customers", alphaView.Out);
        Assert.Matches($@"Customers \(\d+\)\s*│\s*{count}\s*│", Assert.Single(alphaLines, l => l.Contains("Customers (") && !l.Contains("Beta")));
        Assert.Matches(@"Prospects \(\d+\)\s*│\s*–\s*│", Assert.Single(alphaLines, l => l.Contains("Prospects (")));

        Assert.True(betaView.ExitCode == 0, betaView.ToString());
        Assert.Contains("alpha Inc. (alpha)", betaView.Out);
        Assert.Matches(@"Beta Customers \(\d+\)\s*│\s*<100000\s*│\s*<100000\s*│", Assert.Single(betaView.Out.Split('\n'), l => l.Contains("Beta Customers (")));
    }

    [Fact]
    public async Task WithoutAnActivePartnershipOverlapsSaysSo()
    {
        var alpha = await _app.SignupAsync("alpha");

        var all = await CliRunner.RunAsync(_app, alpha.ApiKey, "overlaps", "--server", Escrow.Server);
        var one = await CliRunner.RunAsync(_app, alpha.ApiKey, "overlaps", "--server", Escrow.Server, "--partner", "beta");

        Assert.Equal(0, all.ExitCode);
        Assert.StartsWith("No active partnerships yet", all.Out);
        Assert.Equal(1, one.ExitCode);
        Assert.Equal("error: no active partnership with \"beta\".", Assert.Single(one.ErrorLines));
    }

    [Fact]
    public async Task AKeyWithoutTheScopeIsToldWhichScopeItLacks()
    {
        var alpha = await _app.SignupAsync("alpha");
        var key = await Escrow.ExpectAsync(await alpha.Admin.PostAsJsonAsync("/v1/api-keys", new { name = "uploads-only", scopes = new[] { "populations:write" } }),
            HttpStatusCode.Created);

        var run = await CliRunner.RunAsync(_app, key["secret"]!.GetValue<string>(), "overlaps", "--server", Escrow.Server);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("overlaps needs overlaps:read", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task AnUnreachableEscrowIsOneErrorLine()
    {
        var run = await CliRunner.RunWithHttpAsync(uri => new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(5) }, null,
            "overlaps", "--server", "http://127.0.0.1:1", "--api-key", "oek_x.y");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: cannot reach the escrow", run.ErrorLines.Last());
        Assert.All(run.ErrorLines, l => Assert.StartsWith(l.StartsWith("warning:") ? "warning:" : "error:", l));
    }
}
