using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>Driving the background parts of the escrow from a test: the overlap refresher and the webhook outbox.</summary>
public static class Background
{
    /// <summary>
    /// Waits until the overlap refresher has processed every change queued so far (history, overlaps.changed): until the
    /// queue in the database holds none, waiting or being processed.
    /// </summary>
    public static async Task RefreshedAsync(this EscrowApp app)
    {
        var refresher = app.Services.GetRequiredService<OverlapRefresher>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await refresher.PendingAsync(CancellationToken.None) > 0)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("The overlap refresher did not catch up within 30 seconds.");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Delivers what is due as the delivery worker does when woken: rounds until one attempts nothing (a round takes at
    /// most a few of one organization's deliveries); returns the attempts made.
    /// </summary>
    public static async Task<int> DeliverDueAsync(this EscrowApp app)
    {
        var deliverer = app.Services.GetRequiredService<WebhookDeliverer>();
        var attempts = 0;
        while (await deliverer.DeliverDueAsync(CancellationToken.None) is > 0 and var round) attempts += round;
        return attempts;
    }

    /// <summary>Makes every pending delivery due now, as if its backoff had passed.</summary>
    public static void MakeRetriesDue(this EscrowApp app)
    {
        using var db = app.OpenDatabase();
        using var command = db.CreateCommand();
        command.CommandText = "UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE status = 'pending'";
        command.ExecuteNonQuery();
    }
}
