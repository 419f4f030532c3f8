using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Storage;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// An upload whose pending version is swept as abandoned (the start-up sweep of another instance, or an upload idle past
/// the abandon period) just as its ids stop arriving in order and the record blocks it stored come back to be built anew:
/// the blocks are gone with the version. The upload applied nothing and must say so (409, retry with the same key), not
/// answer that its body was not valid gzip (400, what the short read-back's InvalidDataException read as), and a retry of
/// the same body commits every record.
/// </summary>
[Trait("AlsoOn", "postgres")]
public sealed class UploadSweptMidwayTests : IDisposable
{
    /// <summary>
    /// Sweeps every pending version, as the sweep does once the abandon period has passed, before the first read of record
    /// blocks after it is armed, of a version other than the committed ones named: the overlap refresher reads committed
    /// versions' blocks in the background after each commit, and such a read must not spend the sweep before the upload.
    /// </summary>
    private sealed class SweepBeforeBlocksRead(IVersionColumnStore inner, IPopulationRepository populations) : VersionColumnStoreDecorator(inner)
    {
        public volatile bool Armed;
        public IReadOnlySet<string> Committed = new HashSet<string>();
        public int Swept;

        public override async Task<IReadOnlyList<VersionPart>> ReadBlocksAsync(string versionId, IReadOnlyCollection<int> blocks, CancellationToken ct)
        {
            if (Armed && !Committed.Contains(versionId))
            {
                Armed = false;
                Swept += await populations.DeleteAbandonedAsync(DateTimeOffset.UtcNow.AddDays(1), ct);
            }
            return await Inner.ReadBlocksAsync(versionId, blocks, ct);
        }
    }

    private SweepBeforeBlocksRead? _columns;
    private readonly EscrowApp _app;

    public UploadSweptMidwayTests()
    {
        _app = new EscrowApp(new Dictionary<string, string?>())
        {
            TestServices = services => VersionColumnStoreDecorator.Replace(services,
                (sp, store) => _columns = new SweepBeforeBlocksRead(store, sp.GetRequiredService<IPopulationRepository>())),
        };
    }

    public void Dispose() => _app.Dispose();

    private static string Id(int i) => $"S-{i:D5}";

    [Fact]
    public async Task AnUploadSweptAsItsStoredRecordBlocksComeBackAppliesNothingSaysSoAndARetryCommitsEveryRecord()
    {
        var org = await _app.SignupAsync("swept");
        var partner = await _app.SignupAsync("swept-partner");
        var population = await org.CreatePopulationAsync("Customers");
        var theirs = await partner.CreatePopulationAsync("Customers");
        await partner.ShareAsync(theirs, "overlaps");
        await partner.UploadOkAsync(theirs, Records.Range("P", 0, 8000));
        var partnership = await org.PartnerAsync(partner);
        await org.UploadOkAsync(population, Records.Range("OLD", 0, 50));
        var before = (await Json(await org.Http.GetAsync($"/v1/populations/{population}")))["currentVersionId"]!.GetValue<string>();
        var partnerVersion = (await Json(await partner.Http.GetAsync($"/v1/populations/{theirs}")))["currentVersionId"]!.GetValue<string>();

        // 6,000 rows of about 1 KB of attributes in id order: the columns' record blocks are stored a few MiB at a time before
        // the last row, whose id breaks the order and brings the stored blocks back.
        var attributes = Enumerable.Range(0, 4).ToDictionary(a => $"note{a}", a => new string((char)('a' + a), 250));
        string Wide(int i, string? id = null) => Records.Line(new Records.Account(id ?? Id(i), Domain: $"d{i}.example", Attributes: attributes)) + "\n";
        var body = string.Concat(Enumerable.Range(0, 6000).Select(i => Wide(i))) + Wide(7000, "S-00001x");

        _columns!.Committed = new HashSet<string> { before, partnerVersion };
        _columns.Armed = true;
        var response = await org.Http.UploadAsync(population, body, idempotencyKey: "swept-once");
        Assert.Equal(1, _columns.Swept);
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response);
        Assert.Equal("Upload not applied", problem["title"]!.GetValue<string>());

        // Nothing applied and nothing of the upload left behind.
        var after = await Json(await org.Http.GetAsync($"/v1/populations/{population}"));
        Assert.Equal(before, after["currentVersionId"]!.GetValue<string>());
        Assert.Equal(50, after["recordCount"]!.GetValue<long>());
        using (var db = _app.OpenAnyDatabase())
        {
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM population_versions WHERE status = 'pending'"));
            Assert.Equal(0L, await db.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM version_columns c WHERE NOT EXISTS (SELECT 1 FROM population_versions v WHERE v.id = c.version_id)"));
        }

        // The retry the answer asks for, same key and body: every record committed.
        var retry = await org.Http.UploadAsync(population, body, idempotencyKey: "swept-once");
        await Expect(retry, HttpStatusCode.OK);
        Assert.Equal(6001, (await Json(retry))["recordsApplied"]!.GetValue<long>());
        var expected = Enumerable.Range(0, 6000).Select(Id).Append("S-00001x").Order(StringComparer.Ordinal);
        var listed = await org.ListAllAsync(partnership, population, theirs, limit: 1000);
        Assert.Equal(expected, listed.Select(i => i["recordId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(_app.Logs, l => l.Contains("   at ") || l.Contains("S-0000"));
    }
}
