using System.Net;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The partnership lifecycle, and counts that must not become a membership oracle.</summary>
[Trait("AlsoOn", "postgres")]
public sealed class PartnershipTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new() { RandomSeed = 9 };
    private Org _a = null!, _b = null!;

    public async Task InitializeAsync()
    {
        _a = await _app.SignupAsync("org-a");
        _b = await _app.SignupAsync("org-b");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task OnlyTheInvitedOrganizationAnswersAndOnlyOnce()
    {
        var invite = await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-b" });
        await Expect(invite, HttpStatusCode.Created);
        var id = (await Json(invite))["id"]!.GetValue<string>();
        Assert.Equal("invitee", (await Json(await _b.Http.GetAsync($"/v1/partnerships/{id}")))["role"]!.GetValue<string>());

        await ExpectProblem(await _a.Http.PostAsync($"/v1/partnerships/{id}/accept", null), HttpStatusCode.Conflict);
        await ExpectProblem(await _a.Http.GetAsync($"/v1/partnerships/{id}/overlaps"), HttpStatusCode.Conflict);
        await ExpectProblem(await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-b" }), HttpStatusCode.Conflict);
        await ExpectProblem(await _b.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-a" }), HttpStatusCode.Conflict);

        var declined = await Json(await _b.Http.PostAsync($"/v1/partnerships/{id}/decline", null));
        Assert.Equal("declined", declined["status"]!.GetValue<string>());
        await ExpectProblem(await _b.Http.PostAsync($"/v1/partnerships/{id}/accept", null), HttpStatusCode.Conflict);
        // A declined invitation does not block a new one.
        await Expect(await _b.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-a" }), HttpStatusCode.Created);
    }

    [Fact]
    public async Task InvitationsNeedAnExistingOtherOrganization()
    {
        var self = await ExpectProblem(await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-a" }), HttpStatusCode.BadRequest);
        Assert.NotNull(self["errors"]!["partnerSlug"]);
        await ExpectProblem(await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "no-such-org" }), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TerminatedPartnershipsCannotChangeTheirSharing()
    {
        var id = await _a.PartnerAsync(_b);
        await Expect(await _a.Http.PostAsync($"/v1/partnerships/{id}/terminate", null), HttpStatusCode.OK);
        await ExpectProblem(await _a.Http.PostAsync($"/v1/partnerships/{id}/terminate", null), HttpStatusCode.Conflict);
        await ExpectProblem(await _a.Http.PutAsJsonAsync($"/v1/partnerships/{id}/sharing", new { populations = Array.Empty<object>() }), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ACountsOnlyPopulationIsNoMembershipOracleForASingleAccount()
    {
        // Before privacy-protected counts, this test read "fewer than 5" for a one-account probe whether or not the
        // account was B's, and then an exact 7 for seven accounts: exact counts, which a probe padded with four known
        // accounts turns into a membership test. Now every counts-level value is a noised release, drawn once for the
        // data of both sides and reused; a second probe within the refresh interval gets no fresh value to compare.
        var bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(bCustomers, Records.Range("B", 0, 100));
        await _b.ShareAsync(bCustomers, "counts");
        var probe = await _a.CreatePopulationAsync("Probe");
        await _a.UploadOkAsync(probe, Records.Range("A", 42, 1)); // an account B has
        var id = await _a.PartnerAsync(_b);

        var present = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        var privacy = present["privacy"]!;
        Assert.True(privacy["protected"]!.GetValue<bool>());
        Assert.Equal(115, privacy["marginOfError"]!.GetValue<int>());
        Assert.Equal(0.9, privacy["confidence"]!.GetValue<double>());
        Assert.Equal("current", privacy["state"]!.GetValue<string>());
        var releasedAt = privacy["releasedAt"]!.GetValue<DateTimeOffset>();
        Assert.Equal(releasedAt.AddDays(7), privacy["refreshesAt"]!.GetValue<DateTimeOffset>());
        // Reading again returns the stored value: nothing to average.
        Assert.Equal(present.ToJsonString(), (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!.ToJsonString());

        await _a.UploadOkAsync(probe, Records.Range("A", 500, 1)); // an account B does not have
        var absent = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        Assert.Equal(present["count"]?.ToJsonString(), absent["count"]?.ToJsonString());
        Assert.Equal(present["minimumCount"]?.ToJsonString(), absent["minimumCount"]?.ToJsonString());
        Assert.Equal(releasedAt, absent["privacy"]!["releasedAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("data_changed", absent["privacy"]!["state"]!.GetValue<string>());

        // B paid for one release from its budget with A.
        var budget = (await _b.PrivacyAsync(id))["budget"]!;
        Assert.Equal(0.02m, budget["spent"]!.GetValue<decimal>());
        Assert.Equal(1, budget["releases"]!.GetValue<int>());

        // The owner can raise the minimum: it applies to the stored value at once.
        await Expect(await _b.Http.PutAsJsonAsync($"/v1/populations/{bCustomers}/sharing", new { level = "counts", minimumCount = 10 }), HttpStatusCode.OK);
        var raised = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        if (raised["count"] is { } count) Assert.True(count.GetValue<int>() >= 10);
        else Assert.Equal(10, raised["minimumCount"]!.GetValue<int>());
        Assert.Equal(1, (await _b.PrivacyAsync(id))["budget"]!["releases"]!.GetValue<int>());
    }

    [Fact]
    public async Task SharingSettingsAreValidated()
    {
        var population = await _b.CreatePopulationAsync("Customers");
        var bad = await ExpectProblem(await _b.Http.PutAsJsonAsync($"/v1/populations/{population}/sharing", new { level = "everything", fields = new[] { "x" } }), HttpStatusCode.BadRequest);
        Assert.NotNull(bad["errors"]!["$.level"]);
        var fieldsAtCounts = await ExpectProblem(await _b.Http.PutAsJsonAsync($"/v1/populations/{population}/sharing", new { level = "counts", fields = new[] { "owner" } }), HttpStatusCode.BadRequest);
        Assert.NotNull(fieldsAtCounts["errors"]!["$.fields"]);
        await ExpectProblem(await _b.Http.PutAsJsonAsync($"/v1/populations/{population}/sharing", new { level = "counts", minimumCount = 0 }), HttpStatusCode.BadRequest);
        var id = await _a.PartnerAsync(_b);
        var notMine = await ExpectProblem(await _a.Http.PutAsJsonAsync($"/v1/partnerships/{id}/sharing", new { populations = new[] { new { populationId = population, level = "overlaps" } } }), HttpStatusCode.BadRequest);
        Assert.NotNull(notMine["errors"]!["populations[0].populationId"]);
        // null where an entry or an override belongs: a 400 naming it, not a 500.
        var mine = await _a.CreatePopulationAsync("Mine");
        Assert.NotNull((await ExpectProblem(await _a.Http.PutAsync($"/v1/partnerships/{id}/sharing",
            new StringContent("""{"populations":[null]}""", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest))["errors"]!["populations[0]"]);
        Assert.NotNull((await ExpectProblem(await _a.Http.PutAsync($"/v1/partnerships/{id}/sharing",
            new StringContent($$"""{"populations":[{"populationId":"{{mine}}","level":"counts","overrides":[null]}]}""", System.Text.Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest))["errors"]!["populations[0].overrides[0]"]);
    }

    [Fact]
    public async Task OneAccountUploadedFiveTimesCountsOnce()
    {
        // The released count is bounded per owner account (a maximum matching of both sides' overlapping records):
        // five copies of one of B's accounts and four other accounts count 5, not 9, and the copies alone stay below
        // the minimum. Noise is made negligible here (ε = 10) to see what is counted; before, this test relied on
        // the exact owner-side count gating the minimum.
        var bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(bCustomers, Records.Range("B", 0, 100));
        await _b.ShareAsync(bCustomers, "counts");
        var probe = await _a.CreatePopulationAsync("Probe");
        var id = await _a.PartnerAsync(_b);
        await _b.NearlyExactAsync(id);
        var copies = Enumerable.Range(0, 5).Select(i => new Records.Account($"copy-{i}", Domain: "d42.example")).ToList();

        await _a.UploadOkAsync(probe, Records.Ndjson(copies));
        var cell = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        Assert.Null(cell["count"]);
        Assert.Equal(5, cell["minimumCount"]!.GetValue<int>());

        await _a.UploadOkAsync(probe, Records.Ndjson(copies.Concat(Enumerable.Range(0, 4).Select(i => new Records.Account($"other-{i}", Domain: $"d{i}.example")))));
        Assert.Equal(5, (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task AnInvitationRevealsNothingOfThePartnersPopulations()
    {
        var bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.ShareAsync(bCustomers, "overlaps", "owner");
        var invite = await _a.Http.PostAsJsonAsync("/v1/partnerships", new { partnerSlug = "org-b" });
        var id = (await Json(invite))["id"]!.GetValue<string>();
        var sharing = await (await _a.Http.GetAsync($"/v1/partnerships/{id}/sharing")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(bCustomers, sharing);
        Assert.DoesNotContain("Customers", sharing);
        await Expect(await _b.Http.PostAsync($"/v1/partnerships/{id}/accept", null), HttpStatusCode.OK);
        Assert.Contains(bCustomers, await (await _a.Http.GetAsync($"/v1/partnerships/{id}/sharing")).Content.ReadAsStringAsync());
        await Expect(await _a.Http.PostAsync($"/v1/partnerships/{id}/terminate", null), HttpStatusCode.OK);
        Assert.DoesNotContain(bCustomers, await (await _a.Http.GetAsync($"/v1/partnerships/{id}/sharing")).Content.ReadAsStringAsync());
    }
}
