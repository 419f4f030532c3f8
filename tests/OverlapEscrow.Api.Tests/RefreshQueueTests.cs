using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The overlap refresher's queue lives in the database: a change committed by a service that stops (or dies) before its
/// refresh ran is refreshed by the next service on the same database, with its history point and its overlaps.changed.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class RefreshQueueTests : IDisposable
{
    // Each service on the directory is stopped before the next starts; the test, not the first service, removes it.
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "oe-tests", Guid.NewGuid().ToString("N"));

    private static Dictionary<string, string?> Settings(bool workerHeldBack) => new()
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
        // A day: this service's refresh worker never starts within the test, so what it queues stays queued.
        ["Escrow:Refresh:WorkerStartDelaySeconds"] = workerHeldBack ? "86400" : "0",
    };

    /// <summary>A client of <paramref name="app"/> with the organization's token (issued by another service on the same data).</summary>
    private static HttpClient As(EscrowApp app, Org org)
    {
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = org.Http.DefaultRequestHeaders.Authorization;
        return http;
    }

    private static string Accounts(int n) => Records.Ndjson(Enumerable.Range(1, n).Select(i => new Records.Account($"A-{i:D2}", Domain: $"d{i}.example")));

    private static async Task<List<int>> HistoryCountsAsync(HttpClient http, string partnership, string mine, string theirs)
    {
        var response = await http.GetAsync($"/v1/partnerships/{partnership}/overlaps/history");
        await Expect(response, HttpStatusCode.OK);
        var cell = (await Json(response))["cells"]!.AsArray().Single(c =>
            c!["myPopulationId"]!.GetValue<string>() == mine && c["partnerPopulationId"]!.GetValue<string>() == theirs)!;
        return cell["points"]!.AsArray().Select(p => p!["count"]!.GetValue<int>()).ToList();
    }

    [Fact]
    public async Task AnUploadsRefreshLeftQueuedByAServiceStoppedBeforeItRanIsRecordedAndAnnouncedOnceByTheNextService()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        Org alpha, beta;
        string partnership, mine, theirs, secret;
        using (var before = new EscrowApp(Settings(workerHeldBack: false), _directory))
        {
            alpha = await before.SignupAsync("rq-alpha");
            beta = await before.SignupAsync("rq-beta");
            mine = await alpha.CreatePopulationAsync("Customers");
            theirs = await beta.CreatePopulationAsync("Customers");
            await beta.UploadOkAsync(theirs, Records.Ndjson(Enumerable.Range(1, 10).Select(i => new Records.Account($"B-{i:D2}", Domain: $"d{i}.example"))));
            await beta.ShareAsync(theirs, "overlaps");
            await alpha.UploadOkAsync(mine, Accounts(3));
            partnership = await alpha.PartnerAsync(beta);
            await before.RefreshedAsync();
            var hook = await alpha.Http.PostAsJsonAsync("/v1/webhooks", new { url = receiver.BaseUrl + "/alpha", events = new[] { "overlaps.changed" } });
            await Expect(hook, HttpStatusCode.Created);
            secret = (await Json(hook))["secret"]!.GetValue<string>();
            Assert.Equal([3], await HistoryCountsAsync(alpha.Http, partnership, mine, theirs));
        }

        // The upload commits on a service whose worker never gets to it; the service then stops.
        using (var stopped = new EscrowApp(Settings(workerHeldBack: true), _directory))
        {
            using var alphaHere = As(stopped, alpha);
            await Expect(await alphaHere.UploadAsync(mine, Accounts(6)), HttpStatusCode.OK);
            Assert.Equal(1, await stopped.Services.GetRequiredService<OverlapRefresher>().PendingAsync(CancellationToken.None));
            await Task.Delay(300);
            Assert.Equal([3], await HistoryCountsAsync(alphaHere, partnership, mine, theirs)); // not refreshed here
        }

        using var after = new EscrowApp(Settings(workerHeldBack: false), _directory);
        using var alphaAfter = As(after, alpha);
        await after.RefreshedAsync();
        Assert.Equal([3, 6], await HistoryCountsAsync(alphaAfter, partnership, mine, theirs));
        await after.DeliverDueAsync();
        var changed = Assert.Single(receiver.On("/alpha"));
        Assert.True(WebhookReceiver.SignatureIsValid(changed, secret));
        var cell = changed.Json["data"]!["cells"]!.AsArray().Single()!;
        Assert.Equal((mine, 6, 3), (cell["myPopulationId"]!.GetValue<string>(), cell["count"]!.GetValue<int>(), cell["previousCount"]!.GetValue<int>()));
    }

    [Fact]
    public async Task ASharingChangesRefreshCommitsWithTheChangeAndIsProcessedOnce()
    {
        using var app = new EscrowApp(Settings(workerHeldBack: true), _directory);
        var alpha = await app.SignupAsync("rq-share-alpha");
        var beta = await app.SignupAsync("rq-share-beta");
        var theirs = await beta.CreatePopulationAsync("Customers");
        var partnership = await alpha.PartnerAsync(beta);
        var refresher = app.Services.GetRequiredService<OverlapRefresher>();
        var queued = await refresher.PendingAsync(CancellationToken.None);

        // A refused change queues nothing; an accepted one queues its refresh, and the same change again coalesces.
        await ExpectProblem(await beta.Http.PutAsJsonAsync($"/v1/populations/{theirs}/sharing", new { level = "no-such-level" }), HttpStatusCode.BadRequest);
        Assert.Equal(queued, await refresher.PendingAsync(CancellationToken.None));
        await beta.ShareAsync(theirs, "overlaps");
        Assert.Equal(queued + 1, await refresher.PendingAsync(CancellationToken.None));
        await beta.ShareAsync(theirs, "counts");
        Assert.Equal(queued + 1, await refresher.PendingAsync(CancellationToken.None));
        Assert.NotNull(partnership);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (EscrowApp.OnPostgres) TestPostgres.Drop(TestPostgres.DatabaseOf(_directory));
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
