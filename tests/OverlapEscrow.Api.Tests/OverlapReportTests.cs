using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The whole flow with the two partners' real-world CRM samples: upload, share, read the matrix and the lists.</summary>
[Trait("AlsoOn", "postgres")]
public sealed class OverlapReportTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _alpha = null!, _beta = null!;
    private string _alphaCustomers = "", _alphaProspects = "", _betaCustomers = "", _betaOpportunities = "", _partnership = "";

    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
        _alphaCustomers = await _alpha.CreatePopulationAsync("Customers");
        _alphaProspects = await _alpha.CreatePopulationAsync("Prospects", "prospects");
        _betaCustomers = await _beta.CreatePopulationAsync("Customers");
        _betaOpportunities = await _beta.CreatePopulationAsync("Opportunities", "opportunities");
        await _alpha.UploadOkAsync(_alphaCustomers, PartnerData.Ndjson("alpha", "customers"));
        await _alpha.UploadOkAsync(_alphaProspects, PartnerData.Ndjson("alpha", "prospects"));
        await _beta.UploadOkAsync(_betaCustomers, PartnerData.Ndjson("beta", "customers"));
        await _beta.UploadOkAsync(_betaOpportunities, PartnerData.Ndjson("beta", "opportunities"));
        _partnership = await _alpha.PartnerAsync(_beta);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task NewPopulationsAreHiddenSoTheMatrixHasNoPartnerColumnsUntilShared()
    {
        var matrix = await _alpha.MatrixAsync(_partnership);
        Assert.Empty(matrix["partnerPopulations"]!.AsArray());
        Assert.Empty(matrix["cells"]!.AsArray());
        var list = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}");
        await ExpectProblem(list, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OverlapListsMatchTheSampleTruthWithHighPrecision()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        var found = (await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers)).Select(i => i["recordId"]!.GetValue<string>()).ToHashSet();
        var truth = PartnerData.TrueAlphaOverlaps("customers", "customers");
        var truePositives = found.Count(truth.Contains);
        Assert.True(found.Count > 0, "no overlaps found");
        var precision = (double)truePositives / found.Count;
        var recall = (double)truePositives / truth.Count;
        // The targets of scripts/match-quality, which measures all four population pairs.
        Assert.True(precision >= 0.995, $"precision {precision:F3}");
        Assert.True(recall >= 0.93, $"recall {recall:F3}");
    }

    [Fact]
    public async Task MatrixCountsEqualTheDistinctOverlappingRecordsOfTheList()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await _beta.ShareAsync(_betaOpportunities, "overlaps");
        var matrix = await _alpha.MatrixAsync(_partnership);
        foreach (var (mine, theirs) in new[] { (_alphaCustomers, _betaCustomers), (_alphaCustomers, _betaOpportunities), (_alphaProspects, _betaCustomers), (_alphaProspects, _betaOpportunities) })
        {
            var items = await _alpha.ListAllAsync(_partnership, mine, theirs, limit: 7);
            var ids = items.Select(i => i["recordId"]!.GetValue<string>()).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
            Assert.Equal(ids.Count, matrix.Cell(mine, theirs)!["count"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task EachSideSeesOnlyTheFieldsTheOtherSideShares()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await _alpha.ShareAsync(_alphaCustomers, "overlaps", "stage");

        var alphaView = await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers);
        Assert.NotEmpty(alphaView);
        foreach (var item in alphaView)
        {
            Assert.StartsWith("ACUS-", item["recordId"]!.GetValue<string>());
            Assert.NotNull(item["attributes"]!["owner"]); // my own attributes, all of them
            foreach (var match in item["matches"]!.AsArray())
                Assert.Equal(["accountName"], match!["fields"]!.AsObject().Select(f => f.Key));
        }
        var betaView = await _beta.ListAllAsync(_partnership, _betaCustomers, _alphaCustomers);
        Assert.NotEmpty(betaView);
        foreach (var match in betaView.SelectMany(i => i["matches"]!.AsArray()))
            Assert.Equal(["stage"], match!["fields"]!.AsObject().Select(f => f.Key));

        // Nothing in the lists carries the partner's record ids or its other attributes.
        var raw = await (await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?limit=1000")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("BCUS-", raw);
        Assert.DoesNotContain("@beta-cloud.example", raw);
    }

    [Fact]
    public async Task CsvExportHasOneRowPerMatchAndOnlyPermittedPartnerColumns()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName", "stage");
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}");
        request.Headers.Accept.ParseAdd("text/csv");
        var response = await _alpha.Http.SendAsync(request);
        await Expect(response, HttpStatusCode.OK);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("recordId,matchedOn,confidence,accountName,owner,stage,partner.accountName,partner.stage", lines[0]);
        var items = await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers);
        Assert.Equal(items.Sum(i => i["matches"]!.AsArray().Count), lines.Length - 1);
        Assert.DoesNotContain(lines, l => l.Contains("@beta-cloud.example"));
    }

    [Fact]
    public async Task CountsOnlySharingGivesCountsButNoList()
    {
        await _beta.ShareAsync(_betaCustomers, "counts");
        var matrix = await _alpha.MatrixAsync(_partnership);
        var cell = matrix.Cell(_alphaCustomers, _betaCustomers)!;
        Assert.Equal("counts", cell["level"]!.GetValue<string>());
        // A privacy-protected value (it used to be exact): shown when the noised count reaches the minimum, else withheld.
        Assert.True(cell["privacy"]!["protected"]!.GetValue<bool>());
        if (cell["count"] is { } count) Assert.True(count.GetValue<int>() >= 5);
        else Assert.Equal(5, cell["minimumCount"]!.GetValue<int>());
        var list = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}");
        await ExpectProblem(list, HttpStatusCode.Forbidden);
        var csv = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}?format=csv");
        await ExpectProblem(csv, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task PartnerPopulationOverrideAppliesToThatCellOnly()
    {
        await _beta.ShareAsync(_betaCustomers, "counts");
        // Beta can only single out an alpha population that alpha lets it see.
        var hiddenTarget = await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new
        {
            populations = new[] { new { populationId = _betaCustomers, overrides = new[] { new { partnerPopulationId = _alphaProspects, level = "overlaps" } } } },
        });
        var problem = await ExpectProblem(hiddenTarget, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["populations[0].overrides[0].partnerPopulationId"]);
        await _alpha.ShareAsync(_alphaProspects, "counts");

        var put = await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new
        {
            populations = new[]
            {
                new { populationId = _betaCustomers, level = (string?)null, fields = (string[]?)null, minimumCount = (int?)null,
                      overrides = new[] { new { partnerPopulationId = _alphaProspects, level = "overlaps", fields = new[] { "stage" }, minimumCount = (int?)null } } },
            },
        });
        await Expect(put, HttpStatusCode.OK);
        var matrix = await _alpha.MatrixAsync(_partnership);
        Assert.Equal("counts", matrix.Cell(_alphaCustomers, _betaCustomers)!["level"]!.GetValue<string>());
        Assert.Equal("overlaps", matrix.Cell(_alphaProspects, _betaCustomers)!["level"]!.GetValue<string>());
        Assert.NotEmpty(await _alpha.ListAllAsync(_partnership, _alphaProspects, _betaCustomers));
    }

    [Fact]
    public async Task APartnerHidingAPopulationCannotHaveTheOwnersRestrictionForItDroppedByTheOwnersNextSave()
    {
        // Beta shares its customers at overlaps, but hides them from alpha's customers (an override for that population).
        await _alpha.ShareAsync(_alphaCustomers, "counts");
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new
        {
            populations = new[] { new { populationId = _betaCustomers, overrides = new[] { new { partnerPopulationId = _alphaCustomers, level = "hidden" } } } },
        }), HttpStatusCode.OK);
        Assert.Null((await _alpha.MatrixAsync(_partnership)).Cell(_alphaCustomers, _betaCustomers));

        // Alpha (hostile) hides its customers from beta, then waits for beta's next save of its partnership rules: a
        // form shows only the partner populations visible now, so neither its save (a save listing no override) nor the
        // GET written back, as a client does, may drop the override beta set while it could see them.
        await _alpha.ShareAsync(_alphaCustomers, "hidden");
        var read = await Json(await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing"));
        var mine = read["mine"]!.AsArray().Single(m => m!["populationId"]!.GetValue<string>() == _betaCustomers)!;
        Assert.Equal(_alphaCustomers, Assert.Single(mine["overrides"]!.AsArray())!["partnerPopulationId"]!.GetValue<string>());
        var writtenBack = read["mine"]!.AsArray().Select(m => new
        {
            populationId = m!["populationId"]!.GetValue<string>(),
            overrides = m["overrides"]!.AsArray().Select(o => new { partnerPopulationId = o!["partnerPopulationId"]!.GetValue<string>(), level = o["level"]!.GetValue<string>() }).ToArray(),
        }).ToArray();
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new { populations = writtenBack }), HttpStatusCode.OK);
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new { populations = Array.Empty<object>() }), HttpStatusCode.OK);

        // Alpha shows its customers again: the cell is still hidden from it, as beta set it.
        await _alpha.ShareAsync(_alphaCustomers, "counts");
        Assert.Null((await _alpha.MatrixAsync(_partnership)).Cell(_alphaCustomers, _betaCustomers));
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}"), HttpStatusCode.NotFound);
        var again = await Json(await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing"));
        var kept = Assert.Single(again["mine"]!.AsArray().Single(m => m!["populationId"]!.GetValue<string>() == _betaCustomers)!["overrides"]!.AsArray())!;
        Assert.Equal((_alphaCustomers, "hidden"), (kept["partnerPopulationId"]!.GetValue<string>(), kept["level"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AnInheritedMinimumIsShownAsInheritedSoThatWritingTheRuleBackKeepsInheritingIt()
    {
        await _alpha.ShareAsync(_alphaCustomers, "counts");
        // 8, not the built-in 5: an inherited minimum must show the less specific rule's value, not the default.
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/populations/{_betaCustomers}/sharing", new { level = "counts", minimumCount = 8 }), HttpStatusCode.OK);
        await Expect(await _beta.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new
        {
            populations = new[] { new { populationId = _betaCustomers, level = "counts", overrides = new[] { new { partnerPopulationId = _alphaCustomers, level = "counts", minimumCount = 7 } } } },
        }), HttpStatusCode.OK);
        var read = await Json(await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing"));
        var mine = read["mine"]!.AsArray().Single(m => m!["populationId"]!.GetValue<string>() == _betaCustomers)!;
        Assert.Equal((8, true), (mine["partnership"]!["minimumCount"]!.GetValue<int>(), mine["partnership"]!["minimumCountInherited"]!.GetValue<bool>()));
        Assert.Equal((8, false), (mine["default"]!["minimumCount"]!.GetValue<int>(), mine["default"]!["minimumCountInherited"]!.GetValue<bool>()));
        var cellOverride = Assert.Single(mine["overrides"]!.AsArray())!;
        Assert.Equal((7, false), (cellOverride["minimumCount"]!.GetValue<int>(), cellOverride["minimumCountInherited"]!.GetValue<bool>()));
        var population = await Json(await _alpha.Http.GetAsync($"/v1/populations/{_alphaProspects}/sharing"));
        Assert.Equal((5, true), (population["minimumCount"]!.GetValue<int>(), population["minimumCountInherited"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task ChangingARuleTakesEffectOnTheVeryNextRequest()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        Assert.NotEmpty(await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers));
        await _beta.ShareAsync(_betaCustomers, "hidden");
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}"), HttpStatusCode.NotFound);
        var matrix = await _alpha.MatrixAsync(_partnership);
        Assert.DoesNotContain(matrix["partnerPopulations"]!.AsArray(), p => p!["id"]!.GetValue<string>() == _betaCustomers);
    }

    [Fact]
    public async Task AHiddenPopulationAnswersExactlyLikeOneThatDoesNotExist()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps");
        var hidden = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaOpportunities}");
        var missing = await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/pop_doesnotexist");
        var hiddenBody = await ExpectProblem(hidden, HttpStatusCode.NotFound);
        var missingBody = await ExpectProblem(missing, HttpStatusCode.NotFound);
        Assert.Equal(missingBody.ToJsonString(), hiddenBody.ToJsonString());

        var sharing = await Json(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing"));
        var theirs = sharing["theirs"]!.AsArray().Select(t => t!["populationId"]!.GetValue<string>()).ToList();
        Assert.Equal([_betaCustomers], theirs);
        var everything = await (await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/sharing")).Content.ReadAsStringAsync()
            + await (await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(_betaOpportunities, everything);
        Assert.DoesNotContain("Opportunities", everything);
    }

    [Fact]
    public async Task TerminatingThePartnershipStopsEveryReportAtOnce()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        Assert.NotEmpty(await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers));
        await Expect(await _beta.Http.PostAsync($"/v1/partnerships/{_partnership}/terminate", null), HttpStatusCode.OK);
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps"), HttpStatusCode.Conflict);
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}"), HttpStatusCode.Conflict);
        await ExpectProblem(await _beta.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps"), HttpStatusCode.Conflict);
        // Ended stays ended: it cannot be accepted again.
        await ExpectProblem(await _beta.Http.PostAsync($"/v1/partnerships/{_partnership}/accept", null), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AThirdOrganizationReachesNothingOfThePartnershipWhateverIdsItGuesses()
    {
        var gamma = await _app.SignupAsync("gamma");
        var gammaPopulation = await gamma.CreatePopulationAsync("Customers");
        await gamma.UploadOkAsync(gammaPopulation, PartnerData.Ndjson("alpha", "customers"));
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await gamma.PartnerAsync(_beta);

        var urls = new[]
        {
            $"/v1/partnerships/{_partnership}",
            $"/v1/partnerships/{_partnership}/sharing",
            $"/v1/partnerships/{_partnership}/overlaps",
            $"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{_betaCustomers}",
            $"/v1/partnerships/{_partnership}/overlaps/{gammaPopulation}/{_betaCustomers}",
            $"/v1/populations/{_alphaCustomers}",
            $"/v1/populations/{_betaCustomers}/sharing",
        };
        foreach (var url in urls) await ExpectProblem(await gamma.Http.GetAsync(url), HttpStatusCode.NotFound);
        foreach (var action in new[] { "accept", "decline", "terminate" })
            await ExpectProblem(await gamma.Http.PostAsync($"/v1/partnerships/{_partnership}/{action}", null), HttpStatusCode.NotFound);
        await ExpectProblem(await gamma.Http.UploadAsync(_alphaCustomers, Records.Range("X", 0, 1)), HttpStatusCode.NotFound);
        await ExpectProblem(await gamma.Http.PutAsJsonAsync($"/v1/populations/{_alphaCustomers}/sharing", new { level = "hidden" }), HttpStatusCode.NotFound);
        await ExpectProblem(await gamma.Http.PutAsJsonAsync($"/v1/partnerships/{_partnership}/sharing", new { populations = Array.Empty<object>() }), HttpStatusCode.NotFound);

        // Alpha cannot read through its own partnership with a population of a partnership it is not in, nor use its partner's population as its own.
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{gammaPopulation}/{_betaCustomers}"), HttpStatusCode.NotFound);
        await ExpectProblem(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_betaCustomers}/{_betaCustomers}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task EveryReleaseOfPartnerDataIsInAVerifiableAuditLog()
    {
        await _beta.ShareAsync(_betaCustomers, "overlaps", "accountName");
        await _alpha.ShareAsync(_alphaCustomers, "overlaps"); // beta may see alpha's population, and so how many of it a read released
        var items = await _alpha.ListAllAsync(_partnership, _alphaCustomers, _betaCustomers, limit: 1000);
        var betaLog = await Json(await _beta.Http.GetAsync("/v1/audit?limit=1000"));
        var release = betaLog["items"]!.AsArray().Last(e => e!["action"]!.GetValue<string>() == "overlaps.released")!;
        Assert.False(release["byMyOrganization"]!.GetValue<bool>());
        Assert.Equal(_partnership, release["partnershipId"]!.GetValue<string>());
        Assert.Equal(items.Count, release["detail"]!["rows"]!.GetValue<int>());
        Assert.Equal(_betaCustomers, release["detail"]!["myPopulationId"]!.GetValue<string>());
        // The partner's log shows its own population only, never the reader's (possibly hidden) population ids.
        Assert.DoesNotContain(_alphaCustomers, betaLog.ToJsonString());

        var verify = await Json(await _alpha.Http.GetAsync("/v1/audit/verify"));
        Assert.True(verify["valid"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AReadAgainstMyOneAccountProbeTellsMeNothingOfAPopulationThePartnerHidesFromMe()
    {
        // Beta uploads a probe of one account alpha may have and shares it at the overlaps level; alpha's Customers
        // population is hidden from beta (the default). When alpha reads its list Customers × probe, beta's audit view
        // must not say whether the account is in it (0 or 1 row), nor that the read happened (hidden is nonexistent).
        var account = JsonNode.Parse(PartnerData.Ndjson("alpha", "customers").Split('\n')[0])!.AsObject();
        account["recordId"] = "probe-1";
        var probe = await _beta.CreatePopulationAsync("Probe", "prospects");
        await _beta.UploadOkAsync(probe, account.ToJsonString() + "\n");
        await _beta.ShareAsync(probe, "overlaps");
        async Task<List<JsonNode>> ReadsBetaSeesAsync()
        {
            await Expect(await _alpha.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{_alphaCustomers}/{probe}"), HttpStatusCode.OK);
            var log = await Json(await _beta.Http.GetAsync("/v1/audit?limit=1000"));
            return log["items"]!.AsArray().Where(e => e!["action"]!.GetValue<string>() == "overlaps.released" && !e["byMyOrganization"]!.GetValue<bool>())
                .Select(e => e!).ToList();
        }

        Assert.Empty(await ReadsBetaSeesAsync());
        var own = (await Json(await _alpha.Http.GetAsync("/v1/audit?limit=1000")))["items"]!.AsArray()
            .Last(e => e!["action"]!.GetValue<string>() == "overlaps.released")!;
        var rows = own["detail"]!["rows"]!.GetValue<int>(); // alpha's own log keeps it all
        Assert.True(rows >= 1, "the probe's account is one of alpha's customers");
        Assert.Equal("hidden", own["detail"]!["sharedAs"]!.GetValue<string>());

        // Shown as counts: beta sees the read, not how many records it released (a count would bypass the noise).
        await _alpha.ShareAsync(_alphaCustomers, "counts");
        var atCounts = Assert.Single(await ReadsBetaSeesAsync());
        Assert.Equal(["fields", "format", "myPopulationId"], atCounts["detail"]!.AsObject().Select(p => p.Key).Order());
        Assert.Equal(probe, atCounts["detail"]!["myPopulationId"]!.GetValue<string>());

        // At the overlaps level beta sees which of its records overlap alpha's anyway: the number is shown.
        await _alpha.ShareAsync(_alphaCustomers, "overlaps");
        var atOverlaps = await ReadsBetaSeesAsync();
        Assert.Equal(2, atOverlaps.Count);
        Assert.Equal(rows, atOverlaps[^1]["detail"]!["rows"]!.GetValue<int>());
        Assert.DoesNotContain(_alphaCustomers, (await Json(await _beta.Http.GetAsync("/v1/audit?limit=1000"))).ToJsonString());
        Assert.True((await Json(await _beta.Http.GetAsync("/v1/audit/verify")))["valid"]!.GetValue<bool>());
    }
}
