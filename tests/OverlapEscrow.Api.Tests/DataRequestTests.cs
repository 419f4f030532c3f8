using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Data requests (docs/health.md): on a counts-only cell the viewer asks the owner for more; the owner answers with a
/// sharing change or declines; both sides see the request, its steps are audited on both chains and raise webhook
/// events. Asking never reveals a hidden population, and nobody outside the two sides reads or answers a request.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class DataRequestTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
    }) { RandomSeed = 14 };

    private Org _a = null!, _b = null!;
    private string _pipeline = "", _customers = "", _secret = "", _partnership = "";

    public async Task InitializeAsync()
    {
        _a = await _app.SignupAsync("req-a");
        _b = await _app.SignupAsync("req-b");
        _pipeline = await _a.CreatePopulationAsync("Pipeline", "opportunities");
        await _a.UploadOkAsync(_pipeline, Records.Range("A", 0, 20));
        _customers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(_customers, Records.Range("B", 10, 30));
        await _b.ShareAsync(_customers, "counts");
        _secret = await _b.CreatePopulationAsync("Secret");
        await _b.UploadOkAsync(_secret, Records.Range("B", 0, 30));
        _partnership = await _a.PartnerAsync(_b);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private Task<HttpResponseMessage> AskAsync(Org who, string partnershipId, string mine, string theirs, string? message = "May we see which accounts?") =>
        who.Http.PostAsJsonAsync($"/v1/partnerships/{partnershipId}/data-requests", new { populationId = mine, partnerPopulationId = theirs, message });

    private async Task<string> AskOkAsync()
    {
        var response = await AskAsync(_a, _partnership, _pipeline, _customers);
        await Expect(response, HttpStatusCode.Created);
        return (await Json(response))["id"]!.GetValue<string>();
    }

    private static async Task<JsonObject> GetOkAsync(Org who, string url)
    {
        var response = await who.Http.GetAsync(url);
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static async Task<JsonArray> AuditAsync(Org who) => (await GetOkAsync(who, "/v1/audit?limit=200"))["items"]!.AsArray();

    [Fact]
    public async Task TheOwnerAnswersARequestByChangingItsSharingOfThatCellAndTheRequesterThenReadsTheRecords()
    {
        // B has another override in this partnership; answering must keep it.
        await Expect(await _b.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing",
            new { populations = new[] { new { populationId = _secret, level = "counts" } } }), HttpStatusCode.OK);
        await ExpectProblem(await _a.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_pipeline}/{_customers}"), HttpStatusCode.Forbidden);

        var id = await AskOkAsync();
        var received = Assert.Single((await _b.Http.GetFromJsonAsync<JsonObject>("/v1/data-requests"))!["items"]!.AsArray());
        Assert.Equal("received", received!["direction"]!.GetValue<string>());
        Assert.Equal("open", received["status"]!.GetValue<string>());
        Assert.Equal(_customers, received["myPopulation"]!["id"]!.GetValue<string>());
        Assert.Equal(_pipeline, received["partnerPopulation"]!["id"]!.GetValue<string>());
        Assert.Equal("Pipeline", received["partnerPopulation"]!["name"]!.GetValue<string>());
        Assert.Equal("May we see which accounts?", received["message"]!.GetValue<string>());
        Assert.Equal("req-a", received["partner"]!["slug"]!.GetValue<string>());
        Assert.Null(received["createdBy"]); // who asked is the requester's business
        Assert.Equal("counts", received["cellLevel"]!.GetValue<string>());

        var answer = await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "overlaps", fields = new[] { "owner" } });
        await Expect(answer, HttpStatusCode.OK);
        var answered = await Json(answer);
        Assert.Equal("answered", answered["status"]!.GetValue<string>());
        Assert.Equal("overlaps", answered["answer"]!["level"]!.GetValue<string>());
        Assert.Equal("overlaps", answered["cellLevel"]!.GetValue<string>());

        Assert.Equal(10, (await _a.ListAllAsync(_partnership, _pipeline, _customers)).Count);
        var mine = await GetOkAsync(_a, $"/v1/data-requests/{id}");
        Assert.Equal("sent", mine["direction"]!.GetValue<string>());
        Assert.Equal("answered", mine["status"]!.GetValue<string>());
        Assert.Equal("overlaps", mine["cellLevel"]!.GetValue<string>());
        Assert.Null(mine["resolvedBy"]);
        Assert.NotNull(mine["createdBy"]);

        var sharing = await GetOkAsync(_b, $"/v1/partnerships/{_partnership}/sharing");
        var rules = sharing["mine"]!.AsArray();
        Assert.Equal("counts", rules.Single(r => r!["populationId"]!.GetValue<string>() == _secret)!["partnership"]!["level"]!.GetValue<string>());
        var cellOverride = Assert.Single(rules.Single(r => r!["populationId"]!.GetValue<string>() == _customers)!["overrides"]!.AsArray())!;
        Assert.Equal(_pipeline, cellOverride["partnerPopulationId"]!.GetValue<string>());

        // Audited on both chains: the answer and the sharing change name the request.
        var bAudit = await AuditAsync(_b);
        var change = bAudit.Last(e => e!["action"]!.GetValue<string>() == "sharing.updated")!;
        Assert.Equal(id, change["detail"]!["dataRequestId"]!.GetValue<string>());
        Assert.Contains(bAudit, e => e!["action"]!.GetValue<string>() == "data_request.answered" && e["byMyOrganization"]!.GetValue<bool>());
        var seenByB = bAudit.Single(e => e!["action"]!.GetValue<string>() == "data_request.created")!;
        Assert.False(seenByB["byMyOrganization"]!.GetValue<bool>());
        Assert.Equal(_customers, seenByB["detail"]!["myPopulationId"]!.GetValue<string>());
        Assert.DoesNotContain(_pipeline, seenByB["detail"]!.ToJsonString());
        var aAudit = await AuditAsync(_a);
        var seenByA = aAudit.Single(e => e!["action"]!.GetValue<string>() == "data_request.answered")!;
        Assert.False(seenByA["byMyOrganization"]!.GetValue<bool>());
        Assert.Equal(id, seenByA["detail"]!["requestId"]!.GetValue<string>());
        Assert.Equal(_pipeline, seenByA["detail"]!["myPopulationId"]!.GetValue<string>());
        Assert.DoesNotContain(aAudit, e => e!["action"]!.GetValue<string>() == "sharing.updated");
        Assert.True((await GetOkAsync(_a, "/v1/audit/verify"))["valid"]!.GetValue<bool>());
        Assert.True((await GetOkAsync(_b, "/v1/audit/verify"))["valid"]!.GetValue<bool>());
    }

    [Fact]
    public async Task EachStepRaisesAWebhookEventForTheOtherSideNamingNoPopulationAndQuotingNoMessage()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await Expect(await _b.Http.PostAsJsonAsync("/v1/webhooks", new { url = receiver.BaseUrl + "/b", events = new[] { "data_request.created" } }), HttpStatusCode.Created);
        await Expect(await _a.Http.PostAsJsonAsync("/v1/webhooks",
            new { url = receiver.BaseUrl + "/a", events = new[] { "data_request.answered", "data_request.declined" } }), HttpStatusCode.Created);

        var id = await AskOkAsync();
        Assert.Equal(1, await _app.DeliverDueAsync());
        var created = Assert.Single(receiver.On("/b"));
        Assert.Equal("data_request.created", created.Type);
        Assert.Equal(id, created.Json["data"]!["requestId"]!.GetValue<string>());
        Assert.Equal(_partnership, created.Json["data"]!["partnershipId"]!.GetValue<string>());
        Assert.Equal("req-a", created.Json["data"]!["partner"]!["slug"]!.GetValue<string>());
        Assert.DoesNotContain(_pipeline, created.Body);
        Assert.DoesNotContain("May we see", created.Body);

        await Expect(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { reason = "Not this quarter." }), HttpStatusCode.OK);
        Assert.Equal(1, await _app.DeliverDueAsync());
        var declined = Assert.Single(receiver.On("/a"));
        Assert.Equal("data_request.declined", declined.Type);
        Assert.Equal("declined", declined.Json["data"]!["status"]!.GetValue<string>());
        Assert.Equal("req-b", declined.Json["data"]!["partner"]!["slug"]!.GetValue<string>());
        Assert.DoesNotContain(_customers, declined.Body);
        Assert.Equal("Not this quarter.", (await GetOkAsync(_a, $"/v1/data-requests/{id}"))["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task AHiddenPopulationAnswersARequestExactlyLikeOneThatDoesNotExist()
    {
        var hidden = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _secret), HttpStatusCode.NotFound);
        var madeUp = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, "pop_0000000000000000000000000000000"), HttpStatusCode.NotFound);
        Assert.Equal(madeUp.ToJsonString(), hidden.ToJsonString());
        // My own population as the partner's, the partner's as mine: neither is a cell of mine.
        await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _pipeline), HttpStatusCode.NotFound);
        await ExpectProblem(await AskAsync(_a, _partnership, _customers, _customers), HttpStatusCode.NotFound);
        // The owner cannot ask about its own counts-only population from the other side.
        await ExpectProblem(await AskAsync(_b, _partnership, _customers, _pipeline), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task NoOtherOrganizationReadsOrAnswersARequestAndAnotherPartnershipCannotReachTheCell()
    {
        var id = await AskOkAsync();
        var c = await _app.SignupAsync("req-c");
        var cPopulation = await c.CreatePopulationAsync("Leads");
        var bc = await c.PartnerAsync(_b);
        var ac = await _a.PartnerAsync(c);

        // C is B's partner too, but not a side of A's request: 404 on every way to it.
        await ExpectProblem(await c.Http.GetAsync($"/v1/data-requests/{id}"), HttpStatusCode.NotFound);
        await ExpectProblem(await c.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "overlaps" }), HttpStatusCode.NotFound);
        await ExpectProblem(await c.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { }), HttpStatusCode.NotFound);
        Assert.Empty((await c.Http.GetFromJsonAsync<JsonObject>("/v1/data-requests"))!["items"]!.AsArray());
        await ExpectProblem(await c.Http.GetAsync($"/v1/partnerships/{_partnership}/data-requests"), HttpStatusCode.NotFound);
        await ExpectProblem(await AskAsync(c, _partnership, cPopulation, _customers), HttpStatusCode.NotFound);
        // A's partnership with C does not reach B's population; C's with B does not reach A's.
        await ExpectProblem(await AskAsync(_a, ac, _pipeline, _customers), HttpStatusCode.NotFound);
        await ExpectProblem(await AskAsync(c, bc, _pipeline, _customers), HttpStatusCode.NotFound);
        Assert.Empty((await c.Http.GetFromJsonAsync<JsonObject>($"/v1/partnerships/{bc}/data-requests"))!["items"]!.AsArray());
        // The requester reads its request but does not answer it.
        await ExpectProblem(await _a.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "overlaps" }), HttpStatusCode.Forbidden);
        await ExpectProblem(await _a.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { }), HttpStatusCode.Forbidden);
        Assert.Single((await _a.Http.GetFromJsonAsync<JsonObject>($"/v1/partnerships/{_partnership}/data-requests"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task RequestsAreMadeOnlyOnCountsOnlyCellsOfActivePartnerships()
    {
        await _b.ShareAsync(_customers, "overlaps");
        await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers), HttpStatusCode.Conflict);
        await _b.ShareAsync(_customers, "counts");
        var id = await AskOkAsync();

        await Expect(await _a.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);
        await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers), HttpStatusCode.Conflict);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "overlaps" }), HttpStatusCode.Conflict);
        // The request stays readable by both sides, naming no partner population that no longer exists for the requester.
        var afterEnd = await GetOkAsync(_a, $"/v1/data-requests/{id}");
        Assert.Null(afterEnd["partnerPopulation"]!["name"]);
        Assert.Null(afterEnd["cellLevel"]);

        var invited = await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = _b.Slug });
        var pending = (await Json(invited))["id"]!.GetValue<string>();
        await ExpectProblem(await AskAsync(_a, pending, _pipeline, _customers), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task MessagesAndAnswersAreValidatedAndARequestIsAnsweredOnce()
    {
        var tooLong = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers, new string('x', 1001)), HttpStatusCode.BadRequest);
        Assert.NotNull(tooLong["errors"]!["message"]);
        var empty = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers, "   "), HttpStatusCode.BadRequest);
        Assert.NotNull(empty["errors"]!["message"]);
        await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers, "bell\u0007"), HttpStatusCode.BadRequest);
        await Expect(await AskAsync(_a, _partnership, _pipeline, _customers, new string('x', 1000)), HttpStatusCode.Created);
        var again = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers), HttpStatusCode.Conflict);
        Assert.Contains("open request", again["detail"]!.GetValue<string>());

        var id = (await _b.Http.GetFromJsonAsync<JsonObject>("/v1/data-requests"))!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();
        var hidden = await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "hidden" }), HttpStatusCode.BadRequest);
        Assert.NotNull(hidden["errors"]!["$.level"]);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "counts", fields = new[] { "owner" } }), HttpStatusCode.BadRequest);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { reason = new string('y', 501) }), HttpStatusCode.BadRequest);
        // Answering at counts (a lower minimum, say) is an answer too.
        await Expect(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "counts", minimumCount = 3 }), HttpStatusCode.OK);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/answer", new { level = "overlaps" }), HttpStatusCode.Conflict);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AnOrganizationMakesAtMostTenRequestsInAPartnershipPerWeek()
    {
        for (var i = 0; i < 10; i++)
        {
            var id = await AskOkAsync();
            await Expect(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { }), HttpStatusCode.OK);
        }
        var limited = await ExpectProblem(await AskAsync(_a, _partnership, _pipeline, _customers), HttpStatusCode.TooManyRequests);
        Assert.Equal("urn:overlap-escrow:problem:rate-limited", limited["type"]!.GetValue<string>());
        Assert.Equal(10, (await _b.Http.GetFromJsonAsync<JsonObject>("/v1/data-requests"))!["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task OnceTheRequestersPopulationIsHiddenFromTheOwnerTheRequestNamesItOnlyAsItWasWhenAsked()
    {
        var id = await AskOkAsync();
        // No endpoint renames a population today; the database (or a rename to come) can. While the population exists
        // for the owner, the owner reads its current name.
        using (var db = _app.OpenAnyDatabase())
            Dapper.SqlMapper.Execute(db, "UPDATE populations SET name = 'Renamed Pipeline' WHERE id = @_pipeline", new { _pipeline });
        await _a.ShareAsync(_pipeline, "counts");
        Assert.Equal("Renamed Pipeline", (await GetOkAsync(_b, $"/v1/data-requests/{id}"))["partnerPopulation"]!["name"]!.GetValue<string>());

        // Hidden from the owner, it no longer exists for it: the request keeps the name the requester disclosed by asking.
        await _a.ShareAsync(_pipeline, "hidden");
        var request = await GetOkAsync(_b, $"/v1/data-requests/{id}");
        Assert.Equal("Pipeline", request["partnerPopulation"]!["name"]!.GetValue<string>());
        Assert.Equal(_pipeline, request["partnerPopulation"]!["id"]!.GetValue<string>());
        var listed = Assert.Single((await GetOkAsync(_b, "/v1/data-requests"))["items"]!.AsArray())!;
        Assert.DoesNotContain("Renamed", listed.ToJsonString());
        Assert.DoesNotContain("Renamed", (await GetOkAsync(_b, $"/v1/partnerships/{_partnership}/data-requests")).ToJsonString());
    }

    [Fact]
    public async Task TheListsArePagedWithACursorAndNothingIsDropped()
    {
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var id = await AskOkAsync();
            await Expect(await _b.Http.PostAsJsonAsync($"/v1/data-requests/{id}/decline", new { }), HttpStatusCode.OK);
            ids.Add(id);
        }
        foreach (var (who, url) in new[] { (_a, "/v1/data-requests"), (_b, $"/v1/partnerships/{_partnership}/data-requests") })
        {
            var seen = new List<string>();
            string? cursor = null;
            var pages = 0;
            do
            {
                var page = await GetOkAsync(who, $"{url}?limit=2" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
                seen.AddRange(page["items"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
                cursor = page["nextCursor"]?.GetValue<string>();
                pages++;
            } while (cursor is not null);
            Assert.Equal(2, pages);
            Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal)); // each once (newest first; ids break a tie within a millisecond)
        }
        var first = (await GetOkAsync(_a, "/v1/data-requests?limit=1"))["nextCursor"]!.GetValue<string>();
        Assert.NotNull((await ExpectProblem(await _b.Http.GetAsync($"/v1/data-requests?cursor={Uri.EscapeDataString(first)}"), HttpStatusCode.BadRequest))["errors"]!["cursor"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync($"/v1/partnerships/{_partnership}/data-requests?cursor={Uri.EscapeDataString(first)}"), HttpStatusCode.BadRequest))["errors"]!["cursor"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync("/v1/data-requests?limit=501"), HttpStatusCode.BadRequest))["errors"]!["limit"]);
    }
}
