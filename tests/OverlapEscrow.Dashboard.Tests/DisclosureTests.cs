using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>
/// Every main page, rendered as a member of another organization and as the partner, holds nothing outside what the
/// API lets that member see. "Permitted" is taken from the API itself (the lists it answers the same member), so a
/// page that showed more than the API would fail here.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DisclosureTests(DashboardWorld world)
{
    [Fact]
    public async Task AnotherOrganizationsMemberFindsNothingOfAlphaOrBetaOnAnyPageOrAtAnyOfTheirAddresses()
    {
        var forbidden = new Forbidden()
            .Add(world.Partnership, world.AlphaCustomers, world.AlphaProspects, world.BetaCustomers, world.BetaOpportunities)
            .Add("ACUS-", "APRO-", "BOPP-", "alpha Inc.", "beta Inc.", "@alpha.example", "@beta.example", "alpha-analytics.example")
            // Gamma uploaded a copy of beta's customers: those names are its own.
            .AddNames(PartnerData.Read("alpha", "customers"), PartnerData.Read("alpha", "prospects"), PartnerData.Read("beta", "opportunities"))
            .Except(PartnerData.Read("beta", "customers").Select(r => r.Name));

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Gamma));
        var own = PageTour.For("none", world.GammaCustomers, "none").Where(s => !s.Path.StartsWith("/partnerships/", StringComparison.Ordinal));
        await VisitAsync(page, own, forbidden, expectFound: true);
        await VisitAsync(page, PageTour.For(world.Partnership, world.AlphaCustomers, world.BetaCustomers)
            .Concat(PageTour.For(world.Partnership, world.BetaCustomers, world.AlphaCustomers))
            .Where(s => s.Path.Contains(world.Partnership, StringComparison.Ordinal) || s.Path.Contains("/populations/", StringComparison.Ordinal)),
            forbidden, expectFound: false);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ThePartnerSeesOnlyTheOverlapAndTheFieldsAlphaSharesOnEveryPageAndDownload()
    {
        // What the API releases to beta about alpha: the two cells' lists seen from beta's side.
        var permitted = await PermittedAsync(world.Beta, [(world.BetaCustomers, world.AlphaCustomers), (world.BetaOpportunities, world.AlphaCustomers)]);
        var forbidden = new Forbidden()
            .Add(world.AlphaCustomers + "/upload", world.AlphaCustomers + "/sharing", "ACUS-", "APRO-", "admin@alpha.example")
            .AddNames(PartnerData.Read("alpha", "customers"), PartnerData.Read("alpha", "prospects"))
            .Except(permitted)
            .Except(PartnerData.Read("beta", "customers").Concat(PartnerData.Read("beta", "opportunities")).Select(r => r.Name));

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        var stops = PageTour.For(world.Partnership, world.BetaCustomers, world.AlphaCustomers)
            .Append(new PageTour.Stop("opportunities-cell", $"/partnerships/{world.Partnership}/cells/{world.BetaOpportunities}/{world.AlphaCustomers}"))
            .Append(new PageTour.Stop("prospects-cell", $"/partnerships/{world.Partnership}/cells/{world.BetaCustomers}/{world.AlphaProspects}"));
        await VisitAsync(page, stops.Where(s => s.Name != "prospects-cell"), forbidden, expectFound: true);
        // Alpha's prospects are shared as counts only: no list of them, in any form.
        await VisitAsync(page, stops.Where(s => s.Name == "prospects-cell"), forbidden, expectFound: false);
        // Alpha's own pages, at their addresses, answer as if they did not exist.
        await VisitAsync(page, PageTour.For(world.Partnership, world.AlphaCustomers, world.BetaCustomers)
            .Where(s => s.Path.Contains(world.AlphaCustomers + "/", StringComparison.Ordinal) || s.Path.EndsWith(world.AlphaCustomers, StringComparison.Ordinal)),
            forbidden, expectFound: false);

        // The whole-cell CSV holds the same, no more.
        var csv = await page.APIRequest.GetAsync($"/partnerships/{world.Partnership}/cells/{world.BetaCustomers}/{world.AlphaCustomers}?handler=Csv");
        Assert.Equal(200, csv.Status);
        forbidden.AssertAbsent(await csv.TextAsync(), "the cell's CSV");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AlphaSeesNoneOfBetasCountsOnlyOpportunitiesAndNoRecordOutsideTheOverlap()
    {
        var permitted = await PermittedAsync(world.Alpha, [(world.AlphaCustomers, world.BetaCustomers), (world.AlphaProspects, world.BetaCustomers)]);
        var forbidden = new Forbidden()
            .Add("BCUS-", "BOPP-", "admin@beta.example")
            // The withheld cell is never linked to a list (its trend, released through the same function, may be).
            .Add($"cells/{world.AlphaCustomers}/{world.BetaOpportunities}\"", $"cells/{world.AlphaCustomers}/{world.BetaOpportunities}?")
            .AddNames(PartnerData.Read("beta", "customers"), PartnerData.Read("beta", "opportunities"))
            .Except(permitted)
            .Except(PartnerData.Read("alpha", "customers").Concat(PartnerData.Read("alpha", "prospects")).Select(r => r.Name));

        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await VisitAsync(page, PageTour.For(world.Partnership, world.AlphaCustomers, world.BetaCustomers)
            .Append(new PageTour.Stop("prospects-cell", $"/partnerships/{world.Partnership}/cells/{world.AlphaProspects}/{world.BetaCustomers}")),
            forbidden, expectFound: true);
        await VisitAsync(page, [new("withheld-cell", $"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaOpportunities}")], forbidden, expectFound: false);
        var csv = await page.APIRequest.GetAsync($"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}?handler=Csv");
        Assert.Equal(200, csv.Status);
        forbidden.AssertAbsent(await csv.TextAsync(), "the cell's CSV");
        await page.Context.CloseAsync();
    }

    private static async Task VisitAsync(IPage page, IEnumerable<PageTour.Stop> stops, Forbidden forbidden, bool expectFound)
    {
        foreach (var stop in stops)
        {
            var response = await page.GotoAsync(stop.Path);
            var status = response!.Status;
            if (expectFound) Assert.True(status == 200, $"{stop.Path} answered {status}");
            else Assert.True(status is 404 or 403, $"{stop.Path} answered {status}, not 404");
            forbidden.AssertAbsent(await page.ContentAsync(), stop.Path);
        }
    }

    /// <summary>Every string value in the lists the API gives this organization for these cells.</summary>
    private async Task<List<string>> PermittedAsync(Org org, (string Mine, string Theirs)[] cells)
    {
        var values = new List<string>();
        foreach (var (mine, theirs) in cells)
        {
            var response = await org.Http.GetAsync($"/v1/partnerships/{world.Partnership}/overlaps/{mine}/{theirs}?limit=1");
            if (response.StatusCode != HttpStatusCode.OK) continue; // counts only or withheld: no list, nothing permitted
            foreach (var item in await org.ListAllAsync(world.Partnership, mine, theirs)) Collect(item, values);
        }
        return values;

        static void Collect(JsonNode? node, List<string> into)
        {
            switch (node)
            {
                case JsonObject o: foreach (var (_, v) in o) Collect(v, into); break;
                case JsonArray a: foreach (var v in a) Collect(v, into); break;
                case JsonValue v when v.TryGetValue<string>(out var s): into.Add(s); break;
            }
        }
    }

    /// <summary>Strings that must not appear in a page, raw or HTML-encoded; case-insensitive.</summary>
    private sealed class Forbidden
    {
        private readonly HashSet<string> _tokens = new(StringComparer.OrdinalIgnoreCase);

        public Forbidden Add(params string[] tokens)
        {
            foreach (var t in tokens) _tokens.Add(t);
            return this;
        }

        /// <summary>Account names distinctive enough to search for (short or common words would match page text).</summary>
        public Forbidden AddNames(params List<PartnerData.Row>[] rows)
        {
            foreach (var r in rows.SelectMany(x => x))
            {
                var name = r.Name.Trim();
                if (name.Length >= 8) _tokens.Add(name);
            }
            return this;
        }

        /// <summary>Drops every token contained in a permitted value (the viewer's own data, or what the API releases).</summary>
        public Forbidden Except(IEnumerable<string> permitted)
        {
            var list = permitted.ToList();
            _tokens.RemoveWhere(t => list.Any(p => p.Contains(t, StringComparison.OrdinalIgnoreCase)));
            return this;
        }

        public void AssertAbsent(string html, string where)
        {
            Assert.True(_tokens.Count > 10 || _tokens.Any(t => t.EndsWith('-')), "the forbidden list is too thin to test anything");
            var encoded = HtmlEncoder.Default;
            var found = _tokens.Where(t => html.Contains(t, StringComparison.OrdinalIgnoreCase) || html.Contains(encoded.Encode(t), StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(found.Count == 0, $"{where} shows {string.Join(", ", found.Take(10))}");
        }
    }
}
