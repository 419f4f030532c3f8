using System.Net;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Domain.Opportunities;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The documented fields of an opportunities population: validated on upload, never shown to a partner.</summary>
public sealed class OpportunityFieldsTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _alpha = null!, _beta = null!;

    public async Task InitializeAsync()
    {
        _alpha = await _app.SignupAsync("alpha");
        _beta = await _app.SignupAsync("beta");
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private static Records.Account Opp(string id, string domain, params (string Name, string Value)[] fields) =>
        new(id, Domain: domain, Attributes: fields.ToDictionary(f => f.Name, f => f.Value));

    [Fact]
    public void ThePartnerClientKnowsTheSameOpportunityFieldNamesAsTheEscrow()
    {
        Assert.Equal(OpportunityFields.All, OverlapEscrow.Client.Upload.OpportunityValues.Names);
    }

    [Fact]
    public async Task AMalformedOpportunityFieldIsARowErrorNamingTheFieldAndRowAndNothingIsStored()
    {
        var pipeline = await _alpha.CreatePopulationAsync("Pipeline", "opportunities");
        var body = Records.Ndjson([
            Opp("O-1", "a.example", ("amount", "12500.00"), ("currency", "USD"), ("created_date", "2026-01-05"), ("closed", "false")),
            Opp("O-2", "b.example", ("amount", "12,500")),
            Opp("O-3", "c.example", ("close_date", "31/03/2026")),
            Opp("O-4", "d.example", ("won", "yes")),
            Opp("O-5", "e.example", ("closed", "false"), ("won", "true")),
            Opp("O-6", "f.example", ("currency", "dollars")),
        ]);

        var problem = await ExpectProblem(await _alpha.Http.UploadAsync(pipeline, body), HttpStatusCode.UnprocessableEntity);

        Assert.Equal("urn:overlap-escrow:problem:upload-rows", problem["type"]!.GetValue<string>());
        var errors = problem["errors"]!.AsArray().Select(e => (Row: e!["row"]!.GetValue<long>(), Field: e["field"]?.GetValue<string>())).ToList();
        Assert.Equal([(2L, "attributes.amount"), (3L, "attributes.close_date"), (4L, "attributes.won"), (5L, "attributes.won"), (6L, "attributes.currency")], errors);
        Assert.DoesNotContain("12,500", problem.ToJsonString());
        Assert.DoesNotContain("31/03/2026", problem.ToJsonString());
        var population = await Json(await _alpha.Http.GetAsync($"/v1/populations/{pipeline}"));
        Assert.Null(population["currentVersionId"]);
    }

    [Fact]
    public async Task ACsvUploadIsCheckedTheSameWayWithTheHeaderCountedAsRowOne()
    {
        var pipeline = await _alpha.CreatePopulationAsync("Pipeline", "opportunities");
        var csv = Records.Csv([Opp("O-1", "a.example", ("amount", "10.5"), ("closed", "true")), Opp("O-2", "b.example", ("amount", "€10"), ("closed", "true"))],
            "amount", "closed");

        var problem = await ExpectProblem(await _alpha.Http.UploadAsync(pipeline, csv, "text/csv"), HttpStatusCode.UnprocessableEntity);

        Assert.Equal(3, problem["errors"]![0]!["row"]!.GetValue<long>());
        Assert.Equal("attributes.amount", problem["errors"]![0]!["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheSameNamesOnAnotherPopulationTypeAreFreeText()
    {
        var customers = await _alpha.CreatePopulationAsync("Customers");

        await _alpha.UploadOkAsync(customers, Records.Ndjson([Opp("C-1", "a.example", ("amount", "about 5k"), ("won", "yes"))]));
    }

    [Fact]
    public async Task APartnerNeverReadsTheOpportunityFieldsEvenWhenTheOwnerSharesThemAtTheOverlapsLevel()
    {
        var alphaCustomers = await _alpha.CreatePopulationAsync("Customers");
        var betaPipeline = await _beta.CreatePopulationAsync("Pipeline", "opportunities");
        await _alpha.UploadOkAsync(alphaCustomers, Records.Ndjson([new("C-1", Domain: "a.example"), new("C-2", Domain: "b.example")]));
        await _beta.UploadOkAsync(betaPipeline, Records.Ndjson([
            Opp("O-1", "a.example", ("accountName", "Acme"), ("amount", "987654.32"), ("currency", "USD"), ("stage", "Negotiation-Secret"),
                ("created_date", "2026-01-05"), ("close_date", "2026-02-05"), ("closed", "true"), ("won", "true"), ("owner", "rep@beta.example")),
            Opp("O-2", "b.example", ("accountName", "Bolt"), ("amount", "123456.78")),
        ]));
        await _beta.ShareAsync(betaPipeline, "overlaps", "accountName", "amount", "currency", "stage", "created_date", "close_date", "closed", "won", "owner");
        var partnership = await _alpha.PartnerAsync(_beta);

        var items = await _alpha.ListAllAsync(partnership, alphaCustomers, betaPipeline);
        Assert.Equal(2, items.Count);
        foreach (var match in items.SelectMany(i => i["matches"]!.AsArray()))
            Assert.Equal(["accountName"], match!["fields"]!.AsObject().Select(f => f.Key));

        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/partnerships/{partnership}/overlaps/{alphaCustomers}/{betaPipeline}");
        request.Headers.Accept.ParseAdd("text/csv");
        var response = await _alpha.Http.SendAsync(request);
        await Expect(response, HttpStatusCode.OK);
        var csv = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("recordId,matchedOn,confidence,partner.accountName\r\n", csv.TrimStart('\uFEFF'));
        var page = await (await _alpha.Http.GetAsync($"/v1/partnerships/{partnership}/overlaps/{alphaCustomers}/{betaPipeline}")).Content.ReadAsStringAsync();
        foreach (var secret in new[] { "987654", "123456", "Negotiation-Secret", "rep@beta.example", "2026-02-05" })
        {
            Assert.DoesNotContain(secret, csv);
            Assert.DoesNotContain(secret, page);
        }
    }
}
