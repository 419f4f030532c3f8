using System.Net;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The partnership lifecycle, and counts that must not become a membership oracle.</summary>
public sealed class PartnershipTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
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
        var bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(bCustomers, Records.Range("B", 0, 100));
        await _b.ShareAsync(bCustomers, "counts");
        var probe = await _a.CreatePopulationAsync("Probe");
        var id = await _a.PartnerAsync(_b);

        // One account that is in B's list, then one that is not: both read "fewer than 5".
        await _a.UploadOkAsync(probe, Records.Range("A", 42, 1));
        var present = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        await _a.UploadOkAsync(probe, Records.Range("A", 500, 1));
        var absent = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        Assert.Equal(present.ToJsonString(), absent.ToJsonString());
        Assert.Null(present["count"]);
        Assert.Equal(5, present["minimumCount"]!.GetValue<int>());

        await _a.UploadOkAsync(probe, Records.Range("A", 0, 7));
        Assert.Equal(7, (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!["count"]!.GetValue<int>());

        // The owner can raise the minimum.
        await Expect(await _b.Http.PutAsJsonAsync($"/v1/populations/{bCustomers}/sharing", new { level = "counts", minimumCount = 10 }), HttpStatusCode.OK);
        var raised = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        Assert.Null(raised["count"]);
        Assert.Equal(10, raised["minimumCount"]!.GetValue<int>());
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
    }

    [Fact]
    public async Task UploadingOneAccountFiveTimesDoesNotReachTheMinimum()
    {
        var bCustomers = await _b.CreatePopulationAsync("Customers");
        await _b.UploadOkAsync(bCustomers, Records.Range("B", 0, 100));
        await _b.ShareAsync(bCustomers, "counts");
        var probe = await _a.CreatePopulationAsync("Probe");
        var id = await _a.PartnerAsync(_b);
        var copies = Records.Ndjson(Enumerable.Range(0, 5).Select(i => new Records.Account($"copy-{i}", Domain: "d42.example")));
        await _a.UploadOkAsync(probe, copies);
        var cell = (await _a.MatrixAsync(id)).Cell(probe, bCustomers)!;
        Assert.Null(cell["count"]);
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
