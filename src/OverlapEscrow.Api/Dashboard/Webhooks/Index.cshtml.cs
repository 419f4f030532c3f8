using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Api.Dashboard.Webhooks;

/// <summary>Webhook subscriptions (WebhookSubscriptions): the list, and a new one whose signing secret is shown once, in the answer to its creation.</summary>
[DashboardAuthorize(Policies.Webhooks)]
public sealed class IndexModel(WebhookSubscriptions webhooks) : DashboardPage
{
    public IReadOnlyList<Webhook> Webhooks { get; private set; } = [];
    public CreatedWebhook? Created { get; private set; }

    [BindProperty(Name = "url")] public string? UrlInput { get; set; }
    [BindProperty(Name = "description")] public string? Description { get; set; }
    [BindProperty(Name = "events")] public List<string> Events { get; set; } = [WebhookEventTypes.SyncFailed, WebhookEventTypes.OverlapsChanged];

    public async Task OnGetAsync(CancellationToken ct) => Webhooks = await webhooks.ListAsync(Caller, ct);

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var outcome = await webhooks.CreateAsync(Caller, new WebhookInput(UrlInput, Events.Select(e => (string?)e).ToList(), Description), ct);
        Webhooks = await webhooks.ListAsync(Caller, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Created = outcome.Value;
        UrlInput = Description = null;
        return Page();
    }
}
