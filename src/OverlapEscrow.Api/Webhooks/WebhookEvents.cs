using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure.Outbound;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Webhooks;

namespace OverlapEscrow.Api.Webhooks;

/// <summary>
/// The event dispatcher: an event published for an organization becomes one outbox row per webhook of that
/// organization subscribed to its type, delivered later by <see cref="WebhookDeliverer"/>. Publishers decide what
/// the payload holds and must put in it only what the receiving organization may see; the body is fixed here
/// (the Standard Webhooks envelope: type, timestamp, data) and sent unchanged on every attempt.
/// </summary>
/// <remarks>
/// Publishing happens after the change it reports is committed, in its own transaction, and never fails the
/// caller: a failure is logged and the event is lost (the state change stands). An event whose organization has no
/// subscribed webhook costs one indexed read.
/// </remarks>
public sealed class WebhookEvents(IWebhookRepository webhooks, DeliverySignal signal, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
    TimeProvider time, ILogger<WebhookEvents> logger) : IEscrowEvents
{
    public async Task PublishAsync(string organizationId, string type, object payload, CancellationToken ct)
    {
        try
        {
            var subscribed = (await webhooks.ListAsync(organizationId, ct)).Where(w => Subscribes(w, type)).ToList();
            if (subscribed.Count == 0) return;
            var now = time.GetUtcNow();
            var body = JsonSerializer.Serialize(new WebhookEnvelope(type, now, payload), json.Value.SerializerOptions);
            await webhooks.EnqueueAsync(subscribed.Select(w => new DeliveryRow
            {
                Id = Ids.New("msg"), WebhookId = w.Id, OrganizationId = organizationId, EventType = type, Payload = body,
                Status = DeliveryStatuses.Pending, CreatedAt = Time.ToUnixMs(now), NextAttemptAt = Time.ToUnixMs(now),
            }).ToList(), ct);
            signal.Wake();
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning("Queuing {EventType} webhooks of organization {OrganizationId} failed: {ExceptionType}", type, organizationId, e.GetType().Name);
        }
    }

    public static bool Subscribes(WebhookRow webhook, string type) =>
        (JsonSerializer.Deserialize<string[]>(webhook.Events) ?? []).Contains(type);
}

/// <summary>The body of every webhook request (Standard Webhooks' recommended shape).</summary>
public sealed record WebhookEnvelope(string Type, DateTimeOffset Timestamp, object Data);

/// <summary>Wakes the delivery worker when an event is queued, so a first attempt does not wait for the next poll.</summary>
public sealed class DeliverySignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    /// <summary>Waits until woken or until <paramref name="timeout"/> has passed on <paramref name="time"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var woken = _channel.Reader.WaitToReadAsync(linked.Token).AsTask();
        var elapsed = Task.Delay(timeout, time, linked.Token);
        await Task.WhenAny(woken, elapsed);
        await linked.CancelAsync();
        _channel.Reader.TryRead(out _);
        ct.ThrowIfCancellationRequested();
    }
}
