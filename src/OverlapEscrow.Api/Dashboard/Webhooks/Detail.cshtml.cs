using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Api.Dashboard.Webhooks;

/// <summary>A webhook and its delivery log (WebhookSubscriptions.DeliveriesAsync), newest first, with every attempt; delete it.</summary>
[DashboardAuthorize(Policies.Webhooks)]
public sealed class DetailModel(WebhookSubscriptions webhooks) : DashboardPage
{
    public Webhook? Webhook { get; private set; }
    public IReadOnlyList<DeliveryLog> Deliveries { get; private set; } = [];
    public bool Deleted { get; private set; }

    public async Task<IActionResult> OnGetAsync(string webhookId, CancellationToken ct)
    {
        var webhook = await webhooks.GetAsync(Caller, webhookId, ct);
        if (webhook.Failure is { } missing) return Fail(missing);
        Webhook = webhook.Value;
        Deliveries = (await webhooks.DeliveriesAsync(Caller, webhookId, null, 50, ct)).Value ?? [];
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(string webhookId, CancellationToken ct)
    {
        var webhook = await webhooks.GetAsync(Caller, webhookId, ct);
        if (webhook.Failure is { } missing) return Fail(missing);
        Webhook = webhook.Value;
        var outcome = await webhooks.DeleteAsync(Caller, webhookId, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Deleted = true;
        Notice = "Webhook deleted, with its delivery log.";
        return Page();
    }
}
