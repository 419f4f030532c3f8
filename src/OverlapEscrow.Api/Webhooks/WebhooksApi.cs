using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;

namespace OverlapEscrow.Api.Webhooks;

public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.Webhooks);

        group.MapPost("", Create)
            .WithName("CreateWebhook")
            .WithSummary("Subscribe an http(s) URL to events; the answer holds the signing secret, shown this once")
            .WithDescription("Requests are signed per the Standard Webhooks specification (webhook-id, webhook-timestamp, webhook-signature with HMAC-SHA256 under the secret). Events: " + string.Join(", ", WebhookEventTypes.All) + ".")
            .ProducesProblem(409);
        group.MapGet("", List)
            .WithName("ListWebhooks")
            .WithSummary("My organization's webhooks (never their secrets)")
            .WithDescription("Members who manage partnerships or syncs (admin, partner_manager, sales_ops); API keys never reach webhooks.");
        group.MapGet("/{webhookId}", Get)
            .WithName("GetWebhook")
            .WithSummary("One webhook (never its secret)")
            .WithDescription("404 for a webhook of another organization, exactly as for one that does not exist.");
        group.MapDelete("/{webhookId}", Delete)
            .WithName("DeleteWebhook")
            .WithSummary("Delete a webhook, its pending deliveries and its delivery log")
            .WithDescription("Pending deliveries are not sent.");
        group.MapPost("/{webhookId}/rotate-secret", RotateSecret)
            .WithName("RotateWebhookSecret")
            .WithSummary("Replace a webhook's signing secret; the answer holds the new secret, shown this once")
            .WithDescription("During the overlap (Escrow:Webhooks:SecretOverlapHours, 24 by default; previousSecretUntil) every delivery carries two signatures in webhook-signature, one per secret, space-separated as Standard Webhooks allows: switch the receiver to the new secret any time before it ends.");
        group.MapGet("/{webhookId}/deliveries", ListDeliveries)
            .WithName("ListWebhookDeliveries")
            .WithSummary("The delivery log of a webhook, newest first: event type, attempts with their status code or error, times")
            .WithDescription("Payloads are not shown. Page with limit (1-100, default 50) and before (the nextBefore of the previous page).");
        return group;
    }

    private static async Task<Results<Created<CreatedWebhookResponse>, ProblemHttpResult>> Create(
        CreateWebhookRequest request, CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct)
    {
        var outcome = await webhooks.CreateAsync(user.Caller, new WebhookInput(request.Url, request.Events, request.Description), ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var created = outcome.Value!;
        return TypedResults.Created($"/v1/webhooks/{created.Webhook.Id}", new CreatedWebhookResponse(Response(created.Webhook), created.Secret));
    }

    private static async Task<Ok<List<WebhookResponse>>> List(CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct) =>
        TypedResults.Ok((await webhooks.ListAsync(user.Caller, ct)).Select(Response).ToList());

    private static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(string webhookId, CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct) =>
        await webhooks.GetAsync(user.Caller, webhookId, ct) is { Value: { } webhook } ? TypedResults.Ok(Response(webhook)) : Problems.NotFound("webhook");

    private static async Task<Results<Ok<CreatedWebhookResponse>, ProblemHttpResult>> RotateSecret(string webhookId, CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct)
    {
        var outcome = await webhooks.RotateSecretAsync(user.Caller, webhookId, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        return TypedResults.Ok(new CreatedWebhookResponse(Response(outcome.Value!.Webhook), outcome.Value.Secret));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string webhookId, CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct) =>
        (await webhooks.DeleteAsync(user.Caller, webhookId, ct)).Failure is { } failure ? Problems.From(failure) : TypedResults.NoContent();

    private static async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> ListDeliveries(
        string webhookId, [FromQuery] int? limit, [FromQuery] string? before, CurrentUser user, WebhookSubscriptions webhooks, CancellationToken ct)
    {
        var size = limit ?? 50;
        var outcome = await webhooks.DeliveriesAsync(user.Caller, webhookId, before, size, ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var items = outcome.Value!.Select(l => new WebhookDeliveryResponse(
            l.Delivery.Id, l.Delivery.EventType, l.Delivery.Status, l.Delivery.Attempts, l.Delivery.CreatedAt,
            l.Delivery.Status == DeliveryStatus.Pending ? l.Delivery.NextAttemptAt : null, l.Delivery.CompletedAt,
            l.Attempts.Select(a => new DeliveryAttemptResponse(a.Attempt, a.At, a.StatusCode, a.Error, a.DurationMs)).ToList())).ToList();
        return TypedResults.Ok(new WebhookDeliveryPage(items, items.Count == size ? items[^1].Id : null));
    }

    private static WebhookResponse Response(Webhook w) => new(w.Id, w.Url.AbsoluteUri, w.Events, w.Description, w.CreatedAt, w.PreviousSecretUntil);
}

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string?>? Events, string? Description);

/// <summary>A webhook as its organization sees it; the secret is never part of it. <see cref="PreviousSecretUntil"/>: after a rotation, when the previous secret stops signing.</summary>
public sealed record WebhookResponse(string Id, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt, DateTimeOffset? PreviousSecretUntil = null);

/// <summary>The answer to a creation: the webhook and its signing secret ("whsec_…"), which no later answer shows.</summary>
public sealed record CreatedWebhookResponse(WebhookResponse Webhook, string Secret);

public sealed record DeliveryAttemptResponse(int Attempt, DateTimeOffset At, int? StatusCode, string? Error, long DurationMs);

/// <summary>
/// One event sent (or to send) to a webhook: <see cref="Status"/> is pending, delivered or failed; <see cref="Id"/> is the
/// webhook-id header of every attempt; <see cref="NextAttemptAt"/> while pending.
/// </summary>
public sealed record WebhookDeliveryResponse(
    string Id,
    string EventType,
    DeliveryStatus Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<DeliveryAttemptResponse> AttemptLog);

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryResponse> Items, string? NextBefore);
