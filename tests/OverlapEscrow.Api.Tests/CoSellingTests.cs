using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Co-selling signals (docs/health.md). Alpha's Pipeline: O-1 (d1, Proposal), O-2 (d2, closed lost), O-3 (d3,
/// Discovery), O-4 (d4, Negotiation); alpha's Customers C-5 (d5), C-6 (d6). Beta's Deals (opportunities, overlaps, d1 d2
/// d5), Customers (overlaps, d3 d4) and Secret deals (opportunities, counts only, d6).
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class CoSellingTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
    }) { RandomSeed = 4 };

    private WebhookReceiver _receiver = null!;
    private Org _a = null!, _b = null!;
    private string _pipeline = "", _aCustomers = "", _deals = "", _bCustomers = "", _secret = "", _partnership = "";

    private static Records.Account Opp(string id, int d, string stage, bool closed = false) =>
        new(id, Domain: $"d{d}.example", Attributes: new() { ["amount"] = "100.00", ["currency"] = "USD", ["stage"] = stage, ["closed"] = closed ? "true" : "false" });

    private static string Deals(params int[] numbers) => Records.Ndjson(numbers.Select(i =>
        new Records.Account($"B-DEAL-{i}", Domain: $"d{i}.example", Attributes: new() { ["accountName"] = $"Deal {i}", ["amount"] = "987654.00" })));

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _a = await _app.SignupAsync("co-a");
        _b = await _app.SignupAsync("co-b");
        await Expect(await _a.Http.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.BaseUrl + "/a", events = new[] { "coselling.joint_opportunity" } }), HttpStatusCode.Created);
        _pipeline = await _a.CreatePopulationAsync("Pipeline", "opportunities");
        await _a.UploadOkAsync(_pipeline, Records.Ndjson([Opp("O-1", 1, "Proposal"), Opp("O-2", 2, "Closed Lost", closed: true), Opp("O-3", 3, "Discovery"), Opp("O-4", 4, "Negotiation")]));
        _aCustomers = await _a.CreatePopulationAsync("Customers");
        await _a.UploadOkAsync(_aCustomers, Records.Ndjson([new Records.Account("C-5", Domain: "d5.example"), new Records.Account("C-6", Domain: "d6.example")]));
        _deals = await _b.CreatePopulationAsync("Deals", "opportunities");
        await _b.UploadOkAsync(_deals, Deals(1, 2, 5));
        await _b.ShareAsync(_deals, "overlaps", "accountName", "amount");
        _bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(_bCustomers, Records.Ndjson([new Records.Account("B-C-3", Domain: "d3.example"), new Records.Account("B-C-4", Domain: "d4.example")]));
        await _b.ShareAsync(_bCustomers, "overlaps");
        _secret = await _b.CreatePopulationAsync("Secret deals", "opportunities");
        await _b.UploadOkAsync(_secret, Deals(6));
        await _b.ShareAsync(_secret, "counts");
        _partnership = await _a.PartnerAsync(_b);
        await _app.RefreshedAsync();
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    private async Task<JsonObject> SignalsAsync(Org who, string partnershipId)
    {
        var response = await who.Http.GetAsync($"/v1/partnerships/{partnershipId}/signals");
        await Expect(response, HttpStatusCode.OK);
        return await Json(response);
    }

    private static List<JsonNode> CellsOf(JsonObject signals, string kind) =>
        signals["cells"]!.AsArray().Where(c => c!["kind"]!.GetValue<string>() == kind).Select(c => c!).ToList();

    private static List<string> Ids(JsonNode cell) => cell["items"]!.AsArray().Select(i => i!["recordId"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task EachSignalListsMyRecordsWithinWhatThePartnerSharesAndNeverItsOpportunityFields()
    {
        var signals = await SignalsAsync(_a, _partnership);
        var joint = CellsOf(signals, "joint");
        Assert.Equal(["O-1"], Ids(joint.Single(c => c["partnerPopulationId"]!.GetValue<string>() == _deals))); // O-2 is closed
        var match = joint.Single(c => c["partnerPopulationId"]!.GetValue<string>() == _deals)["items"]![0]!["matches"]![0]!;
        Assert.Equal("Deal 1", match["fields"]!["accountName"]!.GetValue<string>());
        Assert.DoesNotContain("987654", signals.ToJsonString()); // the partner's amount never crosses, even when its rule names it
        Assert.Equal(["O-3", "O-4"], Ids(CellsOf(signals, "reference").Single()).Order());
        var reciprocal = CellsOf(signals, "reciprocal");
        Assert.Equal(["C-5"], Ids(reciprocal.Single(c => c["partnerPopulationId"]!.GetValue<string>() == _deals)));
        // The counts-only Secret deals: its cells are listed with no record.
        var secret = signals["cells"]!.AsArray().Where(c => c!["partnerPopulationId"]!.GetValue<string>() == _secret).ToList();
        Assert.Equal(2, secret.Count);
        Assert.All(secret, c => { Assert.Equal("counts", c!["level"]!.GetValue<string>()); Assert.Empty(c["items"]!.AsArray()); });
        Assert.DoesNotContain("C-6", signals.ToJsonString());
        Assert.DoesNotContain("B-DEAL", signals.ToJsonString());
    }

    [Fact]
    public async Task OpportunitiesWithNoPartnerAttachedAreTheMidAndLateStageOnesThatOverlapAndHaveNoClaim()
    {
        var unattached = (await _a.Http.GetFromJsonAsync<JsonArray>("/v1/signals/unattached"))!;
        Assert.Equal(["O-1", "O-4"], unattached.Select(u => u!["opportunity"]!["id"]!.GetValue<string>()).Order());
        Assert.Equal("Deals", unattached.Single(u => u!["opportunity"]!["id"]!.GetValue<string>() == "O-1")!["overlaps"]![0]!["partnerPopulationName"]!.GetValue<string>());
        var discovery = (await _a.Http.GetFromJsonAsync<JsonArray>("/v1/signals/unattached?stages=Discovery"))!;
        Assert.Equal(["O-3"], discovery.Select(u => u!["opportunity"]!["id"]!.GetValue<string>()));

        await Expect(await _a.Http.PostAsJsonAsync("/v1/attributions",
            new { populationId = _pipeline, opportunityId = "O-4", partnershipId = _partnership, role = "influenced" }), HttpStatusCode.Created);
        var after = (await _a.Http.GetFromJsonAsync<JsonArray>("/v1/signals/unattached"))!;
        Assert.Equal(["O-1"], after.Select(u => u!["opportunity"]!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ANewJointOpportunityRaisesAnEventASlackWebhookCanPostAsIs()
    {
        // The partnership's first refresh found O-1 joint.
        Assert.Equal(1, await _app.DeliverDueAsync());
        var first = Assert.Single(_receiver.On("/a"));
        Assert.Equal("coselling.joint_opportunity", first.Type);
        Assert.Equal(["O-1"], first.Json["data"]!["opportunities"]!.AsArray().Select(o => o!.GetValue<string>()));

        // Beta's Deals gains d4: O-4 becomes joint (O-1 is not announced again).
        await _b.UploadOkAsync(_deals, Deals(1, 2, 4, 5));
        await _app.RefreshedAsync();
        Assert.Equal(1, await _app.DeliverDueAsync());
        var second = _receiver.On("/a").Last();
        var data = second.Json["data"]!;
        Assert.Equal(["O-4"], data["opportunities"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal("New joint opportunity with co-b Inc.: O-4 (Pipeline).", data["text"]!.GetValue<string>());
        Assert.Equal(1, data["count"]!.GetValue<int>());
        // The partner population the opportunities overlap (one alpha sees at the overlaps level: what the delivery's
        // withdrawal is judged on), and nothing of its records.
        Assert.Equal(_deals, data["partnerPopulationId"]!.GetValue<string>());
        Assert.DoesNotContain("B-DEAL", second.Body);
        Assert.DoesNotContain("987654", second.Body);
        Assert.DoesNotContain(_secret, second.Body);

        // A change that adds no joint opportunity sends none.
        await _b.UploadOkAsync(_deals, Deals(1, 4, 5));
        await _app.RefreshedAsync();
        Assert.Equal(0, await _app.DeliverDueAsync());
    }

    [Theory]
    [InlineData("hidden")]
    [InlineData("counts")]
    [InlineData("terminated")]
    public async Task AQueuedJointOpportunityIsWithdrawnWhenThePartnerStopsSharingItsPopulationOrEndsThePartnershipBeforeItGoesOut(string revocation)
    {
        // The partnership's first refresh queued O-1 for alpha; before it is delivered, beta takes back what made it joint.
        var webhook = (await _a.Http.GetFromJsonAsync<JsonArray>("/v1/webhooks"))!.Single()!["id"]!.GetValue<string>();
        if (revocation == "terminated") await Expect(await _b.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);
        else await _b.ShareAsync(_deals, revocation);

        Assert.Equal(1, await _app.DeliverDueAsync());
        Assert.Empty(_receiver.On("/a"));
        var delivery = Assert.Single((await _a.Http.GetFromJsonAsync<JsonObject>($"/v1/webhooks/{webhook}/deliveries"))!["items"]!.AsArray())!;
        Assert.Equal("failed", delivery["status"]!.GetValue<string>());
        Assert.StartsWith("Withdrawn: ", Assert.Single(delivery["attemptLog"]!.AsArray())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherOrganizationOrPartnershipFindsNoSignal()
    {
        var c = await _app.SignupAsync("co-c");
        await ExpectProblem(await c.Http.GetAsync($"/v1/partnerships/{_partnership}/signals"), HttpStatusCode.NotFound);
        Assert.Empty((await c.Http.GetFromJsonAsync<JsonArray>("/v1/signals/unattached"))!);
        var ac = await _a.PartnerAsync(c);
        await _app.RefreshedAsync();
        Assert.Empty((await SignalsAsync(_a, ac))["cells"]!.AsArray());
        // Beta's view of the same partnership: alpha shares nothing, so beta has no signal.
        Assert.Empty((await SignalsAsync(_b, _partnership))["cells"]!.AsArray());
        Assert.Empty((await _b.Http.GetFromJsonAsync<JsonArray>("/v1/signals/unattached"))!);
    }

    [Theory]
    [InlineData("Acme <!channel>", "Acme &lt;!channel&gt;")]
    [InlineData("<https://evil.example|Beta Cloud>", "&lt;https://evil.example|Beta Cloud&gt;")]
    [InlineData("Smith & Co", "Smith &amp; Co")]
    [InlineData("Plain", "Plain")]
    public void ANameInTheSlackTextCannotBecomeAMentionOrALink(string name, string escaped) =>
        Assert.Equal(escaped, OverlapEscrow.Application.Signals.JointOpportunities.SlackEscape(name));

    [Fact]
    public async Task TheStagesParameterIsBoundedInCountAndLengthWithAProblemNamingIt()
    {
        var many = string.Join(',', Enumerable.Range(0, 51).Select(i => $"Stage {i}"));
        var tooMany = await ExpectProblem(await _a.Http.GetAsync($"/v1/signals/unattached?stages={Uri.EscapeDataString(many)}"), HttpStatusCode.BadRequest);
        Assert.NotNull(tooMany["errors"]!["stages"]);
        var tooLong = await ExpectProblem(await _a.Http.GetAsync($"/v1/signals/unattached?stages=Proposal,{new string('x', 101)}"), HttpStatusCode.BadRequest);
        Assert.NotNull(tooLong["errors"]!["stages"]);
        var padded = await ExpectProblem(await _a.Http.GetAsync($"/v1/signals/unattached?stages={new string(',', 6000)}Proposal"), HttpStatusCode.BadRequest);
        Assert.NotNull(padded["errors"]!["stages"]);
        // At the bounds, the list is taken.
        var fifty = string.Join(',', Enumerable.Range(0, 49).Select(i => new string('s', 100)).Append("Proposal"));
        var ok = await _a.Http.GetAsync($"/v1/signals/unattached?stages={Uri.EscapeDataString(fifty)}");
        await Expect(ok, HttpStatusCode.OK);
        Assert.Equal(["O-1"], (await ok.Content.ReadFromJsonAsync<JsonArray>())!.Select(u => u!["opportunity"]!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ASignalReadIsAuditedAsItsOwnActionAndThePartnerSeesWhatItRevealedWithoutRecordIds()
    {
        async Task<List<JsonNode>> ReadsBSeesAsync()
        {
            await Expect(await _a.Http.GetAsync($"/v1/partnerships/{_partnership}/signals"), HttpStatusCode.OK);
            await Expect(await _a.Http.GetAsync("/v1/signals/unattached"), HttpStatusCode.OK);
            var audit = (await Json(await _b.Http.GetAsync("/v1/audit?limit=200")))["items"]!.AsArray();
            // Not as whole-cell exports, and no record id of either side in what the partner reads.
            Assert.DoesNotContain(audit, e => e!["action"]!.GetValue<string>() == "overlaps.released" && !e["byMyOrganization"]!.GetValue<bool>());
            foreach (var id in new[] { "O-1", "O-3", "O-4", "C-5", "B-DEAL-1", "B-C-3" }) Assert.DoesNotContain(id, audit.ToJsonString());
            return audit.Where(e => e!["action"]!.GetValue<string>() == "coselling.signal_read" && !e["byMyOrganization"]!.GetValue<bool>()).Select(e => e!).ToList();
        }

        // A hides Pipeline and Customers from B (the default): B sees none of the reads — one per signal and cell of A's
        // would count A's hidden populations, and their rows say which accounts are in them.
        Assert.Empty(await ReadsBSeesAsync());
        var own = (await Json(await _a.Http.GetAsync("/v1/audit?limit=200")))["items"]!.AsArray()
            .Where(e => e!["action"]!.GetValue<string>() == "coselling.signal_read").ToList();
        // joint (Pipeline × Deals: O-1 open; O-2 is closed), reference (Pipeline × Customers: O-3, O-4), reciprocal (Customers × Deals: C-5),
        // and the unattached list's reads of Pipeline × Deals (O-1) and Pipeline × Customers (O-4; O-3 is at an early stage): A's own log has them all.
        Assert.Equal(new[] { ("joint", 1), ("reciprocal", 1), ("reference", 2), ("unattached", 1), ("unattached", 1) }.Order(),
            own.Select(e => (e!["detail"]!["signal"]!.GetValue<string>(), e["detail"]!["rows"]!.GetValue<int>())).Order());

        // Shown (Pipeline as counts, Customers at the overlaps level): B sees each read, which signal, and its own
        // population — never how many records it showed (they count A's open opportunities and their stages).
        await _a.ShareAsync(_pipeline, "counts");
        await _a.ShareAsync(_aCustomers, "overlaps");
        var reads = await ReadsBSeesAsync();
        Assert.Equal(new[] { ("joint", _deals), ("reciprocal", _deals), ("reference", _bCustomers), ("unattached", _bCustomers), ("unattached", _deals) }.Order(),
            reads.Select(e => (e["detail"]!["signal"]!.GetValue<string>(), e["detail"]!["myPopulationId"]!.GetValue<string>())).Order());
        Assert.All(reads, e => Assert.Null(e["detail"]!["rows"]));
    }
}
