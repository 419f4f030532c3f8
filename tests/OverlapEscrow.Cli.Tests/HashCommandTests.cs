using System.Text;
using System.Text.Json.Nodes;
using CsvHelper;
using OverlapEscrow.Cli.Tests.Infrastructure;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Cli.Tests;

public class HashCommandTests
{
    /// <summary>The sample file read the plain way, to check the command against.</summary>
    private sealed record SampleRow(string Id, AccountKeys Keys, string Website, string Name, string Stage);

    private static List<SampleRow> Sample(string partner, string population)
    {
        using var reader = CsvReader.Create(File.OpenRead(CliRunner.PartnerFile(partner, population)), new CsvReaderOptions { HasHeader = true }, false);
        var rows = new List<SampleRow>();
        while (reader.Read())
            rows.Add(new SampleRow(reader.GetString("Account ID"),
                AccountKeys.From(reader.GetString("Website"), reader.GetString("Primary Contact Email"), reader.GetString("Account Name"), reader.GetString("Billing Country")),
                reader.GetString("Website"), reader.GetString("Account Name"), reader.GetString("Stage")));
        return rows;
    }

    /// <summary>
    /// The whole output, byte for byte, against what the specification's reference implementation gives for the same
    /// rows (tests/data/hashing-golden, written by scripts/hashing_golden.py from scripts/hashing_reference.py, not by
    /// this client): every key, hash, their order and the rows left out, row by row and on worker threads.
    /// </summary>
    [Theory]
    [InlineData("alpha", "1")]
    [InlineData("alpha", "0")]
    [InlineData("beta", "1")]
    [InlineData("beta", "3")]
    public async Task HashOfAPartnerSampleIsByteForByteWhatTheReferenceImplementationWrites(string partner, string threads)
    {
        var output = Path.Combine(Path.GetTempPath(), $"oe-hash-{Guid.NewGuid():N}.ndjson");
        try
        {
            var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile(partner, "customers"), "--id-column", "Account ID",
                "--domain-column", "Website", "--email-column", "Primary Contact Email", "--name-column", "Account Name",
                "--country-column", "Billing Country", "--attribute", "Stage", "--threads", threads, "--output", output]);

            Assert.True(run.ExitCode == 0, run.ToString());
            var golden = File.ReadAllBytes(CliRunner.RepositoryFile("tests", "data", "hashing-golden", $"{partner}-customers.ndjson"));
            Assert.True(golden.Length > 100_000, "the golden file is the sample's lines");
            Assert.Equal(Encoding.UTF8.GetString(golden), File.ReadAllText(output));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task HashWritesExactlyTheUploadLinesOfThePartnerSample()
    {
        var output = Path.Combine(Path.GetTempPath(), $"oe-hash-{Guid.NewGuid():N}.ndjson");
        try
        {
            var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile("alpha", "customers"), .. CliRunner.SampleColumns, "--output", output]);

