using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// A webhook delivery's body is sealed at rest under the receiving organization's data key (docs/webhooks.md): the
/// outbox of a coselling.joint_opportunity, which holds the receiver's record ids, leaves none of them in the SQLite file
/// or its log; a data-key rotation re-seals a pending body; delivery opens it and posts the same body, signed as before.
/// </summary>
public sealed class SealedOutboxTests : IAsyncLifetime
{
    // A record id that appears nowhere else, so finding it in the file's bytes can only mean it is stored in plaintext.
    private const string OpportunityId = "OPP-Pangolin-6620";

    private readonly EscrowApp _app = new(new Dictionary<string, string?>
    {
        ["Escrow:Outbound:AllowPrivateNetworks"] = "true",
        ["Escrow:Webhooks:DeliveryWorker"] = "false",
    });

    private WebhookReceiver _receiver = null!;
    private Org _a = null!, _b = null!;
    private string _secret = "";

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _a = await _app.SignupAsync("outbox-a");
        _b = await _app.SignupAsync("outbox-b");
        var created = await _a.Http.PostAsJsonAsync("/v1/webhooks", new { url = _receiver.BaseUrl + "/a", events = new[] { "coselling.joint_opportunity" } });
        await Expect(created, HttpStatusCode.Created);
        _secret = (await Json(created))["secret"]!.GetValue<string>();
        var pipeline = await _a.CreatePopulationAsync("Pipeline", "opportunities");
        await _a.UploadOkAsync(pipeline, Records.Ndjson([new Records.Account(OpportunityId, Domain: "d1.example",
            Attributes: new() { ["amount"] = "100.00", ["currency"] = "USD", ["stage"] = "Proposal" })]));
        var deals = await _b.CreatePopulationAsync("Deals", "opportunities");
        await _b.UploadOkAsync(deals, Records.Ndjson([new Records.Account("B-DEAL-1", Domain: "d1.example")]));
        await _b.ShareAsync(deals, "overlaps");
        await _a.PartnerAsync(_b);
        await _app.RefreshedAsync(); // the partnership's first refresh finds the joint opportunity and queues its event
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _receiver.DisposeAsync();
    }

    private void AssertNotInTheFiles() => _app.AssertNoneHolds(OpportunityId);

    [Fact]
    public async Task AJointOpportunitysRecordIdIsNotInTheDatabaseFileOrItsLogWhileItsEventWaitsAndDeliveryPostsItSigned()
    {
        using (var db = _app.OpenDatabase())
            Assert.Equal(1, db.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND payload IS NULL AND payload_sealed IS NOT NULL AND payload_key_version = 1"));
        AssertNotInTheFiles();

        Assert.Equal(1, await _app.DeliverDueAsync());

        var sent = Assert.Single(_receiver.On("/a"));
        Assert.True(WebhookReceiver.SignatureIsValid(sent, _secret));
        Assert.Equal("coselling.joint_opportunity", sent.Type);
        var data = sent.Json["data"]!;
        Assert.Equal([OpportunityId], data["opportunities"]!.AsArray().Select(o => o!.GetValue<string>()));
        Assert.Equal($"New joint opportunity with outbox-b Inc.: {OpportunityId} (Pipeline).", data["text"]!.GetValue<string>());
        // Settled: the sealed body goes too.
        using (var db = _app.OpenDatabase())
            Assert.Equal(0, db.ExecuteScalar<long>("SELECT COUNT(*) FROM webhook_deliveries WHERE payload IS NOT NULL OR payload_sealed IS NOT NULL"));
    }

    [Fact]
    public async Task ADataKeyRotationReSealsAPendingBodyAndItIsDeliveredAsBefore()
    {
        var rotation = _app.Services.GetRequiredService<DataKeyRotation>();
        var result = await rotation.RotateAsync(_a.Id, new DataKeyRotationOptions(Settle: TimeSpan.Zero), CancellationToken.None);

        Assert.NotEmpty(result.DestroyedKeyIds);
        using (var db = _app.OpenDatabase())
            Assert.Equal(2, db.ExecuteScalar<long>("SELECT payload_key_version FROM webhook_deliveries WHERE status = 'pending'"));
        AssertNotInTheFiles();
        Assert.Equal(1, await _app.DeliverDueAsync());
        var sent = Assert.Single(_receiver.On("/a"));
        Assert.True(WebhookReceiver.SignatureIsValid(sent, _secret));
        Assert.Equal([OpportunityId], sent.Json["data"]!["opportunities"]!.AsArray().Select(o => o!.GetValue<string>()));
    }

    [Fact]
    public async Task AnotherOrganizationsKeyCannotOpenTheBody()
    {
        // The body is bound to the receiver's key and to its delivery id: B's cipher, or A's for another id, refuses it.
        byte[] nonce, sealedBody;
        string id;
        using (var db = _app.OpenDatabase())
            (id, nonce, sealedBody) = db.QuerySingle<(string, byte[], byte[])>("SELECT id, payload_nonce, payload_sealed FROM webhook_deliveries WHERE status = 'pending'");
        var keyring = _app.Services.GetRequiredService<IKeyring>();
        var value = new SealedValue(nonce, sealedBody, 1);
        using (var a = await keyring.ForOrganizationAsync(_a.Id, CancellationToken.None))
        {
            Assert.Contains(OpportunityId, Encoding.UTF8.GetString(a.Open("oe-webhook-payload-v1", id, value)));
            Assert.ThrowsAny<Exception>(() => a.Open("oe-webhook-payload-v1", id + "x", value));
        }
        using var b = await keyring.ForOrganizationAsync(_b.Id, CancellationToken.None);
        Assert.ThrowsAny<Exception>(() => b.Open("oe-webhook-payload-v1", id, value));
    }

    [Fact]
    public async Task ABodyQueuedInPlaintextBeforeBodiesWereSealedIsSealedAtStartAndDeliveredAsItWas()
    {
        // What a delivery queued before migration 2026-12-01-0017 looks like: its body in payload, nothing sealed.
        string id, body;
        using (var db = _app.OpenDatabase())
        {
            var (rowId, nonce, sealedBody) = db.QuerySingle<(string, byte[], byte[])>("SELECT id, payload_nonce, payload_sealed FROM webhook_deliveries WHERE status = 'pending'");
            using (var a = await _app.Services.GetRequiredService<IKeyring>().ForOrganizationAsync(_a.Id, CancellationToken.None))
                body = Encoding.UTF8.GetString(a.Open("oe-webhook-payload-v1", rowId, new SealedValue(nonce, sealedBody, 1)));
            id = rowId;
            db.Execute("UPDATE webhook_deliveries SET payload = @body, payload_nonce = NULL, payload_sealed = NULL, payload_key_version = NULL WHERE id = @id",
                new { body, id });
        }
        Assert.Contains(OpportunityId, body);

        var sealedRows = await _app.Services.GetRequiredService<Application.Webhooks.WebhookSealing>().SealLegacyAsync(CancellationToken.None);

        Assert.Equal(1, sealedRows);
        using (var db = _app.OpenDatabase())
            Assert.Equal(1, db.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE id = @id AND payload IS NULL AND payload_sealed IS NOT NULL", new { id }));
        AssertNotInTheFiles();
        Assert.Equal(0, await _app.Services.GetRequiredService<Application.Webhooks.WebhookSealing>().SealLegacyAsync(CancellationToken.None));

        Assert.Equal(1, await _app.DeliverDueAsync());
        var sent = Assert.Single(_receiver.On("/a"));
        Assert.True(WebhookReceiver.SignatureIsValid(sent, _secret));
        Assert.Equal(body, sent.Body);
    }
}
