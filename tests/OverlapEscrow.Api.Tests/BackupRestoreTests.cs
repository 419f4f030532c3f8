using System.Net;
using System.Net.Http.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Admin;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>An online backup taken while the service runs restores to a service that answers as it did then.</summary>
public sealed class BackupRestoreTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
    private readonly string _backups = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N") + "-backups");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var dir in new[] { _dataDirectory, _backups })
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<(int Code, string Output)> AdminAsync(params string[] args)
    {
        var output = new StringWriter();
        var settings = new Dictionary<string, string?>(EscrowApp.FastPasswords) { ["Escrow:DataDirectory"] = _dataDirectory };
        return (await AdminCommand.RunAsync(args, output, output, settings), output.ToString());
    }

    [Fact]
    public async Task ARestoredBackupAnswersTheSameMatrixAsWhenItWasTaken()
    {
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_backups, "escrow.db");
        string partnershipId, atBackup;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var alpha = await app.SignupAsync("backup-alpha");
            var beta = await app.SignupAsync("backup-beta");
            var theirs = await beta.CreatePopulationAsync("Customers");
            await beta.UploadOkAsync(theirs, Records.Range("K", 0, 30));
            await beta.ShareAsync(theirs, "overlaps");
            var mine = await alpha.CreatePopulationAsync("Customers");
            await alpha.UploadOkAsync(mine, Records.Range("K", 10, 30));
            partnershipId = await alpha.PartnerAsync(beta);
            atBackup = (await alpha.MatrixAsync(partnershipId))["cells"]!.ToJsonString();

            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);
            Assert.True(File.Exists(backup + ".json"));
            if (!OperatingSystem.IsWindows())
            {
                // A backup, the database and its log hold names, members' emails and endpoints in clear: owner-only.
                const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                Assert.Equal(OwnerOnly, File.GetUnixFileMode(backup));
                Assert.Equal(OwnerOnly, File.GetUnixFileMode(app.DatabasePath));
                Assert.Equal(OwnerOnly, File.GetUnixFileMode(app.DatabasePath + "-wal"));
            }
            // A restore refuses while the service holds the database.
            var refused = await AdminAsync("restore", backup);
            Assert.Equal(AdminCommand.Failed, refused.Code);
            Assert.Contains("running", refused.Output);
            // A backup never overwrites a file.
            Assert.Equal(AdminCommand.Failed, (await AdminAsync("backup", backup)).Code);

            // Life goes on after the backup: the partner uploads again and the matrix changes.
            await beta.UploadOkAsync(theirs, Records.Range("K", 0, 5));
            Assert.NotEqual(atBackup, (await alpha.MatrixAsync(partnershipId))["cells"]!.ToJsonString());
        }

        var restored = await AdminAsync("restore", backup);
        Assert.True(restored.Code == 0, restored.Output);

        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var alpha = await app.SignInAsync("backup-alpha");
            var matrix = await alpha.GetAsync($"/v1/partnerships/{partnershipId}/overlaps");
            await Expect(matrix, HttpStatusCode.OK);
            Assert.Equal(atBackup, (await Json(matrix))["cells"]!.ToJsonString());
            Assert.True((await Json(await alpha.GetAsync("/v1/audit/verify")))["valid"]!.GetValue<bool>());
        }
        Assert.NotEmpty(Directory.EnumerateFiles(_dataDirectory, "escrow.db.before-restore-*"));
    }

    [Fact]
    public async Task ARestoreOfABackupOlderThanAFinishedDataKeyRotationNamesTheOrganizationItCannotRead()
    {
        // It said "restored" and exit 0; the partner's matrix then answered 500 and the organization's webhooks failed.
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_backups, "before-rotation.db");
        string rotatedId, partnershipId;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var rotated = await app.SignupAsync("rotated");
            var untouched = await app.SignupAsync("untouched");
            rotatedId = rotated.Id;
            var rotatedCustomers = await rotated.CreatePopulationAsync("Customers");
            await rotated.UploadOkAsync(rotatedCustomers, Records.Range("R", 0, 10));
            await rotated.ShareAsync(rotatedCustomers, "overlaps");
            var untouchedCustomers = await untouched.CreatePopulationAsync("Customers");
            await untouched.UploadOkAsync(untouchedCustomers, Records.Range("U", 0, 10));
            await untouched.ShareAsync(untouchedCustomers, "overlaps");
            await untouched.UploadOkAsync(await untouched.CreatePopulationAsync("Prospects"), Records.Range("P", 0, 5));
            partnershipId = await untouched.PartnerAsync(rotated);
            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);
            (code, output) = await AdminAsync("keys", "rotate-data", "--organization", "rotated", "--settle", "0");
            Assert.True(code == 0, output);
            (code, output) = await AdminAsync("keys", "status");
            Assert.True(code == 0, output);
            Assert.Contains("organizations with values under a destroyed data key: 0", output);
        }

        var restored = await AdminAsync("restore", backup);
        Assert.True(restored.Code == AdminCommand.Failed, restored.Output);
        Assert.Contains($"error: {rotatedId} has ", restored.Output);
        Assert.Contains("which its keyring no longer holds", restored.Output);
        var status = await AdminAsync("keys", "status");
        Assert.Equal(AdminCommand.Failed, status.Code);
        Assert.Contains("organizations with values under a destroyed data key: 1", status.Output);
        Assert.Contains($"  {rotatedId}: ", status.Output);

        // The partner's matrix still answers (it answered 500): its cells against the population no key opens say so.
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var untouched = await app.SignInAsync("untouched");
            var response = await untouched.GetAsync($"/v1/partnerships/{partnershipId}/overlaps");
            await Expect(response, HttpStatusCode.OK);
            var cells = (await Json(response))["cells"]!.AsArray().Select(c => c!.AsObject()).ToList();
            Assert.Equal(2, cells.Count);
            Assert.All(cells, c => Assert.True(c["unreadable"]!.GetValue<bool>()));
            Assert.All(cells, c => Assert.False(c.ContainsKey("count")));
            // A list of such a cell is a problem that says why, not a bare 500.
            var cell = cells[0];
            var list = await untouched.GetAsync($"/v1/partnerships/{partnershipId}/overlaps/{cell["myPopulationId"]}/{cell["partnerPopulationId"]}");
            var problem = await ExpectProblem(list, HttpStatusCode.Conflict);
            Assert.EndsWith("data-unreadable", problem["type"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ABackupRestoredAfterAnErasureBringsNothingOfTheErasedOrganizationBackIntoMemoryWhenTheCachesAreWarmed()
    {
        Directory.CreateDirectory(_dataDirectory);
        var backup = Path.Combine(_backups, "escrow.db");
        string erasedVersion, keptVersion;
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory))
        {
            var alpha = await app.SignupAsync("warm-alpha");
            var beta = await app.SignupAsync("warm-beta");
            var gamma = await app.SignupAsync("warm-gamma");
            var mine = await alpha.CreatePopulationAsync("Customers");
            await alpha.UploadOkAsync(mine, Records.Range("K", 0, 30));
            var theirs = new List<string>();
            foreach (var partner in new[] { beta, gamma })
            {
                var population = await partner.CreatePopulationAsync("Customers");
                await partner.UploadOkAsync(population, Records.Range("K", 10, 30));
                await partner.ShareAsync(population, "overlaps");
                theirs.Add(population);
                // Read: the backup's audit log says this partnership was read just now.
                await alpha.MatrixAsync(await alpha.PartnerAsync(partner));
            }
            erasedVersion = (await Json(await beta.Http.GetAsync($"/v1/populations/{theirs[0]}")))["currentVersionId"]!.GetValue<string>();
            keptVersion = (await Json(await gamma.Http.GetAsync($"/v1/populations/{theirs[1]}")))["currentVersionId"]!.GetValue<string>();
            await app.RefreshedAsync();
            var (code, output) = await AdminAsync("backup", backup);
            Assert.True(code == 0, output);
            await Expect(await beta.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "warm-beta" }), HttpStatusCode.OK);
        }

        var restored = await AdminAsync("restore", backup);
        Assert.True(restored.Code == 0, restored.Output);

        // The start erases beta again (its keys are gone from the keyring) before the warm-up reads the restored log, so
        // the warm-up never even asks for beta's stored columns (a warm-up that ran first would, and fail to open them).
        var read = new System.Collections.Concurrent.ConcurrentBag<string>();
        using (var app = new EscrowApp(new Dictionary<string, string?>(), _dataDirectory)
               {
                   TestServices = services => VersionColumnStoreDecorator.Replace(services, (_, store) => new RecordingReads(store, read)),
               })
        {
            var result = await app.Services.GetRequiredService<CacheWarmUp>().Done.WaitAsync(TimeSpan.FromSeconds(30));
            var held = app.Services.GetRequiredService<PopulationDataCache>().HeldVersionIds;
            Assert.Contains(keptVersion, held); // the control: gamma's partnership, read before the backup, is warmed
            Assert.Contains(keptVersion, read);
            Assert.DoesNotContain(erasedVersion, held);
            Assert.DoesNotContain(erasedVersion, read);
            Assert.Equal((1, 1), (result.Partnerships, result.Cells));
        }
    }

    /// <summary>Records the versions whose stored columns are read.</summary>
    private sealed class RecordingReads(OverlapEscrow.Application.Storage.IVersionColumnStore inner, System.Collections.Concurrent.ConcurrentBag<string> read)
        : VersionColumnStoreDecorator(inner)
    {
        public override Task<IReadOnlyList<OverlapEscrow.Application.Storage.VersionPart>> ReadColumnsAsync(string versionId, CancellationToken ct)
        {
            read.Add(versionId);
            return base.ReadColumnsAsync(versionId, ct);
        }

        public override Task<int> ReadColumnsAsync(string versionId, OverlapEscrow.Application.Storage.SealedPartReader reader, CancellationToken ct)
        {
            read.Add(versionId);
            return base.ReadColumnsAsync(versionId, reader, ct);
        }
    }
}
