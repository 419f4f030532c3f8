using System.Net;
using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>The audit log is append-only and its hash chain exposes any rewrite.</summary>
public sealed class AuditTests : IDisposable
{
    private readonly EscrowApp _app = new();

    public void Dispose() => _app.Dispose();

    private async Task<Org> ActivityAsync()
    {
        var a = await _app.SignupAsync("audit-a");
        var b = await _app.SignupAsync("audit-b");
        var theirs = await b.CreatePopulationAsync("Customers");
        await b.UploadOkAsync(theirs, Records.Range("B", 0, 10));
        await b.ShareAsync(theirs, "counts");
        var partnership = await a.PartnerAsync(b);
        await a.MatrixAsync(partnership);
        return a;
    }

    [Fact]
    public async Task TheDatabaseRefusesToUpdateOrDeleteAuditEvents()
    {
        await ActivityAsync();
        using var db = _app.OpenDatabase();
        Assert.Throws<SqliteException>(() => db.Execute("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2"));
        Assert.Throws<SqliteException>(() => db.Execute("DELETE FROM audit_events WHERE seq = 2"));
    }

    [Fact]
    public async Task VerificationFindsTheFirstRewrittenEventOfMyChain()
    {
        var a = await ActivityAsync();
        var before = await Json(await a.Http.GetAsync("/v1/audit/verify"));
        Assert.True(before["valid"]!.GetValue<bool>());

        using (var db = _app.OpenDatabase())
        {
            // Someone with write access to the file rewrites what the organization's chain says happened.
            Assert.Equal(1, db.Execute("UPDATE audit_views SET record = record || ' ' WHERE organization_id = @Id AND position = 3", new { a.Id }));
        }
        var after = await Json(await a.Http.GetAsync("/v1/audit/verify"));
        Assert.False(after["valid"]!.GetValue<bool>());
        Assert.Equal(3, after["firstBrokenPosition"]!.GetValue<long>());
    }

    [Fact]
    public async Task RemovingAnEventFromTheMiddleOfMyChainBreaksIt()
    {
        var a = await ActivityAsync();
        Assert.True((await Json(await a.Http.GetAsync("/v1/audit/verify")))["valid"]!.GetValue<bool>());
        using (var db = _app.OpenDatabase())
        {
            Assert.Equal(1, db.Execute("DELETE FROM audit_views WHERE organization_id = @Id AND position = 2", new { a.Id }));
        }
        var after = await Json(await a.Http.GetAsync("/v1/audit/verify"));
        Assert.False(after["valid"]!.GetValue<bool>());
    }

    [Trait("AlsoOn", "postgres")]
    [Fact]
    public async Task OnlyAdminsReadTheLogAndEachSeesItsOwnEvents()
    {
        var a = await ActivityAsync();
        var viewer = await _app.MemberAsync(a, "viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/v1/audit")).StatusCode);
        var outsider = await _app.SignupAsync("audit-c");
        var theirLog = await Json(await outsider.Http.GetAsync("/v1/audit"));
        Assert.All(theirLog["items"]!.AsArray(), e => Assert.True(e!["byMyOrganization"]!.GetValue<bool>()));
        Assert.DoesNotContain(a.Id, theirLog.ToJsonString());
    }

    [Fact]
    public async Task APageBeforeTheChainsStartOrOfNoSizeIsRefusedNamingItsParameter()
    {
        var a = await ActivityAsync();
        var all = (await Json(await a.Http.GetAsync("/v1/audit?limit=500")))["items"]!.AsArray();
        Assert.NotEmpty(all);

        foreach (var (query, field) in new[] { ("after=-1", "after"), ("after=-9223372036854775808", "after"), ("limit=0", "limit"), ("limit=-1", "limit") })
        {
            var problem = await ExpectProblem(await a.Http.GetAsync($"/v1/audit?{query}"), HttpStatusCode.BadRequest);
            Assert.Contains(field, problem["errors"]!.AsObject().Select(e => e.Key));
        }
        // From the start, the same as no position at all.
        Assert.Equal(all.ToJsonString(), (await Json(await a.Http.GetAsync("/v1/audit?after=0&limit=500")))["items"]!.AsArray().ToJsonString());
    }
}
