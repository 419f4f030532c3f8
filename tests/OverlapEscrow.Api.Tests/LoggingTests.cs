using System.Net;
using System.Net.Http.Json;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

public sealed class LoggingTests
{
    [Fact]
    public async Task LogsCarryNoPartnerDataSecretsOrStackTraces()
    {
        using var app = new EscrowApp();
        var alpha = await app.SignupAsync("log-alpha");
        var beta = await app.SignupAsync("log-beta");
        var mine = await alpha.CreatePopulationAsync("Customers");
        var theirs = await beta.CreatePopulationAsync("Customers");
        var accounts = Enumerable.Range(0, 30).Select(i => new Records.Account($"SECRET-ID-{i}", Domain: $"confidential{i}.example",
            Attributes: new() { ["accountName"] = $"Confidential Account {i}" })).ToList();
        await alpha.UploadOkAsync(mine, Records.Ndjson(accounts));
        await beta.UploadOkAsync(theirs, Records.Ndjson(accounts.Select(a => a with { RecordId = "PARTNER-" + a.RecordId })));
        await beta.ShareAsync(theirs, "overlaps", "accountName");
        var partnership = await alpha.PartnerAsync(beta);
        var items = await alpha.ListAllAsync(partnership, mine, theirs, limit: 7);
        Assert.Equal(30, items.Count);

        // Bad input of several kinds, so the error paths log too.
        await alpha.Http.UploadAsync(mine, """{"recordId":"SECRET-ID-bad","identifiers":{"domain":"SECRET-NOT-HEX"}}""" + "\n");
        await alpha.Http.UploadAsync(mine, "{ SECRET-BROKEN-JSON\n");
        await alpha.Http.PostAsync("/v1/signup", new StringContent("""{"organizationName": {"SECRET": 1}}""", System.Text.Encoding.UTF8, "application/json"));
        var key = await Json(await alpha.Http.PostAsJsonAsync("/v1/api-keys", new { name = "k", scopes = new[] { "overlaps:read" } }));
        var secret = key["secret"]!.GetValue<string>();
        await app.CreateClient().PostAsync("/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_secret"] = secret }));

        var logs = string.Join('\n', app.Logs);
        Assert.NotEmpty(app.Logs);
        foreach (var forbidden in new[] { "SECRET", "confidential", "Confidential", Records.DomainHash("confidential1.example"), secret, Password, "   at " })
            Assert.DoesNotContain(forbidden, logs);
        Assert.Equal(HttpStatusCode.OK, (await alpha.Http.GetAsync("/v1/me")).StatusCode);
    }
}
