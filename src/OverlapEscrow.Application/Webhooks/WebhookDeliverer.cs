using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Privacy;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// Sends what is due in the webhook outbox: one attempt per due delivery per call. A 2xx answer delivers it; any
/// other answer, a network failure or a timeout schedules the next attempt after <see cref="RetrySchedule"/>'s
/// backoff, until <see cref="WebhookOptions.MaxAttempts"/>; a target the outbound guard refuses (a private
/// address, a redirect to another host) fails the delivery at once, since trying again changes nothing. Every
/// attempt is written to the delivery log with its status code or the reason it had none.
/// </summary>
/// <remarks>
/// Requests go through <see cref="OutboundHttp"/>, which connects only to public addresses (unless
/// Escrow:Outbound:AllowPrivateNetworks) and follows redirects only to the same host. Response bodies are never
/// read or stored. Neither the URL (it may carry a receiver's token) nor the secret is ever logged.
/// </remarks>
public sealed class WebhookDeliverer(
    IWebhookRepository webhooks,
    IKeyring keyring,
    PartnerViews views,
    CountReleases counts,
    OutboundHttp http,
    RetrySchedule retries,
    IOptions<WebhookOptions> options,
    IOptions<OutboundOptions> outbound,
    TimeProvider time,
    ILogger<WebhookDeliverer> logger)
{
    public const string SecretLabel = "oe-webhook-secret-v1";

    /// <summary>The purpose label of a delivery's sealed body (bound to the delivery id): opened only to send it.</summary>
    public const string PayloadLabel = "oe-webhook-payload-v1";
    private const int Batch = 50;

    /// <summary>
    /// Makes one attempt for each delivery due now (at most a batch, and at most <see cref="WebhookOptions.ConcurrencyPerOrganization"/>
    /// for one organization, so they are also the most of its deliveries under way at once); returns how many were attempted.
    /// </summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // The lease outlasts the longest attempt (a timeout per hop), so no other worker picks the delivery meanwhile.
        var lease = TimeSpan.FromSeconds(outbound.Value.TimeoutSeconds * (outbound.Value.MaxRedirects + 1) + 60);
        var claim = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var due = await webhooks.ClaimDueAsync(now, now + lease, claim, Batch, options.Value.ConcurrencyPerOrganization, ct);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Concurrency, CancellationToken = ct },
            (delivery, token) => new ValueTask(AttemptAsync(delivery, claim, lease, token)));
        return due.Count;
    }

    private async Task AttemptAsync(DueDelivery delivery, string claim, TimeSpan lease, CancellationToken ct)
    {
        // The batch's lease was taken when it was claimed; a delivery that waited its turn behind slow receivers for longer
        // may have been claimed by another instance since, which sends it: this worker then sends nothing (a trial on two
        // instances saw the same attempt sent twice, and logged once). Renewed, it outlasts this attempt as the claim did.
        if (!await webhooks.RenewLeaseAsync(delivery.Id, claim, time.GetUtcNow() + lease, ct))
        {
            logger.LogInformation("Webhook delivery {DeliveryId} was claimed by another worker while it waited in this one's batch; not sent here", delivery.Id);
            return;
        }
        var attempt = (int)delivery.Attempts + 1;
        var started = time.GetUtcNow();
        var watch = Stopwatch.StartNew();
        int? status = null;
        string? error = null;
        var refused = false;
        try
        {
            byte[] key;
            byte[]? previous = null;
            string body;
            Uri destination;
            using (var cipher = await keyring.ForOrganizationAsync(delivery.OrganizationId, ct))
            {
                destination = delivery.SealedTarget is { } target ? WebhookTargets.Open(cipher, delivery.WebhookId, target).Url
                    : delivery.Url ?? throw new InvalidOperationException("The webhook has no target.");
                // The body is opened here, to be sent, and nowhere else (sealed at rest under the receiver's key).
                body = delivery.SealedPayload is { } sealedBody
                    ? Encoding.UTF8.GetString(cipher.Open(PayloadLabel, delivery.Id, sealedBody))
                    : delivery.Payload ?? throw new InvalidOperationException("The delivery has no body.");
                key = cipher.Open(SecretLabel, delivery.WebhookId, delivery.Secret);
                if (delivery.PreviousSecret is { } old) previous = cipher.Open(SecretLabel, delivery.WebhookId, old);
            }
            if (await WithdrawnAsync(delivery, body, ct) is { } withdrawn)
            {
                CryptographicOperations.ZeroMemory(key);
                if (previous is not null) CryptographicOperations.ZeroMemory(previous);
                refused = true;
                error = withdrawn;
                throw new OperationCanceledException(withdrawn);
            }
            string signature;
            var timestamp = started.ToUnixTimeSeconds();
            try
            {
                signature = WebhookSignature.Sign(key, delivery.Id, timestamp, body);
                // During a rotation's overlap both signatures go, space-separated (Standard Webhooks): a receiver
                // that knows either secret accepts the delivery.
                if (previous is not null) signature += " " + WebhookSignature.Sign(previous, delivery.Id, timestamp, body);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(key);
                if (previous is not null) CryptographicOperations.ZeroMemory(previous);
            }

            using var response = await http.SendAsync(url =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                request.Headers.Add("webhook-id", delivery.Id);
                request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.Add("webhook-signature", signature);
                request.Headers.UserAgent.ParseAdd("OverlapEscrow-Webhooks/1");
                return request;
            }, destination, ct);
            status = (int)response.StatusCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return; // shutting down: the lease runs out and the attempt is made again later
        }
        catch (OperationCanceledException) when (refused)
        {
            // withdrawn before sending: recorded below as a refusal, nothing left the escrow
        }
        catch (Exception e) when (OutboundHttp.RefusalIn(e) is { } refusal)
        {
            // A host name that leads nowhere the escrow connects to is retried like one that does not resolve (its words too).
            refused = !refusal.ByName;
            error = refusal.ByName ? refusal.Message : "Refused: " + refusal.Message;
        }
        catch (TaskCanceledException)
        {
            error = $"No answer within {outbound.Value.TimeoutSeconds} seconds.";
        }
        catch (HttpRequestException e)
        {
            error = Describe(e);
        }
        catch (Exception e)
        {
            error = "The request could not be made (" + e.GetType().Name + ").";
        }

        var delivered = status is >= 200 and < 300;
        var finished = time.GetUtcNow();
        var giveUp = !delivered && (refused || attempt >= options.Value.MaxAttempts);
        var update = delivered ? new DeliveryUpdate(DeliveryStatus.Delivered, null, finished)
            : giveUp ? new DeliveryUpdate(DeliveryStatus.Failed, null, finished)
            : new DeliveryUpdate(DeliveryStatus.Pending, finished + retries.DelayAfter(attempt), null);
        var recorded = await webhooks.RecordAttemptAsync(new DeliveryAttempt(delivery.Id, attempt, started, status, error, watch.ElapsedMilliseconds),
            claim, update, CancellationToken.None);

        logger.LogInformation("Webhook delivery {DeliveryId} ({EventType}) to webhook {WebhookId}, attempt {Attempt}: {Outcome}, {Status}",
            delivery.Id, delivery.EventType, delivery.WebhookId, attempt,
            status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? (refused ? "refused" : "no response"),
            recorded ? update.Status.ToString().ToLowerInvariant() : "lease lost");
    }

    /// <summary>
    /// Why a delivery that carries overlap results (<c>overlaps.changed</c>, <c>coselling.joint_opportunity</c>) must no
    /// longer go out, or null: the domain's rules (<see cref="ChangeNotice"/>), judged on the partnership, the rules and the
    /// partner's privacy settings in force now (a revocation takes effect on the very next event, retries included).
    /// </summary>
    private async Task<string?> WithdrawnAsync(DueDelivery delivery, string body, CancellationToken ct)
    {
        if (delivery.EventType is not (OverlapsChanged.Type or JointOpportunities.Type)) return null;
        using var doc = JsonDocument.Parse(body);
        if (!doc.RootElement.TryGetProperty("data", out var data) || !data.TryGetProperty("partnershipId", out var pid)) return "Withdrawn: the event names no partnership.";
        var view = await views.LoadAsync(delivery.OrganizationId, pid.GetString()!, ct);
        if (delivery.EventType == JointOpportunities.Type)
            return ChangeNotice.JointOpportunityWithdrawalReason(view, data.GetProperty("myPopulationId").GetString()!,
                data.TryGetProperty("partnerPopulationId", out var theirs) ? theirs.GetString() : null);
        var cells = data.GetProperty("cells").EnumerateArray().Select(cell => new SentCell(
            cell.GetProperty("myPopulationId").GetString()!,
            cell.GetProperty("partnerPopulationId").GetString()!,
            Enum.TryParse<SharingLevel>(cell.GetProperty("level").GetString(), ignoreCase: true, out var level) ? level : SharingLevel.Hidden,
            Int(cell, "count"),
            Int(cell, "previousCount"),
            cell.TryGetProperty("privacy", out var privacy) && privacy.ValueKind == JsonValueKind.Object
                && privacy.TryGetProperty("protected", out var noised) && noised.ValueKind == JsonValueKind.False,
            Int(cell, "minimumCount"))).ToList();
        // The partner's settings for me, read only when a counts-level cell needs them.
        var exactCountsNow = view is not null && cells.Any(c => c.Level == SharingLevel.Counts) && (await counts.SettingsAsync(view, ct)).ExactCounts;
        return ChangeNotice.WithdrawalReason(view, cells, exactCountsNow);

        static int? Int(JsonElement cell, string name) => cell.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
    }

    /// <summary>Why a request failed, in words that quote nothing the receiver sent.</summary>
    private static string Describe(HttpRequestException e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is SocketException s)
                return s.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "The connection was refused.",
                    SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "The host name did not resolve.",
                    SocketError.TimedOut => "The connection timed out.",
                    _ => $"The connection failed ({s.SocketErrorCode}).",
                };
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "The host name did not resolve.",
            HttpRequestError.SecureConnectionError => "The TLS handshake failed.",
            HttpRequestError.ConnectionError => "The connection failed.",
            HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse => "The response was not valid HTTP.",
            _ => "The request failed.",
        };
    }
}

/// <summary>Delivers the outbox until stopped: whenever an event is queued, and every PollSeconds for retries (the host's background service).</summary>
public sealed class WebhookDeliveryLoop(WebhookDeliverer deliverer, DeliverySignal signal, IOptions<WebhookOptions> options, TimeProvider time,
    ILogger<WebhookDeliveryLoop> logger)
{
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.DeliveryWorker) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await deliverer.DeliverDueAsync(stoppingToken) > 0) { }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Delivering webhooks failed: {ExceptionType}", e.GetType().Name);
            }
            try
            {
                await signal.WaitAsync(TimeSpan.FromSeconds(options.Value.PollSeconds), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
