using System.Text;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// Seals what webhooks stored in plaintext before it was sealed (at every start, before the service answers): the
/// bodies of pending deliveries (migration 2026-12-01-0017) and the webhooks' URLs and descriptions (2026-12-03-0021).
/// Each is sealed under its organization's key, bound to its row's id as new ones are, and the plaintext column cleared
/// (a compare-and-set). Then the database's free pages and log are purged, so the plaintext does not linger in the
/// file. A row of an organization being erased is left to the erasure, which removes it.
/// </summary>
public sealed class WebhookSealing(IWebhookRepository webhooks, IKeyring keyring, IDatabaseMaintenance database, ILogger<WebhookSealing> logger)
{
    public async Task<int> SealLegacyAsync(CancellationToken ct)
    {
        // The stored text itself is sealed and compared (a URL parsed again may not print as it was stored).
        var sealedRows = await LegacySealing.SealAsync(keyring, database, after => webhooks.ListUnsealedTargetsAsync(after, LegacySealing.Batch, ct),
            w => w.Id, w => w.OrganizationId,
            (cipher, w) => webhooks.SealLegacyTargetAsync(w.Id, w.Url, WebhookTargets.Seal(cipher, w.Id, w.Url, w.Description), ct),
            logger, "webhook URLs", ct);
        sealedRows += await LegacySealing.SealAsync(keyring, database, after => webhooks.ListUnsealedAsync(after, LegacySealing.Batch, ct),
            d => d.Id, d => d.OrganizationId,
            (cipher, d) => webhooks.SealLegacyAsync(d.Id, d.Payload, cipher.Seal(WebhookDeliverer.PayloadLabel, d.Id, Encoding.UTF8.GetBytes(d.Payload)), ct),
            logger, "webhook delivery bodies", ct);
        if (sealedRows > 0)
        {
            logger.LogInformation("Sealed {Count} webhook URLs and delivery bodies stored before they were sealed", sealedRows);
            await database.TryPurgeDeletedContentAsync(logger, "sealing webhook URLs and bodies", ct);
        }
        return sealedRows;
    }
}
