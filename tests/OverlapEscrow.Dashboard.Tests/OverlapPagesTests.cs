using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Dashboard.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Dashboard.Tests;

/// <summary>The matrix and a cell's account list in the browser show what the API answers the same member, no more.</summary>
[Collection(DashboardCollection.Name)]
public sealed class OverlapPagesTests(DashboardWorld world)
{
    [Fact]
    public async Task TheMatrixShowsEachCellAsTheApiReleasesItAndMarksWithheldCells()
    {
        var api = await world.MatrixAsync(world.Alpha);
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        await page.GotoAsync($"/partnerships/{world.Partnership}");

        var released = api.Cell(world.AlphaCustomers, world.BetaCustomers)!["count"]!.GetValue<int>();
        var cell = page.Locator($"a.count[href='/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}']");
        await Assertions.Expect(cell).ToHaveTextAsync(released.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        // Beta's opportunities are counts only with a minimum no cell reaches: withheld, and never a number.
        var withheld = api.Cell(world.AlphaCustomers, world.BetaOpportunities)!;
        Assert.Null(withheld["count"]);
        var row = page.Locator("table.matrix tbody tr").Filter(new() { HasText = "Customers" }).First;
        await Assertions.Expect(row.Locator("td").Nth(1)).ToContainTextAsync("Fewer than 100000");
        await Assertions.Expect(row.Locator("td").Nth(1)).ToContainTextAsync("withheld");
        // A counts-level cell is marked protected exactly when the API says its value is noised.
        var isProtected = withheld["privacy"]?["protected"]?.GetValue<bool>() == true;
        await Assertions.Expect(row.Locator("td").Nth(1).Locator(".badge.privacy")).ToHaveCountAsync(isProtected ? 1 : 0);
        Assert.True(isProtected, "the default counts level is privacy-protected");
        // An overlaps-level cell is exact and never marked.
        await Assertions.Expect(row.Locator("td").Nth(0).Locator(".badge.privacy")).ToHaveCountAsync(0);
        // Freshness: when the partner's data was last updated.
        await Assertions.Expect(page.Locator("table.matrix thead")).ToContainTextAsync("data of ");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ACellWhoseDataNoKeyOpensReadsCannotBeReadAndTheOthersStillShowTheirCounts()
    {
        // Two organizations of their own: what is done to one's stored data here must not reach the shared world.
        var mine = await world.App.SignupAsync("unreadable-mine");
        var theirs = await world.App.SignupAsync("unreadable-theirs");
        var myCustomers = await mine.CreatePopulationAsync("Customers");
        var theirGood = await theirs.CreatePopulationAsync("Readable Accounts");
        var theirBad = await theirs.CreatePopulationAsync("Damaged Accounts");
        await mine.UploadOkAsync(myCustomers, PartnerData.Ndjson("alpha", "customers"));
        await theirs.UploadOkAsync(theirGood, PartnerData.Ndjson("beta", "customers"));
        await theirs.UploadOkAsync(theirBad, PartnerData.Ndjson("beta", "customers"));
        await mine.ShareAsync(myCustomers, "overlaps");
        await theirs.ShareAsync(theirGood, "overlaps");
        await theirs.ShareAsync(theirBad, "overlaps");
        var partnership = await mine.PartnerAsync(theirs);
        await world.App.RefreshedAsync(); // the refresher loads nothing more after the bytes below change

        // What a database restored from before a finished data-key rotation holds: ciphertext no key the escrow has opens
        // (AES-GCM refuses it, as it refuses these altered bytes), and nothing of it in memory.
        string version;
        using (var db = world.App.OpenDatabase())
        {
            version = Dapper.SqlMapper.ExecuteScalar<string>(db, "SELECT current_version_id FROM populations WHERE id = @theirBad", new { theirBad })!;
            Assert.True(Dapper.SqlMapper.Execute(db, "UPDATE version_columns SET data = randomblob(length(data)) WHERE version_id = @version", new { version }) > 0);
        }
        world.App.Services.GetRequiredService<OverlapEscrow.Application.Overlaps.PopulationDataCache>().Forget([version]);

        var api = await mine.MatrixAsync(partnership);
        Assert.True(api.Cell(myCustomers, theirBad)!["unreadable"]!.GetValue<bool>());
        var readable = api.Cell(myCustomers, theirGood)!["count"]!.GetValue<int>();
        Assert.True(readable > 0);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(mine));
        await page.GotoAsync($"/partnerships/{partnership}");
        var row = page.Locator("table.matrix tbody tr").Filter(new() { HasText = "Customers" }).First;
        var columns = await page.Locator("table.matrix thead th").AllInnerTextsAsync();
        var bad = columns.ToList().FindIndex(c => c.Contains("Damaged Accounts", StringComparison.Ordinal));
        var good = columns.ToList().FindIndex(c => c.Contains("Readable Accounts", StringComparison.Ordinal));
        Assert.True(bad > 0 && good > 0, string.Join(" | ", columns));
        // The row's first cell is its header: the n-th column's cell is the row's (n - 1)-th td.
        await Assertions.Expect(row.Locator("td").Nth(bad - 1)).ToContainTextAsync("Cannot be read");
        await Assertions.Expect(row.Locator("td").Nth(bad - 1).Locator(".badge")).ToContainTextAsync("unreadable");
        await Assertions.Expect(row.Locator("td").Nth(bad - 1).Locator("a.count")).ToHaveCountAsync(0);
        await Assertions.Expect(row.Locator("td").Nth(good - 1).Locator("a.count"))
            .ToHaveTextAsync(readable.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AValueThatIsNotOfItsTypeAnswers400NamingItAndNewSinceOffersItsFormOnlyForACellIMayRead()
    {
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var basePath = $"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}";
        // Each showed page 1 with 200, as if the value had not been given.
        foreach (var (query, field) in new[] { ("p=abc", "p"), ("p=99999999999", "p"), ("size=abc", "size"), ("dir=sideways", "dir") })
        {
            var refused = await page.APIRequest.GetAsync(basePath + "?" + query);
            Assert.True(refused.Status == 400, $"{query}: {refused.Status}");
            Assert.Contains($"{field} is", await refused.TextAsync());
        }
        Assert.Equal(200, (await page.APIRequest.GetAsync(basePath + "?p=1&size=25&dir=desc")).Status); // the control
        foreach (var after in new[] { "abc", "99999999999999999999" })
            Assert.Equal(400, (await page.APIRequest.GetAsync("/admin/audit?after=" + after)).Status);
        Assert.Equal(200, (await page.APIRequest.GetAsync("/admin/audit")).Status);

        // New since: a cell that does not exist for me, or one shared as counts only, answers as its list does, form or not.
        foreach (var (theirs, status) in new[] { ("nonsense", 404), ("pop_0000000000000000000000000000", 404), (world.BetaOpportunities, 403) })
        {
            var list = await page.APIRequest.GetAsync($"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{theirs}");
            var form = await page.APIRequest.GetAsync($"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{theirs}/new");
            Assert.Equal((status, status), (list.Status, form.Status));
        }
        Assert.Equal(200, (await page.APIRequest.GetAsync(basePath + "/new")).Status);
        // The times the API and webhooks write (ISO 8601 with an offset) are taken as the form's own.
        var now = DateTimeOffset.UtcNow;
        foreach (var since in new[] { now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                     now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'+00:00'", System.Globalization.CultureInfo.InvariantCulture),
                     now.ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture) })
        {
            var answer = await page.APIRequest.GetAsync(basePath + "/new?since=" + Uri.EscapeDataString(since));
            Assert.True(answer.Status == 200, $"{since}: {answer.Status}");
        }
        Assert.Equal(400, (await page.APIRequest.GetAsync(basePath + "/new?since=yesterday")).Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ACellsListPagesSortsAndFiltersByMyAttributesAndItsCsvIsTheApisExport()
    {
        var all = await world.Alpha.ListAllAsync(world.Partnership, world.AlphaCustomers, world.BetaCustomers);
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var basePath = $"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}";
        await page.GotoAsync(basePath + "?size=25");
        var pages = (all.Count + 24) / 25;
        await Assertions.Expect(page.Locator("p.count-line")).ToContainTextAsync($"Page 1 of {pages}");
        // Each match shows its confidence as the API labels it (the first page: the records in id order).
        var confidences = all.OrderBy(i => i["recordId"]!.GetValue<string>(), StringComparer.Ordinal).Take(25)
            .SelectMany(i => i["matches"]!.AsArray().Select(m => m!["confidence"]!.GetValue<string>())).ToList();
        Assert.Equal(confidences, await page.Locator("table.accounts tbody td.matched-on .confidence").AllInnerTextsAsync());

        // Paging: every page in turn, by its "Next page" link, gives each overlapping record exactly once.
        var seen = new List<string>();
        for (var n = 1; n <= pages; n++)
        {
            var ids = await page.Locator("table.accounts tbody th[scope=row]").AllInnerTextsAsync();
            Assert.True(ids.Count is > 0 and <= 25);
            seen.AddRange(ids.Select(i => i.Split('\n')[0].Trim()));
            if (n == pages) break;
            await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
            await Assertions.Expect(page.Locator("p.count-line")).ToContainTextAsync($"Page {n + 1} of {pages}");
        }
        Assert.Equal(all.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

        // Sorting by one of my attributes, descending (second click).
        await page.GotoAsync(basePath + "?size=250");
        await page.Locator("table.accounts thead").GetByRole(AriaRole.Link, new() { Name = "owner", Exact = true }).ClickAsync();
        await page.Locator("table.accounts thead").GetByRole(AriaRole.Link, new() { Name = "owner", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("th[aria-sort=descending]")).ToContainTextAsync("owner");
        var owners = await page.Locator("table.accounts tbody tr.first-match td:nth-of-type(2)").AllInnerTextsAsync();
        Assert.Equal(owners.OrderByDescending(o => o, StringComparer.OrdinalIgnoreCase), owners);

        // Filtering by one of my attributes.
        await page.GetByLabel("Filter on your attribute").SelectOptionAsync("stage");
        await page.GetByLabel("contains").FillAsync("Proposal");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        var expected = all.Count(i => i["attributes"]!["stage"]?.GetValue<string>().Contains("Proposal", StringComparison.OrdinalIgnoreCase) == true);
        await Assertions.Expect(page.Locator("p.count-line")).ToContainTextAsync($"{expected} match the filter");

        // The CSV download holds the whole cell: byte for byte what the API's export gives the same organization.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Download all as CSV" }).ClickAsync());
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        var apiCsv = await world.Alpha.Http.GetStringAsync($"/v1/partnerships/{world.Partnership}/overlaps/{world.AlphaCustomers}/{world.BetaCustomers}?format=csv");
        Assert.Equal(apiCsv, csv);
        Assert.StartsWith("recordId,matchedOn", csv.TrimStart('\uFEFF'));
        Assert.Equal(all.Sum(i => i["matches"]!.AsArray().Count) + 1, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ACellsListRefusesToSortByAnAttributeItsRecordsDoNotCarry()
    {
        // Each sort order is kept beside the cached overlap: a name none of my records carries would only fill memory.
        var page = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var response = await page.GotoAsync($"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}?sort=noSuchAttribute");
        Assert.Equal(400, response!.Status);
        Assert.Contains("sort names one of your attributes in this cell.", await page.ContentAsync());
        await Assertions.Expect(page.Locator("table.accounts")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ASharingChangeSavedByThePartnerIsSeenOnMyNextPageLoad()
    {
        var alpha = await world.SignInAsync(DashboardWorld.AdminOf(world.Alpha));
        var cellPath = $"/partnerships/{world.Partnership}/cells/{world.AlphaCustomers}/{world.BetaCustomers}";
        await alpha.GotoAsync(cellPath);
        await Assertions.Expect(alpha.Locator("table.accounts thead")).ToContainTextAsync("beta Inc.: stage");

        var beta = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        try
        {
            await beta.GotoAsync($"/populations/{world.BetaCustomers}/sharing");
            await beta.GetByLabel("stage").UncheckAsync();
            await beta.GetByRole(AriaRole.Button, new() { Name = "Preview what partners would see" }).ClickAsync();
            // The preview names what alpha would receive, from beta's own records, before anything is saved.
            await Assertions.Expect(beta.Locator("section.preview")).ToContainTextAsync("with your accountName");
            await alpha.ReloadAsync();
            await Assertions.Expect(alpha.Locator("table.accounts thead")).ToContainTextAsync("beta Inc.: stage");

            await beta.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
            await Assertions.Expect(beta.Locator(".notice")).ToContainTextAsync("Saved");
            await alpha.ReloadAsync();
            await Assertions.Expect(alpha.Locator("table.accounts thead")).Not.ToContainTextAsync("beta Inc.: stage");
            await Assertions.Expect(alpha.Locator("table.accounts thead")).ToContainTextAsync("beta Inc.: accountName");
        }
        finally
        {
            await world.Beta.ShareAsync(world.BetaCustomers, "overlaps", "accountName", "stage");
            await alpha.Context.CloseAsync();
            await beta.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task BadInputInASharingFormIsShownNextToTheFieldAndChangesNothing()
    {
        var before = await world.Beta.Http.GetStringAsync($"/v1/populations/{world.BetaCustomers}/sharing");
        var beta = await world.SignInAsync(DashboardWorld.AdminOf(world.Beta));
        await beta.GotoAsync($"/populations/{world.BetaCustomers}/sharing");
        await beta.GetByLabel("Minimum reportable count").FillAsync("0");
        await beta.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(beta.Locator("#rule-min")).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(beta.Locator(".field-error").First).ToContainTextAsync("minimumCount is between 1 and 1000000");
        Assert.Equal(before, await world.Beta.Http.GetStringAsync($"/v1/populations/{world.BetaCustomers}/sharing"));
        await beta.Context.CloseAsync();
    }

    [Fact]
    public async Task SavingThePartnershipSharingPageUnchangedKeepsInheritedMinimumsInheritedAndShowsWhyASaveIsRefused()
    {
        // Two organizations of its own: the shared world's rules stay as they are.
        var zeta = await world.App.SignupAsync("zeta");
        var eta = await world.App.SignupAsync("eta");
        var mine = await zeta.CreatePopulationAsync("Installed base");
        var theirs = await eta.CreatePopulationAsync("Accounts");
        var leads = await eta.CreatePopulationAsync("Leads", "prospects");
        await eta.ShareAsync(theirs, "counts");
        await eta.ShareAsync(leads, "counts");
        var partnership = await zeta.PartnerAsync(eta);
        await Expect(await zeta.Http.PutAsJsonAsync($"/v1/populations/{mine}/sharing", new { level = "counts", minimumCount = 5 }), HttpStatusCode.OK);
        await Expect(await zeta.Http.PutAsJsonAsync($"/v1/partnerships/{partnership}/sharing", new
        {
            populations = new[] { new { populationId = mine, level = "counts", overrides = new[] { new { partnerPopulationId = theirs, level = "counts" } } } },
        }), HttpStatusCode.OK);

        var page = await world.SignInAsync(DashboardWorld.AdminOf(zeta));
        await page.GotoAsync($"/partnerships/{partnership}/sharing");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Saved");
        // Raising the population's default minimum still reaches this partner: the no-op save pinned nothing (it saved 5).
        await Expect(await zeta.Http.PutAsJsonAsync($"/v1/populations/{mine}/sharing", new { level = "counts", minimumCount = 50 }), HttpStatusCode.OK);
        var rules = (await Json(await zeta.Http.GetAsync($"/v1/partnerships/{partnership}/sharing")))["mine"]!.AsArray().Single()!;
        Assert.Equal((50, true), (rules["partnership"]!["minimumCount"]!.GetValue<int>(), rules["partnership"]!["minimumCountInherited"]!.GetValue<bool>()));
        var cell = rules["overrides"]!.AsArray().Single()!;
        Assert.Equal((50, true), (cell["minimumCount"]!.GetValue<int>(), cell["minimumCountInherited"]!.GetValue<bool>()));

        // The partner hides a population while the form is open, one zeta has no rule for yet: the save is refused with
        // the reason shown (it was a 400 with no message), and nothing changes.
        await page.GotoAsync($"/partnerships/{partnership}/sharing");
        await page.Locator("fieldset.rule").Filter(new() { HasText = "Only when compared with their Leads" }).GetByLabel("Level").SelectOptionAsync("hidden");
        await eta.ShareAsync(leads, "hidden");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("p.field-error[role=alert]")).ToContainTextAsync("Not a partner population visible to you.");
        Assert.Single((await Json(await zeta.Http.GetAsync($"/v1/partnerships/{partnership}/sharing")))["mine"]!.AsArray().Single()!["overrides"]!.AsArray());

        // The partner hides Accounts while the page loads (its override is not drawn) and shows it again before Save: the
        // save still keeps the override (it was dropped: the form did not post it, and the population was visible again).
        await eta.ShareAsync(theirs, "hidden");
        await page.GotoAsync($"/partnerships/{partnership}/sharing");
        await Assertions.Expect(page.Locator("fieldset.rule").Filter(new() { HasText = "Only when compared with their Accounts" })).ToHaveCountAsync(0);
        await eta.ShareAsync(theirs, "counts");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator(".notice")).ToContainTextAsync("Saved");
        var kept = Assert.Single((await Json(await zeta.Http.GetAsync($"/v1/partnerships/{partnership}/sharing")))["mine"]!.AsArray().Single()!["overrides"]!.AsArray())!;
        Assert.Equal((theirs, "counts", true), (kept["partnerPopulationId"]!.GetValue<string>(), kept["level"]!.GetValue<string>(), kept["minimumCountInherited"]!.GetValue<bool>()));
        await page.Context.CloseAsync();
    }
}
