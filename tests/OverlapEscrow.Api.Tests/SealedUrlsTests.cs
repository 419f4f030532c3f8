using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Schedules;
using OverlapEscrow.Application.Webhooks;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A webhook's URL and description and a pull schedule's source URL are sealed at rest under their organization's data
/// key (docs/webhooks.md, docs/syncs.md): receivers and sources often carry a token in the URL, and an erasure must leave
/// it unreadable in every backup taken before. None of them is in the SQLite file or its log; the organization still
/// reads them, deliveries still reach the URL and pulls still fetch from it; a data-key rotation re-seals them; rows
/// stored in plaintext before sealing are sealed at a start.
/// </summary>
public sealed class SealedUrlsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2027, 1, 10, 0, 0, 0, TimeSpan.Zero);

    // Strings that appear nowhere else, so finding one in the files' bytes can only mean it is stored in plaintext.
    private const string HookToken = "hooktoken-Quokka-5531";
    private const string HookNote = "Channel of the Wombat team 4417";
    private const string PullToken = "pulltoken-Narwhal-7702";

    private static string HookPath => "/in/" + HookToken;
    private static string PullPath => "/export/" + PullToken + ".ndjson";

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly EscrowApp _app;
    private WebhookReceiver _receiver = null!;
    private PullServer _source = null!;
    private Org _a = null!, _b = null!;
    private string _hookId = "", _scheduleId = "", _secret = "";

    public SealedUrlsTests() => _app = new EscrowApp(new Dictionary<string, string?>
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
        ["Escrow:Schedules:PollSeconds"] = "0",
        ["Escrow:AccessTokenMinutes"] = "1440",
    }, time: _clock);

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _source = await PullServer.StartAsync(async http =>
        {
            http.Response.ContentType = "application/x-ndjson";
            await http.Response.WriteAsync(Records.Range("P", 0, 10));
        });
        _a = await _app.SignupAsync("sealed-urls");
        _b = await _app.SignupAsync("sealed-urls-b");
        var created = await _a.Http.PostAsJsonAsync("/v1/webhooks",
            new { url = _receiver.BaseUrl + HookPath, events = new[] { "sync.succeeded" }, description = HookNote });
        await Expect(created, HttpStatusCode.Created);
        var answer = await Json(created);
        var hook = answer["webhook"]!;
        (_hookId, _secret) = (hook["id"]!.GetValue<string>(), answer["secret"]!.GetValue<string>());
        Assert.Equal(_receiver.BaseUrl + HookPath, hook["url"]!.GetValue<string>());
        Assert.Equal(HookNote, hook["description"]!.GetValue<string>());
        var population = await _a.CreatePopulationAsync("Pulled");
        var schedule = await _a.Http.PostAsJsonAsync("/v1/schedules", new
        {
            name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = _source.Url(PullPath) },
        });
        await Expect(schedule, HttpStatusCode.Created);
        var pull = await Json(schedule);
        _scheduleId = pull["id"]!.GetValue<string>();
        Assert.Equal(_source.Url(PullPath), pull["pull"]!["url"]!.GetValue<string>());
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
        await _source.DisposeAsync();
    }

    private void AssertNotInTheFiles() => _app.AssertNoneHolds(HookToken, HookNote, PullToken);

    /// <summary>What the organization reads back, and that a pull and its sync.succeeded delivery reach the URLs.</summary>
    private async Task AssertTheyStillWorkAsync(int run)
    {
        var hook = await Json(await _a.Http.GetAsync($"/v1/webhooks/{_hookId}"));
        Assert.Equal(_receiver.BaseUrl + HookPath, hook["url"]!.GetValue<string>());
        Assert.Equal(HookNote, hook["description"]!.GetValue<string>());
        var schedule = await Json(await _a.Http.GetAsync($"/v1/schedules/{_scheduleId}"));
        Assert.Equal(_source.Url(PullPath), schedule["pull"]!["url"]!.GetValue<string>());
        Assert.Contains(_source.Url(PullPath), await _a.Http.GetStringAsync("/v1/schedules"));
        Assert.Contains(_receiver.BaseUrl + HookPath, await _a.Http.GetStringAsync("/v1/webhooks"));

        _clock.SetUtcNow(Start.AddDays(run - 1).AddHours(3));
        Assert.Equal(1, await _app.Services.GetRequiredService<ScheduleRunner>().RunDueAsync(CancellationToken.None));
        Assert.Equal(run, _source.Hits(PullPath));
        Assert.Equal(1, await _app.DeliverDueAsync());
        var sent = _receiver.On(HookPath).ToList();
        Assert.Equal(run, sent.Count);
        Assert.Equal("sync.succeeded", sent[^1].Type);
        Assert.True(WebhookReceiver.SignatureIsValid(sent[^1], _secret));
    }

    private (byte[] Nonce, byte[] Data, long Version) StoredTarget()
    {
        using var db = _app.OpenDatabase();
        return db.QuerySingle<(byte[], byte[], long)>(
            "SELECT target_nonce, target_sealed, target_key_version FROM webhooks WHERE id = @id AND url = '' AND description = ''", new { id = _hookId });
    }

    private (byte[] Nonce, byte[] Data, long Version) StoredSource()
    {
        using var db = _app.OpenDatabase();
        return db.QuerySingle<(byte[], byte[], long)>(
            "SELECT source_url_nonce, source_url_sealed, source_url_key_version FROM schedules WHERE id = @id AND source_url IS NULL", new { id = _scheduleId });
    }

    [Fact]
    public async Task NeitherURLNorTheDescriptionIsInTheDatabaseFileOrItsLogAndBothStillWork()
    {
        Assert.Equal(1, StoredTarget().Version);
        Assert.Equal(1, StoredSource().Version);
        AssertNotInTheFiles();
        await AssertTheyStillWorkAsync(run: 1);
        AssertNotInTheFiles();
    }

    [Fact]
    public async Task ADataKeyRotationReSealsBothAndTheyWorkAsBefore()
    {
        var result = await _app.Services.GetRequiredService<DataKeyRotation>()
            .RotateAsync(_a.Id, new DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);

        Assert.NotEmpty(result.DestroyedKeyIds);
        Assert.Equal(2, StoredTarget().Version);
        Assert.Equal(2, StoredSource().Version);
        AssertNotInTheFiles();
        await AssertTheyStillWorkAsync(run: 1);
    }

    [Fact]
    public async Task AWebhookOrPullWhoseURLNoKeyOpensIsLeftOutAndNotFoundAndTheOthersGoOn()
    {
        var other = await Json(await _a.Http.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.BaseUrl + "/in/other", events = new[] { "sync.succeeded" } }));
        var otherHook = other["webhook"]!["id"]!.GetValue<string>();
        var population = await _a.CreatePopulationAsync("Pulled too");
        var otherSchedule = (await Json(await _a.Http.PostAsJsonAsync("/v1/schedules", new
        {
            name = "Second pull", cron = "0 4 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = _source.Url("/export/second.ndjson") },
        })))["id"]!.GetValue<string>();
        // What a restore of a backup older than a finished data-key rotation leaves: values no key present opens.
        using (var db = _app.OpenDatabase())
        {
            db.Execute("UPDATE webhooks SET target_key_version = 7 WHERE id = @id", new { id = _hookId });
            db.Execute("UPDATE schedules SET source_url_key_version = 7 WHERE id = @id", new { id = _scheduleId });
        }

        var hooks = JsonNode.Parse(await _a.Http.GetStringAsync("/v1/webhooks"))!.AsArray();
        Assert.Equal([otherHook], hooks.Select(h => h!["id"]!.GetValue<string>()));
        var schedules = JsonNode.Parse(await _a.Http.GetStringAsync("/v1/schedules"))!.AsArray();
        Assert.Equal([otherSchedule], schedules.Select(h => h!["id"]!.GetValue<string>()));
        await ExpectProblem(await _a.Http.GetAsync($"/v1/webhooks/{_hookId}"), HttpStatusCode.NotFound);
        await ExpectProblem(await _a.Http.PostAsync($"/v1/webhooks/{_hookId}/rotate-secret", null), HttpStatusCode.NotFound);
        await ExpectProblem(await _a.Http.GetAsync($"/v1/schedules/{_scheduleId}"), HttpStatusCode.NotFound);
        await ExpectProblem(await _a.Http.PutAsJsonAsync($"/v1/schedules/{_scheduleId}", new
        {
            name = "Nightly pull", cron = "0 5 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = _source.Url(PullPath) },
        }), HttpStatusCode.NotFound);
        // Nothing of them changed, and both can be deleted.
        using (var db = _app.OpenDatabase())
        {
            Assert.Equal("0 3 * * *", db.ExecuteScalar<string>("SELECT cron FROM schedules WHERE id = @id", new { id = _scheduleId }));
            Assert.Null(db.ExecuteScalar<string?>("SELECT previous_secret_until FROM webhooks WHERE id = @id", new { id = _hookId }));
        }
        await Expect(await _a.Http.DeleteAsync($"/v1/webhooks/{_hookId}"), HttpStatusCode.NoContent);
        await Expect(await _a.Http.DeleteAsync($"/v1/schedules/{_scheduleId}"), HttpStatusCode.NoContent);
        Assert.Empty(_app.Exceptions);
    }

    [Fact]
    public async Task AnotherOrganizationsKeyOrAnotherRowsIdCannotOpenThem()
    {
        var keyring = _app.Services.GetRequiredService<IKeyring>();
        var (tn, td, tv) = StoredTarget();
        var (sn, sd, sv) = StoredSource();
        var target = new SealedValue(tn, td, (int)tv);
        var source = new SealedValue(sn, sd, (int)sv);
        using (var a = await keyring.ForOrganizationAsync(_a.Id, CancellationToken.None))
        {
            Assert.Contains(HookToken, Encoding.UTF8.GetString(a.Open(WebhookTargets.Label, _hookId, target)));
            Assert.Contains(PullToken, Encoding.UTF8.GetString(a.Open(ScheduleSecrets.SourceLabel, _scheduleId, source)));
            Assert.ThrowsAny<CryptographicException>(() => a.Open(WebhookTargets.Label, _scheduleId, target));
            Assert.ThrowsAny<CryptographicException>(() => a.Open(ScheduleSecrets.SourceLabel, _hookId, source));
            Assert.ThrowsAny<CryptographicException>(() => a.Open(ScheduleSecrets.Label, _scheduleId, source));
        }
        using var b = await keyring.ForOrganizationAsync(_b.Id, CancellationToken.None);
        Assert.ThrowsAny<CryptographicException>(() => b.Open(WebhookTargets.Label, _hookId, target));
        Assert.ThrowsAny<CryptographicException>(() => b.Open(ScheduleSecrets.SourceLabel, _scheduleId, source));
        // Nor can the other organization read them through the API.
        Assert.Equal(HttpStatusCode.NotFound, (await _b.Http.GetAsync($"/v1/webhooks/{_hookId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _b.Http.GetAsync($"/v1/schedules/{_scheduleId}")).StatusCode);
    }

    [Fact]
    public async Task URLsStoredInPlaintextBeforeSealingAreSealedAtAStartAndWorkAsBefore()
    {
        // A second webhook whose stored URL does not print the same once parsed again (what the compare-and-set must not
        // trip over): the text stored is what is sealed.
        var odd = await _a.Http.PostAsJsonAsync("/v1/webhooks", new { url = "https://hooks.example/odd", events = new[] { "sync.failed" } });
        await Expect(odd, HttpStatusCode.Created);
        var oddId = (await Json(odd))["webhook"]!["id"]!.GetValue<string>();
        const string OddUrl = "https://hooks.example/odd/%25%32e?" + HookToken;
        // What rows written before migration 2026-12-03-0021 look like: the URLs and the description in their own
        // columns, nothing sealed; and a schedule an instance of the earlier build edited during the upgrade: its new
        // URL in plaintext beside the older sealed one.
        using (var db = _app.OpenDatabase())
        {
            db.Execute("UPDATE webhooks SET url = @url, description = @HookNote, target_nonce = NULL, target_sealed = NULL, target_key_version = NULL WHERE id = @id",
                new { url = _receiver.BaseUrl + HookPath, HookNote, id = _hookId });
            db.Execute("UPDATE webhooks SET url = @url, target_nonce = NULL, target_sealed = NULL, target_key_version = NULL WHERE id = @id",
                new { url = OddUrl, id = oddId });
            db.Execute("UPDATE schedules SET source_url = @url WHERE id = @id AND source_url_sealed IS NOT NULL", new { url = _source.Url(PullPath), id = _scheduleId });
        }
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(AssertNotInTheFiles); // the control: the check finds plaintext where there is some
        // Readable as they are before a start seals them; the plaintext URL is the schedule's newer one.
        Assert.Equal(_source.Url(PullPath), (await Json(await _a.Http.GetAsync($"/v1/schedules/{_scheduleId}")))["pull"]!["url"]!.GetValue<string>());
        Assert.Equal(HookNote, (await Json(await _a.Http.GetAsync($"/v1/webhooks/{_hookId}")))["description"]!.GetValue<string>());

        await Application.StartSteps.RunAsync(_app.Services, CancellationToken.None);

        Assert.Equal(1, StoredTarget().Version);
        Assert.Equal(1, StoredSource().Version);
        using (var db = _app.OpenDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM webhooks WHERE url <> '' OR description <> '' OR target_sealed IS NULL"));
        AssertNotInTheFiles(); // the sealing purged the freed pages and the log
        Assert.Equal(0, await _app.Services.GetRequiredService<WebhookSealing>().SealLegacyAsync(CancellationToken.None));
        Assert.Equal(0, await _app.Services.GetRequiredService<ScheduleSecrets>().SealLegacyAsync(CancellationToken.None));
        // Shown as it was before sealing (the API prints the parsed URL), and sealed as it was stored.
        Assert.Equal(new Uri(OddUrl).AbsoluteUri, (await Json(await _a.Http.GetAsync($"/v1/webhooks/{oddId}")))["url"]!.GetValue<string>());
        using (var a = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(_a.Id, CancellationToken.None))
        using (var db = _app.OpenDatabase())
        {
            var (nonce, data, version) = db.QuerySingle<(byte[], byte[], long)>(
                "SELECT target_nonce, target_sealed, target_key_version FROM webhooks WHERE id = @oddId", new { oddId });
            Assert.Contains(OddUrl, Encoding.UTF8.GetString(a.Open(WebhookTargets.Label, oddId, new SealedValue(nonce, data, (int)version))));
        }
        await AssertTheyStillWorkAsync(run: 1);
    }

    [Fact]
    public async Task EditingAPullKeepsItsURLSealedAndARefreshKeepsNone()
    {
        var population = (await Json(await _a.Http.GetAsync($"/v1/schedules/{_scheduleId}")))["pull"]!["populationId"]!.GetValue<string>();
        var edited = await _a.Http.PutAsJsonAsync($"/v1/schedules/{_scheduleId}", new
        {
            name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "pull",
            pull = new { populationId = population, url = _source.Url(PullPath) + "?v=2" },
        });
        await Expect(edited, HttpStatusCode.OK);
        Assert.Equal(_source.Url(PullPath) + "?v=2", (await Json(edited))["pull"]!["url"]!.GetValue<string>());
        var (nonce, data, version) = StoredSource();
        using (var a = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(_a.Id, CancellationToken.None))
            Assert.Equal(_source.Url(PullPath) + "?v=2", Encoding.UTF8.GetString(a.Open(ScheduleSecrets.SourceLabel, _scheduleId, new SealedValue(nonce, data, (int)version))));
        AssertNotInTheFiles();

        var refresh = await _a.Http.PutAsJsonAsync($"/v1/schedules/{_scheduleId}", new { name = "Nightly pull", cron = "0 3 * * *", timeZone = "UTC", action = "refresh" });
        await Expect(refresh, HttpStatusCode.OK);
        using var db = _app.OpenDatabase();
        Assert.Equal(0, db.ExecuteScalar<long>(
            "SELECT COUNT(*) FROM schedules WHERE id = @id AND (source_url IS NOT NULL OR source_url_sealed IS NOT NULL)", new { id = _scheduleId }));
    }
}
