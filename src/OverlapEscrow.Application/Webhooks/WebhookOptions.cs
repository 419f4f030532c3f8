using System.ComponentModel.DataAnnotations;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>Settings under Escrow:Webhooks (environment: Escrow__Webhooks__Name).</summary>
public sealed class WebhookOptions
{
    /// <summary>Attempts per delivery, the first included, before it is given up as failed.</summary>
    [Range(1, 30)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The base of the exponential backoff between attempts.</summary>
    [Range(1, 86_400)]
    public int RetryDelaySeconds { get; set; } = 60;

    /// <summary>The longest wait between two attempts.</summary>
    [Range(1, 10_080)]
    public int MaxRetryDelayMinutes { get; set; } = 360;

    /// <summary>How often the delivery worker looks for due deliveries when no new event wakes it.</summary>
    [Range(1, 3600)]
    public int PollSeconds { get; set; } = 5;

    /// <summary>Deliveries sent at once by one worker.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 4;

    /// <summary>
    /// Of one worker's round of deliveries, the most that go to one organization's webhooks, so that one organization's
    /// backlog, or its receivers that hang until the outbound timeout, cannot hold up every other organization's events.
    /// </summary>
    [Range(1, 64)]
    public int ConcurrencyPerOrganization { get; set; } = 2;

    /// <summary>Webhooks per organization.</summary>
    [Range(1, 1000)]
    public int MaxPerOrganization { get; set; } = 20;

    /// <summary>
    /// After a secret rotation, how long deliveries are signed with the previous secret as well as the new one (Standard
    /// Webhooks lets webhook-signature carry several signatures), so a receiver can switch without missing one.
    /// </summary>
    [Range(0, 720)]
    public int SecretOverlapHours { get; set; } = 24;

    /// <summary>Run the background delivery worker. Off, deliveries wait in the outbox until something calls DeliverDueAsync.</summary>
    public bool DeliveryWorker { get; set; } = true;
}

/// <summary>The events a webhook can subscribe to.</summary>
public static class WebhookEventTypes
{
    public const string SyncSucceeded = "sync.succeeded";
    public const string SyncFailed = "sync.failed";
    public const string OverlapsChanged = "overlaps.changed";
    public const string PartnershipInvited = "partnership.invited";
    public const string PartnershipAccepted = "partnership.accepted";
    public const string PartnershipTerminated = "partnership.terminated";
    public const string DataRequestCreated = "data_request.created";
    public const string DataRequestAnswered = "data_request.answered";
    public const string DataRequestDeclined = "data_request.declined";
    public const string AttributionClaimed = "attribution.claimed";
    public const string AttributionConfirmed = "attribution.confirmed";
    public const string AttributionDisputed = "attribution.disputed";
    public const string JointOpportunity = "coselling.joint_opportunity";

    public static readonly IReadOnlyList<string> All =
        [SyncSucceeded, SyncFailed, OverlapsChanged, PartnershipInvited, PartnershipAccepted, PartnershipTerminated,
         DataRequestCreated, DataRequestAnswered, DataRequestDeclined, AttributionClaimed, AttributionConfirmed, AttributionDisputed,
         JointOpportunity];
}
