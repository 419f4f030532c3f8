using System.Net;
using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A purge of deleted content that fails after an erasure or a sealing pass is not lost (docs/operations.md): the
/// database keeps it owed, and the next start or the periodic worker pays it. Until then the deleted or cleared plaintext
/// is still in the SQLite file or its log — which is what makes these tests able to fail. The failure is injected around
/// the real purge of the real file: while <see cref="Switch.Fail"/> is set a purge throws before it touches anything,
/// as a full disk would.
/// </summary>
public sealed class OwedPurgeTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2027, 2, 1, 0, 0, 0, TimeSpan.Zero);

    // Strings that appear nowhere else, so finding one in the files' bytes can only mean it is stored in plaintext.
    private const string HookNote = "Desk of the Pangolin team 8163";
    private const string PopulationName = "Quetzal Accounts Purged 6613";

    private sealed class Switch
    {
        public volatile bool Fail;
        public int Failures;
    }

    /// <summary>The real maintenance, with a purge that fails while the switch says so.</summary>
    private sealed class FailingPurges(IDatabaseMaintenance inner, Switch state) : IDatabaseMaintenance
    {
        public string DatabasePath => inner.DatabasePath;
        public Task<long> BackupToAsync(string path, CancellationToken ct) => inner.BackupToAsync(path, ct);
        public Task<(bool Ok, IReadOnlyList<string> Problems)> CheckIntegrityAsync(string path, CancellationToken ct) => inner.CheckIntegrityAsync(path, ct);
        public Task OwePurgeAsync(CancellationToken ct) => inner.OwePurgeAsync(ct);
        public Task<bool> PurgeOwedAsync(CancellationToken ct) => inner.PurgeOwedAsync(ct);

        public Task<bool> PurgeDeletedContentAsync(CancellationToken ct)
        {
            if (!state.Fail) return inner.PurgeDeletedContentAsync(ct);
            Interlocked.Increment(ref state.Failures);
            throw new IOException("No space left on device (injected)");
        }
    }

    private readonly Switch _switch = new();
    private readonly ManualTimeProvider _clock = new(Start);
    private readonly EscrowApp _app;

    public OwedPurgeTests()
    {
        var state = _switch;
        _app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:AccessTokenMinutes"] = "1440" }, time: _clock)
        {
            TestServices = services =>
            {
                var real = services.Last(d => d.ServiceType == typeof(IDatabaseMaintenance));
                services.Remove(real);
                services.AddSingleton<IDatabaseMaintenance>(sp => new FailingPurges((IDatabaseMaintenance)real.ImplementationFactory!(sp), state));
            },
        };
    }

    public void Dispose() => _app.Dispose();

    private long? Owed()
    {
        using var db = _app.OpenAnyDatabase();
        return db.ExecuteScalar<long?>("SELECT generation FROM purge_owed WHERE generation > paid_generation");
    }

    [Fact]
    public async Task APurgeThatFailsAfterSealingIsOwedAndTheNextStartPaysIt()
    {
        var a = await _app.SignupAsync("owed-sealing");
        var created = await a.Http.PostAsJsonAsync("/v1/webhooks", new { url = "https://hooks.example/in/owed", events = new[] { "sync.failed" }, description = HookNote });
        await Expect(created, HttpStatusCode.Created);
        var hookId = (await Json(created))["webhook"]!["id"]!.GetValue<string>();
        // A row as written before migration 2026-12-03-0021: the description in its own column, nothing sealed.
        using (var db = _app.OpenDatabase())
            db.Execute("UPDATE webhooks SET url = 'https://hooks.example/in/owed', description = @HookNote, target_nonce = NULL, target_sealed = NULL, target_key_version = NULL WHERE id = @hookId",
                new { HookNote, hookId });
        Assert.Null(Owed());

        _switch.Fail = true;
        await Application.StartSteps.RunAsync(_app.Services, CancellationToken.None);
        // The start sealed the row and cleared its plaintext column, then its purge failed (the start's last step, paying
        // an owed purge, failed too): the cleared text is still in the files, and the purge is owed.
        using (var db = _app.OpenDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM webhooks WHERE description <> '' OR target_sealed IS NULL"));
        Assert.True(_switch.Failures >= 2, $"{_switch.Failures} purges failed");
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => _app.AssertNoneHolds(HookNote));
        Assert.NotNull(Owed());
        Assert.Contains(_app.Logs, l => l.Contains("failed: IOException", StringComparison.Ordinal) && l.Contains("tried again", StringComparison.Ordinal));

        // The next start: nothing is left to seal, and the owed purge is paid.
        _switch.Fail = false;
        await Application.StartSteps.RunAsync(_app.Services, CancellationToken.None);
        Assert.Null(Owed());
        _app.AssertNoneHolds(HookNote);
        Assert.False(await _app.Services.GetRequiredService<OwedPurge>().PayAsync(CancellationToken.None)); // nothing owed any more
        Assert.Equal(HookNote, (await Json(await a.Http.GetAsync($"/v1/webhooks/{hookId}")))["description"]!.GetValue<string>());
    }

    [Fact]
    [Trait("AlsoOn", "postgres")]
    public async Task APurgeThatFailsAfterAnErasureIsOwedAndTheWorkerPaysIt()
    {
        var gone = await _app.SignupAsync("owed-erasure");
        var stays = await _app.SignupAsync("owed-stays");
        var population = await gone.CreatePopulationAsync(PopulationName);
        await gone.UploadOkAsync(population, Records.Range("Q", 0, 20));
        Assert.Contains(PopulationName, await gone.Http.GetStringAsync("/v1/populations"));

        _switch.Fail = true;
        var deleted = await gone.Http.PostAsJsonAsync("/v1/organization/delete", new { confirmSlug = "owed-erasure" });
        await Expect(deleted, HttpStatusCode.OK); // the erasure itself stands: keys destroyed, rows deleted
        Assert.Equal(1, _switch.Failures);
        using (var db = _app.OpenAnyDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM populations WHERE organization_id = @id", new { id = gone.Id }));
        if (!EscrowApp.OnPostgres) Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => _app.AssertNoneHolds(PopulationName)); // the deleted row's bytes linger
        // Owed before the rows went and again once they were gone: a purge that began in between (the worker's) paid only the first.
        Assert.Equal(2, Owed());

        // The service's worker, a retry interval later.
        _switch.Fail = false;
        _clock.Advance(OwedPurge.RetryInterval + TimeSpan.FromSeconds(1));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (Owed() is not null && waited.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        Assert.Null(Owed());
        if (!EscrowApp.OnPostgres) _app.AssertNoneHolds(PopulationName); // on PostgreSQL the purge vacuums: nothing to read in files here
        await Expect(await stays.Http.GetAsync("/v1/populations"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task APurgeThatAReaderKeepsFromTruncatingTheLogStaysOwed()
    {
        var database = _app.Services.GetRequiredService<IDatabaseMaintenance>();
        var a = await _app.SignupAsync("owed-busy");
        await database.OwePurgeAsync(CancellationToken.None);
        await database.OwePurgeAsync(CancellationToken.None);
        Assert.Equal(2, Owed()); // owing again bumps the generation: a purge pays only the one it read before it began

        // A reader in the middle of a transaction begun while the log held frames: the log cannot be truncated under it.
        using (var reader = _app.OpenDatabase())
        {
            using var tx = reader.BeginTransaction(deferred: true);
            Assert.True(reader.ExecuteScalar<long>("SELECT COUNT(*) FROM organizations", transaction: tx) > 0);
            Assert.False(await database.PurgeDeletedContentAsync(CancellationToken.None));
            Assert.Equal(2, Owed());
            Assert.False(await _app.Services.GetRequiredService<OwedPurge>().PayAsync(CancellationToken.None));
            Assert.NotNull(Owed()); // still owed (the retry owed once more before it purged)
        }
        Assert.True(await _app.Services.GetRequiredService<OwedPurge>().PayAsync(CancellationToken.None));
        Assert.Null(Owed());
        await Expect(await a.Http.GetAsync("/v1/populations"), HttpStatusCode.OK);
    }
    [Fact]
    public async Task AStartThatCanSealNothingOwesNoPurgeAndOneThatCanPaysIt()
    {
        var directory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));
        var emptyKeyring = directory + "-empty-keyring";
        Directory.CreateDirectory(emptyKeyring);
        try
        {
            string hookId;
            using (var first = new EscrowApp(new Dictionary<string, string?>(), directory))
            {
                var org = await first.SignupAsync("owed-nothing");
                var created = await org.Http.PostAsJsonAsync("/v1/webhooks", new { url = "https://hooks.example/in/nothing", events = new[] { "sync.failed" }, description = HookNote });
                await Expect(created, HttpStatusCode.Created);
                hookId = (await Json(created))["webhook"]!["id"]!.GetValue<string>();
                using var db = first.OpenDatabase();
                db.Execute("UPDATE webhooks SET url = 'https://hooks.example/in/nothing', description = @HookNote, target_nonce = NULL, target_sealed = NULL, target_key_version = NULL WHERE id = @hookId",
                    new { HookNote, hookId });
            }
            long? OwedIn(EscrowApp app)
            {
                using var db = app.OpenDatabase();
                return db.ExecuteScalar<long?>("SELECT generation FROM purge_owed WHERE generation > paid_generation");
            }
            long Generation(EscrowApp app)
            {
                using var db = app.OpenDatabase();
                return db.ExecuteScalar<long?>("SELECT generation FROM purge_owed") ?? 0;
            }

            // A start whose keyring holds no key of the organization (a wrong Escrow:KeyringDirectory) can seal nothing: it
            // leaves the row as it is and owes nothing (it owed, and purged, at every start).
            using (var keyless = new EscrowApp(new Dictionary<string, string?> { ["Escrow:KeyringDirectory"] = emptyKeyring }, directory))
            {
                _ = keyless.CreateClient(); // started
                Assert.Equal(0, Generation(keyless));
                using var db = keyless.OpenDatabase();
                Assert.Equal(1, db.ExecuteScalar<long>("SELECT COUNT(*) FROM webhooks WHERE id = @hookId AND description = @HookNote", new { hookId, HookNote }));
            }
            // With its keyring the start seals it, owes and pays the purge, and the plaintext is gone from the files.
            using (var keyed = new EscrowApp(new Dictionary<string, string?>(), directory))
            {
                _ = keyed.CreateClient();
                Assert.True(Generation(keyed) > 0);
                Assert.Null(OwedIn(keyed));
                keyed.AssertNoneHolds(HookNote);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var d in new[] { directory, emptyKeyring })
                try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
