using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Webhooks;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Webhooks over real HTTP: a receiver on 127.0.0.1 gets the deliveries (AllowPrivateNetworks lets the escrow reach
/// it), verifies their signatures on its own, and sees only what each organization may see. The delivery worker is
/// off, so each test drives the outbox itself.
/// </summary>
public sealed class WebhooksTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
    };

    private readonly EscrowApp _app = new(Settings);
    private WebhookReceiver _receiver = null!;
    private Org _alpha = null!, _beta = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _alpha = await _app.SignupAsync("hook-alpha");
        _beta = await _app.SignupAsync("hook-beta");
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    private static async Task<(string Id, string Secret)> CreateWebhookAsync(HttpClient http, string url, params string[] events)
    {
        var response = await http.PostAsJsonAsync("/v1/webhooks", new { url, events });
        await Expect(response, HttpStatusCode.Created);
        var body = await Json(response);
        return (body["webhook"]!["id"]!.GetValue<string>(), body["secret"]!.GetValue<string>());
    }

    private static async Task<JsonArray> DeliveriesAsync(HttpClient http, string webhookId)
    {
        var response = await http.GetAsync($"/v1/webhooks/{webhookId}/deliveries");
        await Expect(response, HttpStatusCode.OK);
        return (await Json(response))["items"]!.AsArray();
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task DeliveriesArriveSignedSoTheReceiverCanVerifyThemWithTheSecretGivenAtCreation()
    {
        var (webhookId, secret) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/alpha", "partnership.invited");
        var invite = await _alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = _beta.Slug });
        await Expect(invite, HttpStatusCode.Created);

        Assert.Equal(1, await _app.DeliverDueAsync());
        var received = Assert.Single(_receiver.Requests);
        Assert.Equal("/alpha", received.Path);
        Assert.True(WebhookReceiver.SignatureIsValid(received, secret), "the signature does not verify with the secret");
        Assert.False(WebhookReceiver.SignatureIsValid(received with { Body = received.Body + " " }, secret), "a changed body still verifies");
        Assert.StartsWith("msg_", received.Id);
        Assert.InRange(long.Parse(received.Timestamp), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Equal("partnership.invited", received.Type);

        var delivery = Assert.Single(await DeliveriesAsync(_alpha.Http, webhookId))!;
        Assert.Equal(received.Id, delivery["id"]!.GetValue<string>());
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Equal(200, delivery["attemptLog"]![0]!["statusCode"]!.GetValue<int>());
        Assert.Null(delivery["payload"]);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ARotatedSecretSignsBesideThePreviousOneDuringTheOverlapAndTheOtherOrganizationCannotRotateIt()
    {
        var (webhookId, old) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/alpha", "partnership.invited");
        await ExpectProblem(await _beta.Http.PostAsync($"/v1/webhooks/{webhookId}/rotate-secret", null), HttpStatusCode.NotFound);
        var rotation = await _alpha.Http.PostAsync($"/v1/webhooks/{webhookId}/rotate-secret", null);
        await Expect(rotation, HttpStatusCode.OK);
        var body = await Json(rotation);
        var fresh = body["secret"]!.GetValue<string>();
        Assert.NotEqual(old, fresh);
        Assert.NotNull(body["webhook"]!["previousSecretUntil"]);

        await Expect(await _alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = _beta.Slug }), HttpStatusCode.Created);
        Assert.Equal(1, await _app.DeliverDueAsync());

        // Two signatures, one per secret (Standard Webhooks: space-separated), so the receiver may switch at any time.
        var received = Assert.Single(_receiver.Requests);
        Assert.Equal(2, received.Signature.Split(' ').Length);
        Assert.True(WebhookReceiver.SignatureIsValid(received, fresh), "the new secret does not verify");
        Assert.True(WebhookReceiver.SignatureIsValid(received, old), "the previous secret does not verify during the overlap");
    }

    [Fact]
    public async Task AFailedDeliveryIsRetriedWithBackoffUnderTheSameWebhookIdUntilTheReceiverAccepts()
    {
        var (webhookId, secret) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/retry", "partnership.invited");
        _receiver.AnswerWith(500, 500);
        await Expect(await _alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = _beta.Slug }), HttpStatusCode.Created);

        Assert.Equal(1, await _app.DeliverDueAsync());
        var pending = Assert.Single(await DeliveriesAsync(_alpha.Http, webhookId))!;
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.True(pending["nextAttemptAt"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow, "the retry is not backed off");
        Assert.Equal(0, await _app.DeliverDueAsync()); // not due yet

        _app.MakeRetriesDue();
        Assert.Equal(1, await _app.DeliverDueAsync());
        _app.MakeRetriesDue();
        Assert.Equal(1, await _app.DeliverDueAsync());
        _app.MakeRetriesDue();
        Assert.Equal(0, await _app.DeliverDueAsync()); // delivered: nothing more to send

        var delivery = Assert.Single(await DeliveriesAsync(_alpha.Http, webhookId))!;
        Assert.Equal("delivered", delivery["status"]!.GetValue<string>());
        Assert.Equal(3, delivery["attempts"]!.GetValue<int>());
        Assert.Equal([500, 500, 200], delivery["attemptLog"]!.AsArray().Select(a => a!["statusCode"]!.GetValue<int>()));
        Assert.Equal([1, 2, 3], delivery["attemptLog"]!.AsArray().Select(a => a!["attempt"]!.GetValue<int>()));

        var requests = _receiver.On("/retry").ToList();
        Assert.Equal(3, requests.Count);
        Assert.Single(requests.Select(r => r.Id).Distinct());
        Assert.Equal(delivery["id"]!.GetValue<string>(), requests[0].Id);
        Assert.Single(requests.Select(r => r.Body).Distinct());
        Assert.All(requests, r => Assert.True(WebhookReceiver.SignatureIsValid(r, secret)));

        var logs = string.Join('\n', _app.Logs);
        foreach (var code in new[] { "attempt 1: 500", "attempt 2: 500", "attempt 3: 200" }) Assert.Contains(code, logs);
    }

    [Fact]
    public async Task ADeliveryIsGivenUpAfterTheLastAttempt()
    {
        using var app = new EscrowApp(new Dictionary<string, string?>(Settings) { ["Escrow:Webhooks:MaxAttempts"] = "2" });
        var alpha = await app.SignupAsync("give-up-alpha");
        await app.SignupAsync("give-up-beta");
        var (webhookId, _) = await CreateWebhookAsync(alpha.Http, _receiver.BaseUrl + "/down", "partnership.invited");
        _receiver.AnswerWith(503, 503, 503);
        await Expect(await alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "give-up-beta" }), HttpStatusCode.Created);

        await app.DeliverDueAsync();
        app.MakeRetriesDue();
        await app.DeliverDueAsync();
        app.MakeRetriesDue();
        Assert.Equal(0, await app.DeliverDueAsync());

        var delivery = Assert.Single(await DeliveriesAsync(alpha.Http, webhookId))!;
        Assert.Equal("failed", delivery["status"]!.GetValue<string>());
        Assert.Equal([503, 503], delivery["attemptLog"]!.AsArray().Select(a => a!["statusCode"]!.GetValue<int>()));
        Assert.Null(delivery["nextAttemptAt"]);
        Assert.Equal(2, _receiver.On("/down").Count());
    }

    [Fact]
    public async Task WithoutAllowPrivateNetworksALoopbackTargetIsRefusedAndNothingReachesIt()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Webhooks:DeliveryWorker"] = "false" });
        var alpha = await app.SignupAsync("guarded-alpha");
        await app.SignupAsync("guarded-beta");
        var port = new Uri(_receiver.BaseUrl).Port;
        var (byAddress, _) = await CreateWebhookAsync(alpha.Http, $"http://127.0.0.1:{port}/guarded", "partnership.invited");
        var (byName, _) = await CreateWebhookAsync(alpha.Http, $"http://localhost:{port}/guarded", "partnership.invited");
        await Expect(await alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "guarded-beta" }), HttpStatusCode.Created);

        Assert.Equal(2, await app.DeliverDueAsync());
        app.MakeRetriesDue();
        // A refused address is final; a host name that leads only to refused addresses is retried, as one that does not
        // resolve is, in the same words: telling them apart would tell a member which names exist inside the network.
        Assert.Equal(1, await app.DeliverDueAsync());

        var literal = Assert.Single(await DeliveriesAsync(alpha.Http, byAddress))!;
        Assert.Equal("failed", literal["status"]!.GetValue<string>());
        var refused = Assert.Single(literal["attemptLog"]!.AsArray())!;
        Assert.Null(refused["statusCode"]);
        Assert.StartsWith("Refused:", refused["error"]!.GetValue<string>());
        Assert.Contains("loopback", refused["error"]!.GetValue<string>());

        var named = Assert.Single(await DeliveriesAsync(alpha.Http, byName))!;
        Assert.Equal("pending", named["status"]!.GetValue<string>());
        Assert.All(named["attemptLog"]!.AsArray(), a => Assert.Equal(
            "The host name localhost did not resolve to an address the escrow connects to (public addresses only, not this machine's own).", a!["error"]!.GetValue<string>()));
        Assert.Equal(2, named["attemptLog"]!.AsArray().Count);
        Assert.Empty(_receiver.Requests);
    }

    [Fact]
    public async Task WithoutAllowPrivateNetworksTheMachinesOwnHostNameAndInterfaceAddressesAreRefusedAndNothingReachesThem()
    {
        // A receiver on every address of this machine: a delivery that slipped past the guard would arrive here.
        await using var receiver = await WebhookReceiver.StartAsync(everyAddress: true);
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Webhooks:DeliveryWorker"] = "false" });
        var alpha = await app.SignupAsync("own-alpha");
        await app.SignupAsync("own-beta");
        var port = new Uri(receiver.BaseUrl).Port;
        // .NET resolves the machine's own host name to the addresses of its interfaces as well (here "vm" gives
        // 127.0.0.1, 192.0.2.2 and fd00::2), so the name reaches the machine on addresses that are not loopback.
        var urls = new List<string> { $"http://{Dns.GetHostName()}:{port}/own-name" };
        urls.AddRange(OwnInterfaceAddresses().Select(a => $"http://{(a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a}]" : a)}:{port}/own-address"));
        var webhooks = new List<(string Id, string Url)>();
        foreach (var url in urls) webhooks.Add(((await CreateWebhookAsync(alpha.Http, url, "partnership.invited")).Id, url));
        await Expect(await alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "own-beta" }), HttpStatusCode.Created);

        Assert.Equal(webhooks.Count, await app.DeliverDueAsync());

        foreach (var (webhookId, url) in webhooks)
        {
            var delivery = Assert.Single(await DeliveriesAsync(alpha.Http, webhookId))!;
            var attempt = Assert.Single(delivery["attemptLog"]!.AsArray())!;
            // An address is refused for good; the name is retried like one that does not resolve (see above).
            var byName = url.Contains("/own-name", StringComparison.Ordinal);
            Assert.True(delivery["status"]!.GetValue<string>() == (byName ? "pending" : "failed"), $"{url}: {delivery["status"]}");
            Assert.StartsWith(byName ? "The host name" : "Refused:", attempt["error"]!.GetValue<string>());
        }
        Assert.Empty(receiver.Requests);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task OneOrganizationsHangingReceiversAndBacklogDoNotHoldUpAnotherOrganizationsDelivery()
    {
        await using var hanging = await PullServer.StartHangingAsync();
        using var app = new EscrowApp(new Dictionary<string, string?>(Settings) { ["Escrow:Webhooks:MaxPerOrganization"] = "60" });
        var flood = await app.SignupAsync("hook-flood");
        var other = await app.SignupAsync("hook-other");
        var bystander = await app.SignupAsync("hook-bystander");
        // 51 webhooks whose receivers never answer: one invitation queues more deliveries than a round takes (50),
        // all due before the other organization's.
        for (var i = 0; i < 51; i++) await CreateWebhookAsync(flood.Http, hanging.Url($"/hang-{i}"), "partnership.invited");
        await Expect(await flood.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = bystander.Slug }), HttpStatusCode.Created);
        await CreateWebhookAsync(other.Http, _receiver.BaseUrl + "/other", "partnership.invited");
        await Expect(await other.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = bystander.Slug }), HttpStatusCode.Created);

        using var stop = new CancellationTokenSource();
        var round = app.Services.GetRequiredService<WebhookDeliverer>().DeliverDueAsync(stop.Token);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!_receiver.On("/other").Any() || hanging.Requests.Count < 2)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("The other organization's delivery did not arrive beside the hanging ones.");
            await Task.Delay(20);
        }
        Assert.Equal(2, hanging.Requests.Count); // of the 51, the two a round takes of one organization, hanging

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => round);
    }

    /// <summary>Every unicast address of this machine's interfaces, but link-local ones (a URL would need their zone).</summary>
    private static IEnumerable<IPAddress> OwnInterfaceAddresses() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address)
            .Where(a => !a.IsIPv6LinkLocal).Distinct();

    [Fact]
    public async Task ARedirectToAnotherHostIsRefusedAndTheRefusalIsInTheDeliveryLog()
    {
        var (webhookId, _) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/redirect-elsewhere", "partnership.invited");
        await Expect(await _alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = _beta.Slug }), HttpStatusCode.Created);

        Assert.Equal(1, await _app.DeliverDueAsync());
        var delivery = Assert.Single(await DeliveriesAsync(_alpha.Http, webhookId))!;
        Assert.Equal("failed", delivery["status"]!.GetValue<string>());
        Assert.Equal("Refused: A redirect to another host was refused.", delivery["attemptLog"]![0]!["error"]!.GetValue<string>());
        Assert.Empty(_receiver.On("/elsewhere"));
    }

    [Fact]
    public async Task WebhookUrlsMustBeHttpOrHttpsAndEventsKnown()
    {
        foreach (var url in new[] { "ftp://example.com/hook", "file:///etc/passwd", "not a url", "/relative", "https://user:password@example.com/hook", "" })
        {
            var problem = await ExpectProblem(await _alpha.Http.PostAsJsonAsync("/v1/webhooks", new { url, events = new[] { "sync.failed" } }), HttpStatusCode.BadRequest);
            Assert.NotNull(problem["errors"]!["url"]);
        }
        var events = await ExpectProblem(await _alpha.Http.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com/hook", events = new[] { "sync.failed", "population.deleted", "sync.failed" } }), HttpStatusCode.BadRequest);
        Assert.NotNull(events["errors"]!["events[1]"]);
        Assert.NotNull(events["errors"]!["events[2]"]);
        var none = await ExpectProblem(await _alpha.Http.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com/hook", events = Array.Empty<string>() }), HttpStatusCode.BadRequest);
        Assert.NotNull(none["errors"]!["events"]);
        var list = await _alpha.Http.GetFromJsonAsync<JsonArray>("/v1/webhooks");
        Assert.Empty(list!);
    }

    [Fact]
    public async Task TheSigningSecretIsShownOnceAndNeverInAReadALogOrTheDatabase()
    {
        var (webhookId, secret) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/secret", "partnership.invited", "partnership.accepted");
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", secret);
        var keyBytes = Convert.FromBase64String(secret["whsec_".Length..]);
        Assert.Equal(32, keyBytes.Length);
        await _alpha.PartnerAsync(_beta);
        Assert.Equal(2, await _app.DeliverDueAsync());

        var reads = await (await _alpha.Http.GetAsync("/v1/webhooks")).Content.ReadAsStringAsync()
            + await (await _alpha.Http.GetAsync($"/v1/webhooks/{webhookId}")).Content.ReadAsStringAsync()
            + await (await _alpha.Http.GetAsync($"/v1/webhooks/{webhookId}/deliveries")).Content.ReadAsStringAsync()
            + await (await _alpha.Http.GetAsync("/v1/audit?limit=1000")).Content.ReadAsStringAsync();
        Assert.Contains(webhookId, reads);
        Assert.DoesNotContain(secret["whsec_".Length..], reads);
        Assert.DoesNotContain("whsec_", reads);
        var logs = string.Join('\n', _app.Logs);
        Assert.Contains(webhookId, logs);
        Assert.DoesNotContain(secret["whsec_".Length..], logs);
        Assert.DoesNotContain(_receiver.On("/secret").First().Signature[3..], logs);

        // At rest the secret exists only sealed: neither its text nor its bytes are in the database files.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var files = Directory.GetFiles(_app.DataDirectory, "escrow.db*").Select(File.ReadAllBytes).ToList();
        Assert.NotEmpty(files);
        foreach (var bytes in files)
        {
            Assert.Equal(-1, bytes.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(secret)));
            Assert.Equal(-1, bytes.AsSpan().IndexOf(keyBytes));
        }
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task PartnershipEventsGoToBothSidesAndNameOnlyThePartner()
    {
        var (alphaHook, alphaSecret) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/alpha", "partnership.invited", "partnership.accepted", "partnership.terminated");
        var (_, betaSecret) = await CreateWebhookAsync(_beta.Http, _receiver.BaseUrl + "/beta", "partnership.invited", "partnership.accepted", "partnership.terminated");
        var partnership = await _alpha.PartnerAsync(_beta);
        await Expect(await _beta.Http.PostAsync($"/v1/partnerships/{partnership}/terminate", null), HttpStatusCode.OK);
        Assert.Equal(6, await _app.DeliverDueAsync());

        foreach (var (path, secret, partner) in new[] { ("/alpha", alphaSecret, _beta), ("/beta", betaSecret, _alpha) })
        {
            var requests = _receiver.On(path).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
            Assert.Equal(["partnership.invited", "partnership.accepted", "partnership.terminated"], requests.Select(r => r.Type));
            foreach (var request in requests)
            {
                Assert.True(WebhookReceiver.SignatureIsValid(request, secret));
                var data = request.Json["data"]!.AsObject();
                Assert.Equal(["partnershipId", "status", "partner"], data.Select(p => p.Key));
                Assert.Equal(partnership, data["partnershipId"]!.GetValue<string>());
                Assert.Equal(["slug", "name"], data["partner"]!.AsObject().Select(p => p.Key));
                Assert.Equal(partner.Slug, data["partner"]!["slug"]!.GetValue<string>());
                Assert.DoesNotContain(partner.Id, request.Body);
            }
            Assert.Equal(["invited", "active", "terminated"], requests.Select(r => r.Json["data"]!["status"]!.GetValue<string>()));
        }
        Assert.Equal(["partnership.terminated", "partnership.accepted", "partnership.invited"],
            (await DeliveriesAsync(_alpha.Http, alphaHook)).Select(d => d!["eventType"]!.GetValue<string>()));
    }

    /// <summary>
    /// Beta shares Customers as counts (minimum 5) and Partners at the overlaps level, and hides Secret Pipeline; all
    /// three hold the same ten accounts. Alpha's overlap with them moves from six accounts to three.
    /// </summary>
    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task OverlapsChangedCarriesOnlyWhatTheReceiverMaySeeUnderThePartnersRules()
    {
        var (_, secret) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/alpha", "overlaps.changed");
        await CreateWebhookAsync(_beta.Http, _receiver.BaseUrl + "/beta", "overlaps.changed");
        var mine = await _alpha.CreatePopulationAsync("Customers");
        var counted = await _beta.CreatePopulationAsync("Customers");
        var hidden = await _beta.CreatePopulationAsync("Secret Pipeline", "opportunities");
        var shared = await _beta.CreatePopulationAsync("Partners", "partners");
        foreach (var (population, prefix) in new[] { (counted, "B-CUS"), (hidden, "B-HID"), (shared, "B-PRT") })
            await _beta.UploadOkAsync(population, Records.Ndjson(Enumerable.Range(1, 10).Select(i => new Records.Account($"{prefix}-{i}", Domain: $"d{i}.example",
                Attributes: new() { ["accountName"] = $"PARTNER-SECRET-NAME-{i}", ["stage"] = $"PARTNER-SECRET-STAGE-{i}" }))));
        var partnership = await _alpha.PartnerAsync(_beta);
        // Negligible noise (ε = 10 per release, no refresh interval), so the payloads' shape can be checked value by value.
        await _beta.NearlyExactAsync(partnership);
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{counted}/sharing", new { level = "counts", minimumCount = 5 }), HttpStatusCode.OK);
        await _beta.ShareAsync(shared, "overlaps", "accountName");
        // The sharing changes' refreshes run first: otherwise one of them may see the upload below and announce its cell alone.
        await _app.RefreshedAsync();

        string Accounts(int n) => Records.Ndjson(Enumerable.Range(1, n).Select(i => new Records.Account($"A-REC-{i}", Domain: $"d{i}.example",
            Attributes: new() { ["accountName"] = $"ALPHA-OWN-NAME-{i}" })));
        await _alpha.UploadOkAsync(mine, Accounts(6));
        await _app.RefreshedAsync();
        await _alpha.UploadOkAsync(mine, Accounts(3));
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();

        var events = _receiver.On("/alpha").OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.True(WebhookReceiver.SignatureIsValid(e, secret)));
        JsonNode CellOf(ReceivedWebhook e, string partnerPopulation)
        {
            var data = e.Json["data"]!;
            Assert.Equal(partnership, data["partnershipId"]!.GetValue<string>());
            return data["cells"]!.AsArray().Single(c => c!["partnerPopulationId"]!.GetValue<string>() == partnerPopulation)!;
        }

        // Six overlapping accounts: the counts cell's release reaches the minimum and shows 6, with its protection.
        var counts = CellOf(events[0], counted);
        Assert.Equal(6, counts["count"]!.GetValue<int>());
        Assert.True(counts["privacy"]!["protected"]!.GetValue<bool>());
        Assert.Equal("current", counts["privacy"]!["state"]!.GetValue<string>());
        Assert.Equal(6, CellOf(events[0], shared)["count"]!.GetValue<int>());
        Assert.Null(CellOf(events[0], shared)["privacy"]); // the overlaps level is exact, not privacy-protected
        // Three: below the minimum, the counts cell says only that (no count); the overlaps cell is exact.
        var withheld = CellOf(events[1], counted).AsObject();
        Assert.Equal(["myPopulationId", "partnerPopulationId", "level", "minimumCount", "previousCount", "privacy"], withheld.Select(p => p.Key));
        Assert.Equal("counts", withheld["level"]!.GetValue<string>());
        Assert.Equal(5, withheld["minimumCount"]!.GetValue<int>());
        Assert.Equal(mine, withheld["myPopulationId"]!.GetValue<string>());
        Assert.Equal(3, CellOf(events[1], shared)["count"]!.GetValue<int>());

        // The hidden population appears nowhere, nor does any record id or attribute value, partner's or own.
        foreach (var body in events.Select(e => e.Body))
        {
            Assert.DoesNotContain(hidden, body);
            Assert.DoesNotContain("Secret Pipeline", body);
            foreach (var forbidden in new[] { "B-CUS", "B-HID", "B-PRT", "A-REC", "PARTNER-SECRET", "ALPHA-OWN", "Partners", "Customers" })
                Assert.DoesNotContain(forbidden, body);
        }
        // Alpha shares nothing, so Beta has no cell to be told about.
        Assert.Empty(_receiver.On("/beta"));
    }

    [Fact]
    public async Task ARaiseFromCountsToOverlapsIsAnEventWithTheExactCountAndNoExactCountOfBefore()
    {
        // The history point of the counts-only time holds an exact count the receiver never read: after the raise the
        // event has the exact count now and no previousCount (trial 7, F5), and it comes (none came before).
        await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/raise", "overlaps.changed");
        var mine = await _alpha.CreatePopulationAsync("Customers");
        var theirs = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(theirs, Records.Range("B", 0, 10));
        var partnership = await _alpha.PartnerAsync(_beta);
        await _beta.NearlyExactAsync(partnership);
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{theirs}/sharing", new { level = "counts", minimumCount = 1 }), HttpStatusCode.OK);
        await _app.RefreshedAsync();
        await _alpha.UploadOkAsync(mine, Records.Range("A", 0, 6));
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();
        var before = _receiver.On("/raise").Count();

        await _beta.ShareAsync(theirs, "overlaps");
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();

        var events = _receiver.On("/raise").OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(before + 1, events.Count);
        var cell = events[^1].Json["data"]!["cells"]!.AsArray().Single()!.AsObject();
        Assert.Equal(("overlaps", 6), (cell["level"]!.GetValue<string>(), cell["count"]!.GetValue<int>()));
        Assert.False(cell.ContainsKey("previousCount"));
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task ACountsLevelCellThatChangesWithinItsRefreshIntervalSendsNoEvent()
    {
        // This test used to check that an exact count moving from three to four below the minimum sent no event, and
        // that six sent one with 6. Counts-level events now come only from releases, and a cell gets a new release no
        // sooner than its refresh interval (seven days by default) after the last: whatever alpha adds, member of
        // beta's list or not, no event tells it anything until then.
        await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/probe", "overlaps.changed");
        var mine = await _alpha.CreatePopulationAsync("Probe");
        var theirs = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(theirs, Records.Range("B", 1, 10));
        var partnership = await _alpha.PartnerAsync(_beta);
        await _beta.ShareAsync(theirs, "counts");

        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 3));
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();
        var first = (await _alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
        var events = _receiver.On("/probe").Count();
        // The first release makes an event only when it reads differently from an empty cell (withheld).
        if (first["count"] is { } count)
        {
            Assert.Equal(1, events);
            Assert.Equal(count.GetValue<int>(), Assert.Single(_receiver.On("/probe")).Json["data"]!["cells"]![0]!["count"]!.GetValue<int>());
        }
        else Assert.Equal(0, events);

        foreach (var (from, n) in new[] { (4, 1), (500, 1), (5, 2) }) // one of beta's accounts, one that is not, two more of beta's
        {
            await _alpha.UploadOkAsync(mine, Records.Range("A", from, n), delta: true);
            await _app.RefreshedAsync();
            await _app.DeliverDueAsync();
            Assert.Equal(events, _receiver.On("/probe").Count());
            var now = (await _alpha.MatrixAsync(partnership)).Cell(mine, theirs)!;
            Assert.Equal(first["count"]?.ToJsonString(), now["count"]?.ToJsonString());
            Assert.Equal("data_changed", now["privacy"]!["state"]!.GetValue<string>());
        }
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task APendingOverlapsEventIsWithdrawnWhenThePartnershipEndsOrTheCellIsHiddenBeforeItGoesOut()
    {
        await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/revoked", "overlaps.changed");
        var mine = await _alpha.CreatePopulationAsync("Mine");
        var theirs = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(theirs, Records.Range("B", 1, 10));
        var partnership = await _alpha.PartnerAsync(_beta);
        await _beta.ShareAsync(theirs, "overlaps");

        // A change is queued for alpha; before it is delivered, beta hides the population.
        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 7));
        await _app.RefreshedAsync();
        await _beta.ShareAsync(theirs, "hidden");
        await _app.DeliverDueAsync();
        Assert.Empty(_receiver.On("/revoked"));

        // Shared again, a new change is queued; before delivery, beta ends the partnership.
        await _beta.ShareAsync(theirs, "overlaps");
        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 9));
        await _app.RefreshedAsync();
        await Expect(await _beta.Http.PostAsync($"/v1/partnerships/{partnership}/terminate", null), HttpStatusCode.OK);
        await _app.DeliverDueAsync();
        Assert.Empty(_receiver.On("/revoked"));
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task APendingCountsEventIsWithdrawnWhenThePartnerSwitchesExactCountsOffOrRaisesItsMinimumBeforeItGoesOut()
    {
        var (webhook, _) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/counts", "overlaps.changed");
        var mine = await _alpha.CreatePopulationAsync("Mine");
        var theirs = await _beta.CreatePopulationAsync("Customers");
        await _beta.UploadOkAsync(theirs, Records.Range("B", 1, 40));
        var partnership = await _alpha.PartnerAsync(_beta);
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{theirs}/sharing", new { level = "counts", minimumCount = 5 }), HttpStatusCode.OK);
        await _beta.SetPrivacyAsync(partnership, new { exactCounts = true, confirmExactCounts = true });
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();
        var before = _receiver.On("/counts").Count();

        // Exact counts: twenty overlapping accounts make an event with the exact 20, which goes out.
        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 20));
        await _app.RefreshedAsync();
        await _app.DeliverDueAsync();
        var exact = _receiver.On("/counts").Skip(before).Select(e => e.Json["data"]!["cells"]![0]!).Single(c => c["count"]?.GetValue<int>() == 20);
        Assert.False(exact["privacy"]!["protected"]!.GetValue<bool>());
        var sent = _receiver.On("/counts").Count();

        // Twenty-five queue another exact event; beta switches exact counts off before it goes out: withdrawn.
        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 25));
        await _app.RefreshedAsync();
        await _beta.NearlyExactAsync(partnership);
        await _app.DeliverDueAsync();
        Assert.DoesNotContain(_receiver.On("/counts").Skip(sent), e => e.Json["data"]!["cells"]!.AsArray().Any(c => c!["privacy"]?["protected"]?.GetValue<bool>() == false));
        Assert.Contains((await DeliveriesAsync(_alpha.Http, webhook)).Select(d => d!["attemptLog"]!.AsArray().Last()!["error"]?.GetValue<string>()),
            error => error == "Withdrawn: the partner no longer gives exact counts.");

        // Noised now (nearly exact: ε = 10 a release): thirty queue an event near 30; beta raises its minimum to 100 before
        // it goes out. Whatever is delivered from here on shows no value below 100.
        await _app.DeliverDueAsync();
        sent = _receiver.On("/counts").Count();
        await _alpha.UploadOkAsync(mine, Records.Range("A", 1, 30));
        await _app.RefreshedAsync();
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{theirs}/sharing", new { level = "counts", minimumCount = 100 }), HttpStatusCode.OK);
        await _app.DeliverDueAsync();
        foreach (var cell in _receiver.On("/counts").Skip(sent).SelectMany(e => e.Json["data"]!["cells"]!.AsArray()))
        {
            Assert.True(cell!["count"] is null || cell["count"]!.GetValue<int>() >= 100, cell.ToJsonString());
            Assert.True(cell["previousCount"] is null || cell["previousCount"]!.GetValue<int>() >= 100, cell.ToJsonString());
        }
        Assert.Contains((await DeliveriesAsync(_alpha.Http, webhook)).Select(d => d!["attemptLog"]!.AsArray().Last()!["error"]?.GetValue<string>()),
            error => error == "Withdrawn: the partner raised its minimum reportable count since the event.");
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task WebhooksOfAnotherOrganizationAnswerNotFoundAndViewersCannotManageThem()
    {
        var (webhookId, _) = await CreateWebhookAsync(_alpha.Http, _receiver.BaseUrl + "/alpha", "sync.failed");
        await ExpectProblem(await _beta.Http.GetAsync($"/v1/webhooks/{webhookId}"), HttpStatusCode.NotFound);
        await ExpectProblem(await _beta.Http.GetAsync($"/v1/webhooks/{webhookId}/deliveries"), HttpStatusCode.NotFound);
        await ExpectProblem(await _beta.Http.DeleteAsync($"/v1/webhooks/{webhookId}"), HttpStatusCode.NotFound);
        Assert.Empty((await _beta.Http.GetFromJsonAsync<JsonArray>("/v1/webhooks"))!);

        var viewer = await _app.MemberAsync(_alpha, "viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/v1/webhooks")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com", events = new[] { "sync.failed" } })).StatusCode);
        // Sales ops are the ones told about failed syncs, so they subscribe themselves.
        var salesOps = await _app.MemberAsync(_alpha, "sales_ops");
        Assert.Equal(HttpStatusCode.Created, (await salesOps.PostAsJsonAsync("/v1/webhooks", new { url = "https://example.com/ops", events = new[] { "sync.failed" } })).StatusCode);
        var manager = await _app.MemberAsync(_alpha, "partner_manager");
        Assert.Equal(2, (await manager.GetFromJsonAsync<JsonArray>("/v1/webhooks"))!.Count);
        Assert.Equal(HttpStatusCode.NoContent, (await manager.DeleteAsync($"/v1/webhooks/{webhookId}")).StatusCode);
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/webhooks/{webhookId}"), HttpStatusCode.NotFound);
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task TheBackgroundWorkerDeliversAQueuedEventWithoutBeingAsked()
    {
        using var app = new EscrowApp(new Dictionary<string, string?> { ["Escrow:Outbound:AllowPrivateNetworks"] = "true" });
        var alpha = await app.SignupAsync("worker-alpha");
        await app.SignupAsync("worker-beta");
        var (_, secret) = await CreateWebhookAsync(alpha.Http, _receiver.BaseUrl + "/worker", "partnership.invited");
        await Expect(await alpha.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "worker-beta" }), HttpStatusCode.Created);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!_receiver.On("/worker").Any() && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(WebhookReceiver.SignatureIsValid(Assert.Single(_receiver.On("/worker")), secret));
    }

    [Fact]
    public async Task TheWebhookAndHistoryEndpointsAreDescribedInTheOpenApiDocument()
    {
        var paths = JsonNode.Parse(await _app.CreateClient().GetStringAsync("/openapi/v1.json"))!["paths"]!.AsObject();
        foreach (var (path, method, name) in new[]
                 {
                     ("/v1/webhooks", "post", "CreateWebhook"), ("/v1/webhooks", "get", "ListWebhooks"), ("/v1/webhooks/{webhookId}", "get", "GetWebhook"),
                     ("/v1/webhooks/{webhookId}", "delete", "DeleteWebhook"), ("/v1/webhooks/{webhookId}/deliveries", "get", "ListWebhookDeliveries"),
                     ("/v1/partnerships/{partnershipId}/overlaps/history", "get", "GetOverlapHistory"),
                     ("/v1/partnerships/{partnershipId}/overlaps/{myPopulationId}/{partnerPopulationId}/new", "get", "ListNewOverlappingAccounts"),
                 })
        {
            var operation = paths[path]?[method];
            Assert.True(operation is not null, $"{method} {path} is missing");
            Assert.Equal(name, operation!["operationId"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(operation["summary"]?.GetValue<string>()));
        }
    }

    [Fact]
    public void SignaturesMatchTheStandardWebhooksTestVector()
    {
        var key = Convert.FromBase64String("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            OverlapEscrow.Application.Webhooks.WebhookSignature.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, """{"test": 2432232314}"""));
    }

    [Fact]
    public void RetryDelaysGrowExponentiallyWithJitterAndStayUnderTheCapWithoutWaiting()
    {
        var schedule = new OverlapEscrow.Application.Webhooks.RetrySchedule(Microsoft.Extensions.Options.Options.Create(
            new OverlapEscrow.Application.Webhooks.WebhookOptions { RetryDelaySeconds = 60, MaxRetryDelayMinutes = 360 }));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        double Mean(int attempt) => Enumerable.Range(0, 50).Average(_ => schedule.DelayAfter(attempt).TotalSeconds);
        var early = Mean(1);
        var later = Mean(6);
        Assert.InRange(early, 10, 300);
        Assert.True(later > 8 * early, $"attempt 6 waits {later:F0} s on average, attempt 1 {early:F0} s");
        foreach (var attempt in Enumerable.Range(1, 30))
            Assert.InRange(schedule.DelayAfter(attempt), TimeSpan.FromTicks(1), TimeSpan.FromHours(6));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "computing delays waited for them");
    }
}