            Assert.True(run.ExitCode == 0, run.ToString());
            var expected = Sample("alpha", "customers");
            var withKeys = expected.Where(r => !r.Keys.IsEmpty).ToList();
            var lines = File.ReadAllLines(output);
            Assert.Equal(withKeys.Count, lines.Length);
            for (var i = 0; i < lines.Length; i++)
            {
                var line = JsonNode.Parse(lines[i])!.AsObject();
                Assert.Equal(withKeys[i].Id, line["recordId"]!.GetValue<string>());
                Assert.Equal(withKeys[i].Keys.Hashes().Keys.Order(), line["identifiers"]!.AsObject().Select(p => p.Key).Order());
                Assert.Equal(withKeys[i].Name.Trim(), line["attributes"]!["accountName"]!.GetValue<string>());
                Assert.Equal(withKeys[i].Stage, line["attributes"]!["stage"]!.GetValue<string>());
            }
            // The summary goes to standard error; standard output stays empty when --output is given.
            Assert.Equal("", run.Out);
            Assert.Contains($"rows read:        {expected.Count:N0} (customers.csv)", run.Error);
            Assert.Contains($"rows with keys:   {withKeys.Count:N0}", run.Error);
            Assert.Contains($"domain {withKeys.Count(r => r.Keys.Domains.Count > 0):N0} rows", run.Error);
            Assert.Contains($"name {withKeys.Count(r => r.Keys.Identifiers.Any(k => k.Type == IdentifierHashes.Name)):N0} rows", run.Error);
            Assert.Contains($"rows without key: {expected.Count - withKeys.Count:N0}", run.Error);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task WithoutOutputTheLinesGoToStandardOutput()
    {
        var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile("beta", "customers"), "--id-column", "Account ID", "--domain-column", "Website"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = Encoding.UTF8.GetString(run.StandardOutputBytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var expected = Sample("beta", "customers");
        Assert.Equal(expected.Count(r => AccountKeys.From(r.Website, null, null, null).Domains.Count > 0), lines.Length);
        Assert.All(lines, l => Assert.Equal(["domain", "domain_label"], JsonNode.Parse(l)!["identifiers"]!.AsObject().Select(p => p.Key)));
        Assert.Contains("rows without key:", run.Error);
        Assert.Contains("website:", run.Error);
    }

    [Fact]
    public async Task AnOutputThatIsALinkOrAPipeIsWrittenThroughNotReplacedAndANewFileIsOwnerOnly()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = CliRunner.TempDir();
        string[] hash = ["hash", "--file", CliRunner.PartnerFile("alpha", "customers"), .. CliRunner.SampleColumns, "-o"];

        var file = Path.Combine(dir.Path, "out.ndjson");
        Assert.Equal(0, (await CliRunner.RunAsync([.. hash, file])).ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var expected = await File.ReadAllTextAsync(file);

        // A link: the file it names gets the output, the link stays a link.
        var target = Path.Combine(dir.Path, "target.ndjson");
        await File.WriteAllTextAsync(target, "old");
        var link = Path.Combine(dir.Path, "link.ndjson");
        File.CreateSymbolicLink(link, target);
        Assert.Equal(0, (await CliRunner.RunAsync([.. hash, link])).ExitCode);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(expected, await File.ReadAllTextAsync(target));

        // A pipe (as /dev/null or /dev/stdout are not files either): written into, and still a pipe afterwards.
        var fifo = Path.Combine(dir.Path, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) await mkfifo.WaitForExitAsync();
        var reading = Task.Run(() => File.ReadAllText(fifo));
        Assert.Equal(0, (await CliRunner.RunAsync([.. hash, fifo])).ExitCode);
        Assert.Equal(expected, await reading.WaitAsync(TimeSpan.FromSeconds(30)));
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%F", fifo]) { RedirectStandardOutput = true })!;
        Assert.Equal("fifo", (await stat.StandardOutput.ReadToEndAsync()).Trim());
    }

    [Fact]
    public async Task WithoutIcuTheCliRefusesToHashRatherThanWriteOtherKeys()
    {
        // A separate process: globalization-invariant mode is chosen when the runtime starts.
        var cli = Path.Combine(AppContext.BaseDirectory, "overlap-escrow.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", ["exec", cli, "hash", "--file", CliRunner.PartnerFile("alpha", "customers"), .. CliRunner.SampleColumns])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        using var run = System.Diagnostics.Process.Start(start)!;
        var output = run.StandardOutput.ReadToEndAsync();
        var error = await run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync();
        Assert.Equal(1, run.ExitCode);
        Assert.Empty(await output);
        Assert.Contains("runs without ICU", error);
    }

    [Fact]
    public async Task AMissingColumnIsOneErrorLineNamingTheColumnItLooksLike()
    {
        var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile("alpha", "customers"), "--id-column", "Account ID", "--domain-column", "Web Site"]);

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Equal("error: customers.csv has no column \"Web Site\"; did you mean \"Website\"?", line);
        Assert.Empty(run.StandardOutputBytes);
    }

    [Fact]
    public async Task AMissingFileIsAFailure()
    {
        var run = await CliRunner.RunAsync(["hash", "--file", "/nonexistent/accounts.csv", "--id-column", "Account ID", "--domain-column", "Website"]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: cannot read /nonexistent/accounts.csv: no such file.", Assert.Single(run.ErrorLines));
    }

    [Theory]
    [InlineData("--id-column", "Account ID")]                                           // no identifier column
    [InlineData("--id-column", "Account ID", "--domain-column", "Website", "--bogus")]  // unknown option
    [InlineData("--domain-column", "Website")]                                          // no id column
    public async Task BadArgumentsAreOneUsageErrorLine(params string[] options)
    {
        var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile("alpha", "customers"), .. options]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("error: ", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task AMalformedRowFailsTheRunAndLeavesNoOutputFile()
    {
        using var csv = CliRunner.Temp("Account ID,Website\nA-1,acme.com\nA-2,\"globex.com\n");
        var output = Path.Combine(Path.GetTempPath(), $"oe-hash-{Guid.NewGuid():N}.ndjson");

        var run = await CliRunner.RunAsync(["hash", "--file", csv.Path, "--id-column", "Account ID", "--domain-column", "Website", "--output", output]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("row 3: not valid CSV", Assert.Single(run.ErrorLines));
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(output)}.*"));
    }

    [Fact]
    public async Task ExplainShowsEachRowsNormalizedKeysOnStandardErrorAndLeavesTheNdjsonAlone()
    {
        using var csv = CliRunner.Temp("Account ID,Account Name,Website,Country\nA-1,Müller GmbH,https://www.linkedin.com/company/mueller,DE\nA-2,ACME Intl Corp,acme.com/careers?ref=jobs@indeed.com,US\nA-3,!!!,n/a,US\n");

        var run = await CliRunner.RunAsync(["hash", "--file", csv.Path, "--id-column", "Account ID", "--name-column", "Account Name",
            "--domain-column", "Website", "--country-column", "Country", "--explain"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = Encoding.UTF8.GetString(run.StandardOutputBytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.NotNull(JsonNode.Parse(l)!["recordId"]));
        Assert.DoesNotContain("muller", Encoding.UTF8.GetString(run.StandardOutputBytes));
        var explained = run.ErrorLines.Where(l => l.StartsWith("row ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, explained.Count);
        Assert.Equal("row 2\tA-1\tdomain_label:muller name:muller|DE name:mueller|DE name_only:muller name_only:mueller name_typo:mller|DE name_typo:muler|DE name_typo:mulle|DE name_typo:muller|DE name_typo:mullr|DE name_typo:uller|DE\twebsite: platform", explained[0]);
        Assert.StartsWith("row 3\tA-2\tdomain:acme.com domain_label:acme name:acmeinternational|US", explained[1]);
        Assert.Equal("row 4\tA-3\t(no key: not uploaded)\twebsite: placeholder, name: empty", explained[2]);
    }

    [Fact]
    public async Task ExplainToAFileKeepsStandardErrorForTheSummary()
    {
        var explain = Path.Combine(Path.GetTempPath(), $"oe-explain-{Guid.NewGuid():N}.tsv");
        try
        {
            var run = await CliRunner.RunAsync(["hash", "--file", CliRunner.PartnerFile("alpha", "customers"), .. CliRunner.SampleColumns, "--explain", explain]);

            Assert.True(run.ExitCode == 0, run.ToString());
            var rows = Sample("alpha", "customers");
            var lines = File.ReadAllLines(explain);
            Assert.Equal(rows.Count, lines.Length);
            Assert.Equal($"row 2\t{rows[0].Id}\t" + string.Join(' ', rows[0].Keys.Identifiers), lines[0].TrimEnd('\t'));
            Assert.DoesNotContain(run.ErrorLines, l => l.StartsWith("row ", StringComparison.Ordinal));
            Assert.Contains("explained:", run.Error);
        }
        finally
        {
            File.Delete(explain);
        }
    }
}
