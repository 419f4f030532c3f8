using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Time-correct attribution (docs/health.md) on a manual clock. Alpha's pipeline (an opportunities population) against
/// beta's Customers, which beta uploads three times: on 5 January with d3 and d9, on 15 January adding d1 and d2, on
/// 15 February removing them again. On 10 March:
/// O-1 (d1, open 1–31 January) was beta's customer from 15 January while open — today's overlap has no d1;
/// O-2 (d2, opened 1 March) was beta's customer only before it opened — no evidence;
/// O-3 (d3, open since 1 January) has been beta's customer all along;
/// O-4 (d4) is in beta's Secret population, shared at counts only — never evidence.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class AttributionTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.Parse("2026-01-05T12:00:00Z"));
    private readonly EscrowApp _app;
    private Org _a = null!, _b = null!;
    private string _pipeline = "", _customers = "", _secret = "", _partnership = "";

    public AttributionTests() => _app = new EscrowApp(new Dictionary<string, string?>(), time: _clock) { RandomSeed = 5 };

    private static string Opportunities() => Records.Ndjson(
    [
        new Records.Account("O-1", Domain: "d1.example", Attributes: new() { ["amount"] = "1000.00", ["currency"] = "USD", ["stage"] = "Closed Won",
            ["created_date"] = "2026-01-01", ["close_date"] = "2026-01-31", ["closed"] = "true", ["won"] = "true" }),
        new Records.Account("O-2", Domain: "d2.example", Attributes: new() { ["amount"] = "2000.00", ["currency"] = "USD", ["created_date"] = "2026-03-01" }),
        new Records.Account("O-3", Domain: "d3.example", Attributes: new() { ["amount"] = "3000.00", ["currency"] = "USD", ["created_date"] = "2026-01-01" }),
        new Records.Account("O-4", Domain: "d4.example", Attributes: new() { ["amount"] = "4000.00", ["currency"] = "USD", ["created_date"] = "2026-01-01" }),
    ]);

    private static string Customers(params int[] numbers) =>
        Records.Ndjson(numbers.Select(i => new Records.Account($"B-{i}", Domain: $"d{i}.example")));

    public async Task InitializeAsync()
    {
        _a = await _app.SignupAsync("attr-a");
        _b = await _app.SignupAsync("attr-b");
        _pipeline = await _a.CreatePopulationAsync("Pipeline", "opportunities");
        await _a.UploadOkAsync(_pipeline, Opportunities());
        _customers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(_customers, Customers(3, 9));
        await _b.ShareAsync(_customers, "overlaps");
        _secret = await _b.CreatePopulationAsync("Secret");
        await _b.UploadOkAsync(_secret, Customers(4, 5, 6, 7, 8, 10, 11));
        await _b.ShareAsync(_secret, "counts");
        _partnership = await _a.PartnerAsync(_b);
        await _app.RefreshedAsync();

        await AdvanceToAsync("2026-01-15T09:00:00Z");
        await _b.UploadOkAsync(_customers, Customers(1, 2, 3, 9));
        await _app.RefreshedAsync();
        await AdvanceToAsync("2026-02-15T09:00:00Z");
        await _b.UploadOkAsync(_customers, Customers(3, 9));
        await _app.RefreshedAsync();
        await AdvanceToAsync("2026-03-10T09:00:00Z");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Moves the clock; access tokens last 15 minutes on it, so every organization signs in again.</summary>
    private async Task AdvanceToAsync(string at)
    {
        _clock.SetUtcNow(DateTimeOffset.Parse(at));
        foreach (var org in new[] { _a, _b }) await SignInAgainAsync(org);
    }

    private static async Task SignInAgainAsync(Org org)
    {
        org.Http.DefaultRequestHeaders.Authorization = null;
        var login = await org.Http.PostAsJsonAsync("/v1/auth/login", new { email = $"admin@{org.Slug}.example", password = Password });
        await Expect(login, HttpStatusCode.OK);
        org.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(login))["accessToken"]!.GetValue<string>());
    }

    private async Task<JsonArray> EvaluateAsync() =>
        (await _a.Http.GetFromJsonAsync<JsonArray>($"/v1/populations/{_pipeline}/attribution"))!;

    private static JsonArray EvidenceOf(JsonArray evaluation, string opportunity) =>
        evaluation.Single(o => o!["opportunity"]!["id"]!.GetValue<string>() == opportunity)!["partners"]![0]!["evidence"]!.AsArray();

    private Task<HttpResponseMessage> ClaimAsync(string opportunity, string role, string? partnershipId = null, Org? who = null) =>
        (who ?? _a).Http.PostAsJsonAsync("/v1/attributions",
            new { populationId = _pipeline, opportunityId = opportunity, partnershipId = partnershipId ?? _partnership, role, note = "Intro by their AE" });

    [Fact]
    public async Task EvidenceIsWhetherThePartnerHadTheAccountWhileTheOpportunityWasOpenNotTodaysOverlap()
    {
        // Today's overlap: d3 and d9 only (O-1's and O-2's accounts left beta's customers on 15 February).
        var today = await _a.ListAllAsync(_partnership, _pipeline, _customers);
        Assert.Equal(["O-3"], today.Select(i => i["recordId"]!.GetValue<string>()));

        var evaluation = await EvaluateAsync();
        var o1 = Assert.Single(EvidenceOf(evaluation, "O-1"))!;
        Assert.Equal(_customers, o1["partnerPopulationId"]!.GetValue<string>());
        Assert.Equal("Customers", o1["partnerPopulationName"]!.GetValue<string>());
        var span = Assert.Single(o1["spans"]!.AsArray())!;
        Assert.Equal(DateTimeOffset.Parse("2026-01-15T09:00:00Z"), span["from"]!.GetValue<DateTimeOffset>());
        Assert.Equal(DateTimeOffset.Parse("2026-02-01T00:00:00Z"), span["to"]!.GetValue<DateTimeOffset>()); // the end of its close date

        Assert.Empty(EvidenceOf(evaluation, "O-2")); // a customer once, but not while the opportunity was open
        var o3 = Assert.Single(Assert.Single(EvidenceOf(evaluation, "O-3"))!["spans"]!.AsArray())!;
        Assert.Equal(DateTimeOffset.Parse("2026-01-05T12:00:00Z"), o3["from"]!.GetValue<DateTimeOffset>());
        Assert.Equal(DateTimeOffset.Parse("2026-03-10T09:00:00Z"), o3["to"]!.GetValue<DateTimeOffset>());
        // d4 is in beta's counts-only Secret population: attribution never names it.
        Assert.Empty(EvidenceOf(evaluation, "O-4"));
        Assert.DoesNotContain(_secret, evaluation.ToJsonString());

        await ExpectProblem(await ClaimAsync("O-2", "sourced"), HttpStatusCode.Conflict);
        await ExpectProblem(await ClaimAsync("O-4", "influenced"), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AClaimCarriesItsEvidenceAndThePartnerConfirmsItSoBothSidesReadTheSameLedger()
    {
        var claim = await ClaimAsync("O-1", "sourced");
        await Expect(claim, HttpStatusCode.Created);
        var id = (await Json(claim))["id"]!.GetValue<string>();
        await ExpectProblem(await ClaimAsync("O-1", "influenced"), HttpStatusCode.Conflict); // one claim per opportunity and partner

        var received = Assert.Single((await _b.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray())!;
        Assert.Equal("received", received["direction"]!.GetValue<string>());
        Assert.Equal("O-1", received["opportunityId"]!.GetValue<string>());
        Assert.Equal("sourced", received["role"]!.GetValue<string>());
        Assert.Equal(_customers, received["evidence"]![0]!["partnerPopulationId"]!.GetValue<string>());
        // The opportunity's own fields never cross: no amount, stage or population of alpha's.
        Assert.Null(received["opportunity"]);
        Assert.Null(received["populationId"]);
        Assert.DoesNotContain("1000", received.ToJsonString());
        Assert.Null(received["createdBy"]);

        // Only the partner named answers, once.
        await ExpectProblem(await _a.Http.PostAsJsonAsync($"/v1/attributions/{id}/confirm", new { }), HttpStatusCode.Forbidden);
        var confirmed = await _b.Http.PostAsJsonAsync($"/v1/attributions/{id}/confirm", new { note = "Yes, our AE introduced them." });
        await Expect(confirmed, HttpStatusCode.OK);
        await ExpectProblem(await _b.Http.PostAsJsonAsync($"/v1/attributions/{id}/dispute", new { }), HttpStatusCode.Conflict);

        var mine = Assert.Single((await _a.Http.GetFromJsonAsync<JsonObject>($"/v1/attributions?partnershipId={_partnership}"))!["items"]!.AsArray())!;
        Assert.Equal("made", mine["direction"]!.GetValue<string>());
        Assert.Equal("confirmed", mine["status"]!.GetValue<string>());
        Assert.Equal("Yes, our AE introduced them.", mine["responseNote"]!.GetValue<string>());
        Assert.Equal(1000m, mine["opportunity"]!["amount"]!.GetValue<decimal>());
        Assert.Equal(received["evidence"]!.ToJsonString(), mine["evidence"]!.ToJsonString());

        // Both audit chains hold the claim and the answer.
        var aAudit = (await Json(await _a.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray();
        Assert.Contains(aAudit, e => e!["action"]!.GetValue<string>() == "attribution.claimed" && e["byMyOrganization"]!.GetValue<bool>());
        Assert.Contains(aAudit, e => e!["action"]!.GetValue<string>() == "attribution.confirmed" && !e["byMyOrganization"]!.GetValue<bool>()
                                     && e["detail"]!["claimId"]!.GetValue<string>() == id);
        var bAudit = (await Json(await _b.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray();
        var seen = bAudit.Single(e => e!["action"]!.GetValue<string>() == "attribution.claimed")!;
        Assert.Equal("sourced", seen["detail"]!["role"]!.GetValue<string>());
        Assert.Null(seen["detail"]!["opportunityId"]);

        // The CSV: one row per opportunity × partner, the shape of a CRM's opportunity-partner import.
        var csv = await _a.Http.GetAsync("/v1/attributions/export");
        await Expect(csv, HttpStatusCode.OK);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("OpportunityId,Population,PartnerName,PartnerSlug,Role,IsPrimary,Status,Amount,Currency,Stage,CloseDate,EvidencePopulations,EvidenceFrom,EvidenceTo,ClaimedOn,PartnerRespondedOn,PartnerNote,ClaimId", lines[0]);
        Assert.Equal($"O-1,Pipeline,attr-b Inc.,attr-b,Sourced,true,confirmed,1000.00,USD,Closed Won,2026-01-31,Customers,2026-01-15,2026-01-31,2026-03-10,2026-03-10,\"Yes, our AE introduced them.\",{id}", lines[1]);
        Assert.Equal(2, lines.Length);
        // The partner's export holds only its own claims: none.
        Assert.Single((await (await _b.Http.GetAsync("/v1/attributions/export")).Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ThePartnerDisputesAClaimAndTheClaimantSeesWhy()
    {
        var claim = await ClaimAsync("O-3", "influenced");
        await Expect(claim, HttpStatusCode.Created);
        var id = (await Json(claim))["id"]!.GetValue<string>();
        await Expect(await _b.Http.PostAsJsonAsync($"/v1/attributions/{id}/dispute", new { note = "We never worked this account." }), HttpStatusCode.OK);
        var mine = await Json(await _a.Http.GetAsync($"/v1/attributions/{id}"));
        Assert.Equal("disputed", mine["status"]!.GetValue<string>());
        Assert.Equal("We never worked this account.", mine["responseNote"]!.GetValue<string>());
        Assert.Null(mine["respondedBy"]); // who answered is the partner's business
        var evaluation = await EvaluateAsync();
        var o3 = evaluation.Single(o => o!["opportunity"]!["id"]!.GetValue<string>() == "O-3")!["partners"]![0]!;
        Assert.Equal("disputed", o3["status"]!.GetValue<string>());
        Assert.Equal(id, o3["claimId"]!.GetValue<string>());
    }

    [Fact]
    public async Task NoOtherOrganizationReadsOrAnswersAClaimAndAnotherPartnerHasNoEvidence()
    {
        var id = (await Json(await ClaimAsync("O-1", "sourced")))["id"]!.GetValue<string>();
        var c = await _app.SignupAsync("attr-c");
        var cCustomers = await c.CreatePopulationAsync("Customers");
        await c.UploadOkAsync(cCustomers, Customers(7, 8));
        await c.ShareAsync(cCustomers, "overlaps");
        var ac = await _a.PartnerAsync(c);
        await c.PartnerAsync(_b);
        await _app.RefreshedAsync();

        await ExpectProblem(await c.Http.GetAsync($"/v1/attributions/{id}"), HttpStatusCode.NotFound);
        await ExpectProblem(await c.Http.PostAsJsonAsync($"/v1/attributions/{id}/confirm", new { }), HttpStatusCode.NotFound);
        await ExpectProblem(await c.Http.PostAsJsonAsync($"/v1/attributions/{id}/dispute", new { }), HttpStatusCode.NotFound);
        Assert.Empty((await c.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray());
        await ExpectProblem(await c.Http.GetAsync($"/v1/attributions?partnershipId={_partnership}"), HttpStatusCode.NotFound);
        // C cannot evaluate or claim on alpha's population; alpha's claim against C finds no evidence (C never had d1).
        await ExpectProblem(await c.Http.GetAsync($"/v1/populations/{_pipeline}/attribution"), HttpStatusCode.NotFound);
        await ExpectProblem(await ClaimAsync("O-1", "sourced", who: c), HttpStatusCode.NotFound);
        await ExpectProblem(await ClaimAsync("O-1", "sourced", partnershipId: ac), HttpStatusCode.Conflict);
        // Evaluation names each partner's evidence under its own partnership only.
        var o1 = (await EvaluateAsync()).Single(o => o!["opportunity"]!["id"]!.GetValue<string>() == "O-1")!["partners"]!.AsArray();
        Assert.Empty(o1.Single(p => p!["partnershipId"]!.GetValue<string>() == ac)!["evidence"]!.AsArray());
        Assert.Single(o1.Single(p => p!["partnershipId"]!.GetValue<string>() == _partnership)!["evidence"]!.AsArray());
        // Beta cannot claim on alpha's opportunities; a population of another type is refused.
        await ExpectProblem(await _b.Http.GetAsync($"/v1/populations/{_pipeline}/attribution"), HttpStatusCode.NotFound);
        var notOpportunities = await ExpectProblem(await _b.Http.GetAsync($"/v1/populations/{_customers}/attribution"), HttpStatusCode.BadRequest);
        Assert.NotNull(notOpportunities["errors"]!["populationId"]);
    }

    [Fact]
    public async Task WhenThePartnerHidesOrLowersThePopulationItsEvidenceIsWithdrawnFromRecordedClaimsOnTheNextRead()
    {
        var id = (await Json(await ClaimAsync("O-3", "influenced")))["id"]!.GetValue<string>();
        var recorded = await Json(await _a.Http.GetAsync($"/v1/attributions/{id}"));
        Assert.Equal(_customers, recorded["evidence"]![0]!["partnerPopulationId"]!.GetValue<string>());
        Assert.False(recorded["evidenceWithdrawn"]!.GetValue<bool>());

        foreach (var level in new[] { "hidden", "counts" })
        {
            await _b.ShareAsync(_customers, level);
            await _app.RefreshedAsync();
            Assert.All(await EvaluateAsync(), o => Assert.Empty(o!["partners"]![0]!["evidence"]!.AsArray()));
            // The claim stays, without the evidence — not even its spans ("in some population of beta from … to …").
            var claim = await Json(await _a.Http.GetAsync($"/v1/attributions/{id}"));
            Assert.Equal("O-3", claim["opportunityId"]!.GetValue<string>());
            Assert.Empty(claim["evidence"]!.AsArray());
            Assert.True(claim["evidenceWithdrawn"]!.GetValue<bool>());
            var ledger = Assert.Single((await Json(await _a.Http.GetAsync("/v1/attributions")))["items"]!.AsArray())!;
            Assert.Equal(claim.ToJsonString(), ledger.ToJsonString());
            Assert.DoesNotContain(_customers, ledger.ToJsonString());
            var row = (await _a.Http.GetStringAsync("/v1/attributions/export")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[1];
            Assert.StartsWith("O-3,Pipeline,attr-b Inc.,attr-b,Influenced,false,claimed,3000.00,USD,,,,,,", row); // no evidence columns
            // Beta, the partner named, still reads the claim's evidence about its own population while the partnership lasts.
            var received = await Json(await _b.Http.GetAsync($"/v1/attributions/{id}"));
            Assert.Equal(_customers, received["evidence"]![0]!["partnerPopulationId"]!.GetValue<string>());
            Assert.False(received["evidenceWithdrawn"]!.GetValue<bool>());
        }

        // Shared at overlaps again: the evidence recorded with the claim reads again.
        await _b.ShareAsync(_customers, "overlaps");
        var again = await Json(await _a.Http.GetAsync($"/v1/attributions/{id}"));
        Assert.Equal(recorded["evidence"]!.ToJsonString(), again["evidence"]!.ToJsonString());
        Assert.False(again["evidenceWithdrawn"]!.GetValue<bool>());
    }

    [Fact]
    public async Task OnceThePartnershipEndsNeitherSideReadsAClaimsEvidenceButBothKeepTheClaim()
    {
        var id = (await Json(await ClaimAsync("O-1", "sourced")))["id"]!.GetValue<string>();
        await Expect(await _b.Http.PostAsJsonAsync($"/v1/attributions/{id}/confirm", new { note = "Ours." }), HttpStatusCode.OK);
        await Expect(await _b.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);

        foreach (var (org, direction) in new[] { (_a, "made"), (_b, "received") })
        {
            var claim = Assert.Single((await Json(await org.Http.GetAsync("/v1/attributions")))["items"]!.AsArray())!;
            Assert.Equal(direction, claim["direction"]!.GetValue<string>());
            Assert.Equal("confirmed", claim["status"]!.GetValue<string>());
            Assert.Equal("Ours.", claim["responseNote"]!.GetValue<string>());
            Assert.Empty(claim["evidence"]!.AsArray());
            Assert.True(claim["evidenceWithdrawn"]!.GetValue<bool>());
            Assert.DoesNotContain(_customers, claim.ToJsonString());
            Assert.Equal(claim.ToJsonString(), (await Json(await org.Http.GetAsync($"/v1/attributions/{id}"))).ToJsonString());
        }
        var row = (await _a.Http.GetStringAsync("/v1/attributions/export")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.DoesNotContain("Customers", row);
        Assert.DoesNotContain("2026-01-15", row); // the evidence's first day
    }

    [Fact]
    public async Task AKeyThatMayNotReadOverlapsCannotAnswerAClaimWhoseAnswerCarriesTheEvidence()
    {
        var id = (await Json(await ClaimAsync("O-1", "sourced")))["id"]!.GetValue<string>();
        var created = await _b.Http.PostAsJsonAsync("/v1/api-keys", new { name = "respond-only", scopes = new[] { "partnerships:write" } });
        await Expect(created, HttpStatusCode.Created);
        var key = await Json(created);
        var token = await _app.CreateClient().PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = key["key"]!["id"]!.GetValue<string>(), ["client_secret"] = key["secret"]!.GetValue<string>(),
        }));
        await Expect(token, HttpStatusCode.OK);
        using var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await Json(token))["access_token"]!.GetValue<string>());
        await ExpectProblem(await http.GetAsync($"/v1/attributions/{id}"), HttpStatusCode.Forbidden); // the control: reading it is refused
        foreach (var answer in new[] { "confirm", "dispute" })
        {
            var refused = await http.PostAsJsonAsync($"/v1/attributions/{id}/{answer}", new { note = "no" });
            await ExpectProblem(refused, HttpStatusCode.Forbidden);
            Assert.DoesNotContain("O-1", await refused.Content.ReadAsStringAsync());
        }
        Assert.Equal("claimed", (await Json(await _a.Http.GetAsync($"/v1/attributions/{id}")))["status"]!.GetValue<string>()); // nothing changed
    }

    [Fact]
    public async Task ConcurrentClaimsOnOneOpportunityAndPartnerRecordOne()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => ClaimAsync("O-3", i % 2 == 0 ? "sourced" : "influenced")));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Single((await _a.Http.GetFromJsonAsync<JsonObject>("/v1/attributions"))!["items"]!.AsArray());
    }

    [Fact]
    public async Task TheLedgerIsPagedWithACursorAndNothingIsDropped()
    {
        var first = (await Json(await ClaimAsync("O-1", "sourced")))["id"]!.GetValue<string>();
        var second = (await Json(await ClaimAsync("O-3", "influenced")))["id"]!.GetValue<string>();

        var page1 = await Json(await _a.Http.GetAsync("/v1/attributions?limit=1"));
        var cursor = page1["nextCursor"]!.GetValue<string>();
        var page2 = await Json(await _a.Http.GetAsync($"/v1/attributions?limit=1&cursor={Uri.EscapeDataString(cursor)}"));
        Assert.Null(page2["nextCursor"]);
        Assert.Equal(new[] { first, second }.Order(),
            page1["items"]!.AsArray().Concat(page2["items"]!.AsArray()).Select(c => c!["id"]!.GetValue<string>()).Order());
        Assert.Null((await Json(await _a.Http.GetAsync("/v1/attributions")))["nextCursor"]);

        // A cursor is the list's, the caller's and the filter's: refused anywhere else, like a made-up one.
        Assert.NotNull((await ExpectProblem(await _b.Http.GetAsync($"/v1/attributions?cursor={Uri.EscapeDataString(cursor)}"), HttpStatusCode.BadRequest))["errors"]!["cursor"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync($"/v1/attributions?partnershipId={_partnership}&cursor={Uri.EscapeDataString(cursor)}"), HttpStatusCode.BadRequest))["errors"]!["cursor"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync("/v1/attributions?cursor=made-up"), HttpStatusCode.BadRequest))["errors"]!["cursor"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync("/v1/attributions?limit=0"), HttpStatusCode.BadRequest))["errors"]!["limit"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.GetAsync("/v1/attributions?limit=501"), HttpStatusCode.BadRequest))["errors"]!["limit"]);
    }

    [Fact]
    public async Task EvidenceReadsAreInThePartnersAuditViewLikeListReadsAndNameNoRecord()
    {
        async Task ReadEvidenceAsync(string claimable, string unclaimable)
        {
            await EvaluateAsync();
            var claim = (await Json(await ClaimAsync(claimable, "sourced")))["id"]!.GetValue<string>();
            await ExpectProblem(await ClaimAsync(unclaimable, "sourced"), HttpStatusCode.Conflict); // the 409 says "no evidence": a read too
            await Expect(await _a.Http.GetAsync("/v1/attributions"), HttpStatusCode.OK);
            await Expect(await _a.Http.GetAsync($"/v1/attributions/{claim}"), HttpStatusCode.OK);
            await Expect(await _a.Http.GetAsync("/v1/attributions/export"), HttpStatusCode.OK);
        }
        async Task<List<JsonNode>> ReadsBetaSeesAsync() =>
            (await Json(await _b.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray()
            .Where(e => e!["action"]!.GetValue<string>() == "attribution.evidence_read" && !e["byMyOrganization"]!.GetValue<bool>())
            .Select(e => e!["detail"]!).ToList();

        // Alpha hides its Pipeline from beta (the default): beta sees none of the reads — which of its populations held
        // alpha's open opportunities, and how many, is about alpha's pipeline. Alpha's own log has them, with the rows.
        await ReadEvidenceAsync("O-1", "O-2");
        Assert.Empty(await ReadsBetaSeesAsync());
        var own = (await Json(await _a.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray()
            .Where(e => e!["action"]!.GetValue<string>() == "attribution.evidence_read").Select(e => e!["detail"]!).ToList();
        Assert.Equal(2, Assert.Single(own, d => d!["format"]!.GetValue<string>() == "evaluation")!["rows"]!.GetValue<int>()); // O-1 and O-3 had its account while open
        Assert.Equal([0, 1], own.Where(d => d!["format"]!.GetValue<string>() == "claim" && d["claimId"] is null).Select(d => d!["rows"]!.GetValue<int>()).Order());
        Assert.All(own, d => Assert.Equal("hidden", d!["sharedAs"]!.GetValue<string>()));

        // Pipeline shown as counts: beta sees every read (its own population, the format, the claim read), never the
        // rows, and a claim that found evidence reads like one that found none.
        await _a.ShareAsync(_pipeline, "counts");
        await ReadEvidenceAsync("O-3", "O-4");
        var reads = await ReadsBetaSeesAsync();
        var evaluation = Assert.Single(reads, d => d!["format"]!.GetValue<string>() == "evaluation")!;
        Assert.Equal(_customers, evaluation["myPopulationId"]!.GetValue<string>()); // beta's own population
        Assert.All(reads, d => Assert.Null(d!["rows"]));
        Assert.Equal(3, reads.Count(d => d!["format"]!.GetValue<string>() == "claim")); // the claim, the refused claim, reading the claim
        Assert.Contains(reads, d => d!["format"]!.GetValue<string>() == "claim" && d["claimId"] is not null);
        Assert.Single(reads, d => d!["format"]!.GetValue<string>() == "ledger");
        Assert.Single(reads, d => d!["format"]!.GetValue<string>() == "csv");
        // Beta's reads of the claim naming it reveal nothing of alpha's: not in alpha's view.
        await Expect(await _b.Http.GetAsync("/v1/attributions"), HttpStatusCode.OK);
        var aAudit = (await Json(await _a.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray();
        Assert.DoesNotContain(aAudit, e => e!["action"]!.GetValue<string>() == "attribution.evidence_read" && !e["byMyOrganization"]!.GetValue<bool>());

        // The log outlives an erasure: no record id of either side in any event.
        using var db = _app.OpenAnyDatabase();
        var details = string.Join("\n", Dapper.SqlMapper.Query<string>(db, "SELECT detail FROM audit_events"));
        foreach (var record in new[] { "O-1", "O-2", "O-3", "B-1", "B-3" }) Assert.DoesNotContain(record, details);
    }
}
