using System.Net;
using System.Text;
using Dapper;
using OverlapEscrow.Api.Tests.Infrastructure;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// Uploads running at once are bounded per instance and per organization (each large one holds hundreds of MiB): one
/// more is refused with 429 and Retry-After before its body is read, changes nothing, and succeeds when retried. Over a
/// real socket, so that uploads can be held half-sent while others arrive.
/// </summary>
public sealed class UploadAdmissionTests : IDisposable
{
    private readonly EscrowApp _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Uploads:MaxConcurrent"] = "3", ["Escrow:Uploads:MaxConcurrentPerOrganization"] = "2", ["Escrow:Uploads:BusyRetryAfterSeconds"] = "7",
    }, kestrel: true);

    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        _release.TrySetResult();
        _app.Dispose();
    }

    /// <summary>
    /// Starts an upload of 600 records under an Idempotency-Key and holds it after its first 500 rows until the test
    /// releases it; returns once the service has admitted it (its key is claimed) and the task of its response.
    /// </summary>
    private async Task<Task<RawUpload.Result>> StartHeldUploadAsync(Org org, string population, string key)
    {
        var admitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Records.Range(key, 0, 500);
        var body = Encoding.UTF8.GetBytes(first + Records.Range(key, 500, 100));
        var sent = RawUpload.SendAsync(org.Http, $"/v1/populations/{population}/records", body, Encoding.UTF8.GetByteCount(first), between: async () =>
        {
            using var db = _app.OpenAnyDatabase();
            for (var i = 0; i < 500 && await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM idempotency_keys WHERE key = @key", new { key }) == 0; i++)
                await Task.Delay(20);
            admitted.TrySetResult();
            await _release.Task;
            return true;
        }, headers: new Dictionary<string, string> { ["Idempotency-Key"] = key });
        await Task.WhenAny(admitted.Task, sent);
        Assert.True(admitted.Task.IsCompleted, "the held upload ended before it was admitted");
        return sent;
    }

    private static async Task AssertBusyAsync(HttpResponseMessage response, string detailPart)
    {
        var problem = await ExpectProblem(response, HttpStatusCode.TooManyRequests);
        Assert.Equal("urn:overlap-escrow:problem:rate-limited", problem["type"]!.GetValue<string>());
        Assert.Contains(detailPart, problem["detail"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task AnUploadBeyondItsOrganizationsShareOrTheInstancesIsRefusedWith429BeforeItIsReadAndSucceedsWhenRetried()
    {
        var busy = await _app.SignupAsync("admit-busy");
        var other = await _app.SignupAsync("admit-other");
        var late = await _app.SignupAsync("admit-late");
        var first = await busy.CreatePopulationAsync("First");
        var second = await busy.CreatePopulationAsync("Second");
        var third = await busy.CreatePopulationAsync("Third");
        var others = await other.CreatePopulationAsync("Theirs");
        var lateOnes = await late.CreatePopulationAsync("Late");

        var held = new List<Task<RawUpload.Result>> { await StartHeldUploadAsync(busy, first, "HA"), await StartHeldUploadAsync(busy, second, "HB") };

        // The organization's third upload at once: refused, nothing claimed, stored or audited as a refused upload.
        await AssertBusyAsync(await busy.Http.UploadAsync(third, Records.Range("T", 0, 20)), "Your organization has 2 uploads in progress");
        // Another organization still has its share: its upload goes through while the two are held.
        Assert.Equal(20, (await other.UploadOkAsync(others, Records.Range("O", 0, 20)))["recordsApplied"]!.GetValue<long>());
        // Held: two of the busy organization's and one of the other's — the instance's three. A fourth organization waits.
        held.Add(await StartHeldUploadAsync(other, others, "HC"));
        await AssertBusyAsync(await late.Http.UploadAsync(lateOnes, Records.Range("L", 0, 20)), "The service is running its most uploads at once (3)");

        using (var db = _app.OpenAnyDatabase())
        {
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM population_versions WHERE population_id IN @ids", new { ids = new[] { third, lateOnes } }));
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_events WHERE action = 'population.upload_refused'"));
        }

        _release.TrySetResult();
        foreach (var sent in await Task.WhenAll(held))
        {
            var response = RawHttp.Parse(sent.Response);
            Assert.True(response.Status == 200, response.ToString());
            Assert.Equal(600, response.Json["recordsApplied"]!.GetValue<long>());
        }
        // Retried once the others are done: both go through.
        Assert.Equal(20, (await busy.UploadOkAsync(third, Records.Range("T", 0, 20)))["recordsApplied"]!.GetValue<long>());
        Assert.Equal(20, (await late.UploadOkAsync(lateOnes, Records.Range("L", 0, 20)))["recordsApplied"]!.GetValue<long>());
    }
}
