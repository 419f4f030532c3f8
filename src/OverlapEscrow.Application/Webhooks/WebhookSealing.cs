using System.Text;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// Seals the bodies of webhook deliveries queued before bodies were sealed (at every start, before the service answers):
/// each pending plaintext body is sealed under its receiving organization's key, bound to its delivery id as
/// <see cref="EventPublisher"/> seals new ones, and the plaintext column cleared (a compare-and-set). Then the
/// database's free pages and log are purged, so the plaintext does not linger in the file. A delivery of an
/// organization being erased is left to the erasure, which removes it.
/// </summary>
public sealed class WebhookSealing(IWebhookRepository webhooks, IKeyring keyring, IDatabaseMaintenance database, ILogger<WebhookSealing> logger)
{
    private const int Batch = 200;

    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        var sealedRows = 0;
        string? after = null;
        while (true)
        {
            var page = await webhooks.ListUnsealedAsync(after, Batch, ct);
            if (page.Count == 0) break;
            foreach (var group in page.GroupBy(d => d.OrganizationId))
            {
                IOrganizationCipher cipher;
                try { cipher = await keyring.ForOrganizationAsync(group.Key, ct); }
                catch (OrganizationGoneException) { continue; }
                using (cipher)
                    foreach (var delivery in group)
                        if (await webhooks.SealLegacyAsync(delivery.Id, delivery.Payload,
                                cipher.Seal(WebhookDeliverer.PayloadLabel, delivery.Id, Encoding.UTF8.GetBytes(delivery.Payload)), ct))
                            sealedRows++;
            }
            after = page[^1].Id;
        }
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed the bodies of {Count} webhook deliveries queued before bodies were sealed", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing webhook bodies", ct);
        }
        return sealedRows;
    }
}
