using System.Net;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Reads that release partner data share audit commits (group commit) and still answer only once their event is on
/// disk: under concurrency every read is recorded once and the chains verify; a read whose event cannot be committed
/// fails and releases nothing.
/// </summary>
public sealed class ReadAuditTests : IAsyncLifetime
{
    private readonly EscrowApp _app = new();
    private Org _a = null!, _b = null!;
    private string _partnership = "", _mine = "", _theirs = "";

    public async Task InitializeAsync()
    {
        _a = await _app.SignupAsync("reads-a");
        _b = await _app.SignupAsync("reads-b");
        _mine = await _a.CreatePopulationAsync("Customers");
        _theirs = await _b.CreatePopulationAsync("Customers");
        await _a.UploadOkAsync(_mine, Records.Range("A", 0, 40, "accountName"));
        await _b.UploadOkAsync(_theirs, Records.Range("B", 20, 40, "accountName"));
        await _a.ShareAsync(_mine, "overlaps", "accountName");
        await _b.ShareAsync(_theirs, "overlaps", "accountName");
        _partnership = await _a.PartnerAsync(_b);
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    private Task<HttpResponseMessage> Matrix(Org org) => org.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps");

    private Task<HttpResponseMessage> Page(Org org, string mine, string theirs) =>
        org.Http.GetAsync($"/v1/partnerships/{_partnership}/overlaps/{mine}/{theirs}?limit=5");

    /// <summary>16 matrices and 16 list pages from each side at once.</summary>
    private List<Task<HttpResponseMessage>> ConcurrentReads() =>
        Enumerable.Range(0, 16).SelectMany(_ => new[] { Matrix(_a), Matrix(_b), Page(_a, _mine, _theirs), Page(_b, _theirs, _mine) }).ToList();

    private long Events(string action)
    {
        using var db = _app.OpenDatabase();
        return db.ExecuteScalar<long>("SELECT count(*) FROM audit_events WHERE action = @action", new { action });
    }

    [Fact]
    public async Task ConcurrentReadsAreEachAuditedOnceAndBothOrganizationsChainsVerify()
    {
        var responses = await Task.WhenAll(ConcurrentReads());

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(32, Events("overlaps.matrix_read"));
        Assert.Equal(32, Events("overlaps.released"));
        foreach (var org in new[] { _a, _b })
        {
            var verification = await Json(await org.Http.GetAsync("/v1/audit/verify"));
            Assert.True(verification["valid"]!.GetValue<bool>());
        }
        using var db = _app.OpenDatabase();
        Assert.Equal(db.ExecuteScalar<long>("SELECT count(*) FROM audit_events"), db.ExecuteScalar<long>("SELECT seq FROM audit_head"));
    }

    [Fact]
    public async Task AReadWhoseAuditEventCannotBeCommittedFailsAndReleasesNothing()
    {
        using (var db = _app.OpenDatabase())
            db.Execute("""
                CREATE TRIGGER test_refuse_reads BEFORE INSERT ON audit_events
                WHEN NEW.action IN ('overlaps.matrix_read', 'overlaps.released')
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """);

        var responses = await Task.WhenAll(ConcurrentReads());

        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            // The tests' client names the service's logged error (EscrowApp.CreateClient), so an unexpected 500 elsewhere says what it was.
            Assert.Contains("refused by the test", response.ReasonPhrase);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("A-000", body);
            Assert.DoesNotContain("B-000", body);
            Assert.DoesNotContain("account", body);
        }
        Assert.Equal(0, Events("overlaps.matrix_read"));
        Assert.Equal(0, Events("overlaps.released"));

        // Once the database takes the events again, so do the reads, and the chains are whole.
        using (var db = _app.OpenDatabase()) db.Execute("DROP TRIGGER test_refuse_reads");
        Assert.Equal(HttpStatusCode.OK, (await Page(_a, _mine, _theirs)).StatusCode);
        Assert.Equal(1, Events("overlaps.released"));
        Assert.True((await Json(await _a.Http.GetAsync("/v1/audit/verify")))["valid"]!.GetValue<bool>());
    }
}
