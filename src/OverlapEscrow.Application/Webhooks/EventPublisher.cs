using System.Security.Cryptography;
using System.Text;
using OverlapEscrow.Application.Events;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>Publishes the events of a change, in the change's unit of work. Publishers put in a payload only what the receiving organization may see.</summary>
public interface IEventPublisher
{
    Task PublishAsync(IUnitOfWork uow, string organizationId, string type, object payload, DateTimeOffset at, CancellationToken ct);
}

/// <summary>
/// Publishes the events of a change into its unit of work's outbox (so an event exists if and only if its change
/// does) and wakes the delivery worker once the change has committed, so a first attempt does not wait for a poll.
/// The body (the Standard Webhooks envelope) is sealed under the receiving organization's data key for each delivery
/// (<see cref="WebhookDeliverer.PayloadLabel"/>, bound to the delivery id): a body can hold the receiver's own record
/// ids (coselling.joint_opportunity), which must not lie in the outbox in plaintext; the deliverer opens it to send it.
/// </summary>
public sealed class EventPublisher(DeliverySignal signal, IKeyring keyring) : IEventPublisher
{
    public async Task PublishAsync(IUnitOfWork uow, string organizationId, string type, object payload, DateTimeOffset at, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(new WebhookEnvelope(type, at, payload).Serialize());
        IOrganizationCipher? cipher = null;
        try
        {
            var queued = await uow.Outbox.PublishAsync(organizationId, type, at, async (deliveryId, token) =>
                (cipher ??= await keyring.ForOrganizationAsync(organizationId, token)).Seal(WebhookDeliverer.PayloadLabel, deliveryId, body), ct);
            if (queued > 0) uow.AfterCommit(signal.Wake);
        }
        finally
        {
            cipher?.Dispose();
            CryptographicOperations.ZeroMemory(body);
        }
    }
}

/// <summary>Wakes the delivery worker when an event is queued, so a first attempt does not wait for the next poll.</summary>
public sealed class DeliverySignal : WakeSignal;
