using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;
using OverlapEscrow.Data.Webhooks;

namespace OverlapEscrow.Api.Webhooks;

public static class WebhooksApi
{
    public const int MaxUrlLength = 2048;
    public const int MaxDescriptionLength = 200;
    public const int MaxPageSize = 100;

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
        group.MapGet("/{webhookId}/deliveries", ListDeliveries)
            .WithName("ListWebhookDeliveries")
            .WithSummary("The delivery log of a webhook, newest first: event type, attempts with their status code or error, times")
            .WithDescription("Payloads are not shown. Page with limit (1-100, default 50) and before (the nextBefore of the previous page).");
        return group;
    }

    private static async Task<Results<Created<CreatedWebhookResponse>, ProblemHttpResult>> Create(
        CreateWebhookRequest request, CurrentUser user, IWebhookRepository webhooks, IAccountRepository accounts, OrganizationKeys keys,
        IAuditRepository audit, IOptions<WebhookOptions> options, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var url = ValidateUrl(request.Url, errors);
        var events = ValidateEvents(request.Events, errors);
        var description = request.Description?.Trim() ?? "";
        if (description.Length > MaxDescriptionLength || description.Any(char.IsControl))
            errors.Add("description", $"description is at most {MaxDescriptionLength} printable characters.");
        if (errors.Any || url is null) return errors.ToProblem();

        var organization = await accounts.GetOrganizationAsync(user.OrganizationId, ct) ?? throw new InvalidOperationException("The caller's organization is gone.");
        var id = Ids.New("whk");
        var (key, secret) = WebhookSignature.NewSecret();
        byte[] nonce, sealedKey;
        try
        {
            using var cipher = keys.CipherFor(organization.Id, organization.WrappedKey);
            (nonce, sealedKey) = cipher.SealValue(WebhookDeliverer.SecretLabel, id, key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        var now = time.GetUtcNow();
        var row = new WebhookRow
        {
            Id = id, OrganizationId = user.OrganizationId, Url = url.AbsoluteUri, Description = description, Events = JsonSerializer.Serialize(events),
            SecretNonce = nonce, Secret = sealedKey, CreatedAt = Time.ToUnixMs(now), CreatedBy = user.Actor,
        };
        if (!await webhooks.CreateAsync(row, options.Value.MaxPerOrganization, ct))
            return Problems.Conflict($"An organization has at most {options.Value.MaxPerOrganization} webhooks; delete one first.");
        // The URL stays out of the audit log: receivers often put a token in it.
        await audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "webhook.created", null, new { webhookId = id, events }, ct);
        return TypedResults.Created($"/v1/webhooks/{id}", new CreatedWebhookResponse(Response(row), secret));
    }

    private static async Task<Ok<List<WebhookResponse>>> List(CurrentUser user, IWebhookRepository webhooks, CancellationToken ct) =>
        TypedResults.Ok((await webhooks.ListAsync(user.OrganizationId, ct)).Select(Response).ToList());

    private static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(string webhookId, CurrentUser user, IWebhookRepository webhooks, CancellationToken ct) =>
        await webhooks.GetAsync(user.OrganizationId, webhookId, ct) is { } row ? TypedResults.Ok(Response(row)) : Problems.NotFound("webhook");

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string webhookId, CurrentUser user, IWebhookRepository webhooks, IAuditRepository audit, TimeProvider time, CancellationToken ct)
    {
        if (!await webhooks.DeleteAsync(user.OrganizationId, webhookId, ct)) return Problems.NotFound("webhook");
        await audit.AppendAsync(Time.ToUnixMs(time.GetUtcNow()), user.OrganizationId, user.Actor, "webhook.deleted", null, new { webhookId }, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> ListDeliveries(
        string webhookId, [FromQuery] int? limit, [FromQuery] string? before, CurrentUser user, IWebhookRepository webhooks, CancellationToken ct)
    {
        if (await webhooks.GetAsync(user.OrganizationId, webhookId, ct) is null) return Problems.NotFound("webhook");
        var size = limit ?? 50;
        if (size is < 1 or > MaxPageSize) return Problems.Invalid("limit", $"limit is between 1 and {MaxPageSize}.");
        var deliveries = await webhooks.ListDeliveriesAsync(user.OrganizationId, webhookId, before, size, ct);
        var attempts = (await webhooks.ListAttemptsAsync(deliveries.Select(d => d.Id).ToList(), ct)).ToLookup(a => a.DeliveryId);
        var items = deliveries.Select(d => new WebhookDeliveryResponse(
            d.Id, d.EventType, d.Status, (int)d.Attempts, Time.FromUnixMs(d.CreatedAt),
            d.Status == DeliveryStatuses.Pending ? Time.FromUnixMs(d.NextAttemptAt) : null, Time.FromUnixMs(d.CompletedAt),
            attempts[d.Id].Select(a => new DeliveryAttemptResponse((int)a.Attempt, Time.FromUnixMs(a.At), (int?)a.StatusCode, a.Error, a.DurationMs)).ToList()))
            .ToList();
        return TypedResults.Ok(new WebhookDeliveryPage(items, items.Count == size ? items[^1].Id : null));
    }

    /// <summary>An absolute http or https URL, without credentials. Where it may point is decided at each connection (OutboundHttp).</summary>
    private static Uri? ValidateUrl(string? value, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add("url", "url is required.");
            return null;
        }
        if (value.Length > MaxUrlLength || !Uri.TryCreate(value.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
            || string.IsNullOrEmpty(url.Host))
        {
            errors.Add("url", $"url is an absolute http or https URL of at most {MaxUrlLength} characters.");
            return null;
        }
        if (url.UserInfo.Length > 0)
        {
            errors.Add("url", "url carries no user name or password; each request is authenticated by its signature.");
            return null;
        }
        return url;
    }

    private static List<string> ValidateEvents(IReadOnlyList<string?>? events, FieldErrors errors)
    {
        if (events is null || events.Count == 0)
        {
            errors.Add("events", "events lists at least one of: " + string.Join(", ", WebhookEventTypes.All) + ".");
            return [];
        }
        var seen = new List<string>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e is null || !WebhookEventTypes.All.Contains(e)) errors.Add($"events[{i}]", "Unknown event type; one of: " + string.Join(", ", WebhookEventTypes.All) + ".");
            else if (seen.Contains(e)) errors.Add($"events[{i}]", "The event type is listed twice.");
            else seen.Add(e);
        }
        return seen;
    }

    private static WebhookResponse Response(WebhookRow row) => new(
        row.Id, row.Url, JsonSerializer.Deserialize<string[]>(row.Events) ?? [], row.Description.Length == 0 ? null : row.Description, Time.FromUnixMs(row.CreatedAt));
}

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string?>? Events, string? Description);

/// <summary>A webhook as its organization sees it; the secret is never part of it.</summary>
public sealed record WebhookResponse(string Id, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt);

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
    string Status,
    int Attempts,
    DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<DeliveryAttemptResponse> AttemptLog);

public sealed record WebhookDeliveryPage(IReadOnlyList<WebhookDeliveryResponse> Items, string? NextBefore);
