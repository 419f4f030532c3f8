namespace OverlapEscrow.Application.Storage;

/// <summary>
/// An event of the audit log as a change records it: when, which organization and actor, what, in which partnership,
/// and a detail object (serialized to JSON when stored). Written in the same transaction as the change it records.
/// </summary>
public sealed record AuditEntry(DateTimeOffset At, string OrganizationId, string Actor, string Action, string? PartnershipId, object Detail);

/// <summary>
/// Starts units of work: one transaction in which a change, its audit event and its outgoing events are written
/// together, or none of them. Use cases that change state open one; reads use the stores directly, or a read-only snapshot
/// (<see cref="BeginReadAsync"/>) where one request reads several stores.
/// </summary>
public interface ITransactions
{
    /// <summary>Begins a write transaction: it takes the database's write lock (or the row locks its statements name) as it goes.</summary>
    Task<IUnitOfWork> BeginAsync(CancellationToken ct);

    /// <summary>
    /// Begins a read-only snapshot over one connection: several reads of a request see one consistent state, and pay
    /// for one connection instead of one each. It takes no write lock; nothing may be written through it (disposing it
    /// without <see cref="IUnitOfWork.CommitAsync"/> ends it).
    /// </summary>
    Task<IUnitOfWork> BeginReadAsync(CancellationToken ct);
}

/// <summary>The stores bound to one transaction. Nothing is written unless <see cref="CommitAsync"/> is called.</summary>
public interface IUnitOfWork : IAsyncDisposable
{
    IAccountRepository Accounts { get; }
    IPopulationRepository Populations { get; }
    IPartnershipRepository Partnerships { get; }
    IAuditRepository Audit { get; }
    IOverlapHistoryRepository History { get; }
    ICountReleaseRepository Releases { get; }
    IHealthReleaseRepository HealthReleases { get; }
    IWebhookRepository Webhooks { get; }
    IScheduleRepository Schedules { get; }
    IDataRequestRepository DataRequests { get; }
    IAttributionRepository Attributions { get; }

    /// <summary>A version's stored columns, written with the commit that makes the version current.</summary>
    IVersionColumnStore VersionColumns { get; }

    /// <summary>Deleting an organization's rows.</summary>
    IOrganizationErasureStore Erasure { get; }

    /// <summary>Events of the change, queued for delivery to the subscribed webhooks of their organization.</summary>
    IEventOutbox Outbox { get; }

    /// <summary>The overlap refresher's queue: a change queues its refresh here, so both commit together (an outbox).</summary>
    IRefreshQueueRepository RefreshQueue { get; }

    Task CommitAsync(CancellationToken ct);

    /// <summary>Runs <paramref name="action"/> once the transaction has committed (never when it rolls back).</summary>
    void AfterCommit(Action action);
}

/// <summary>
/// The outbox of events for webhooks. Publishing in a unit of work writes one delivery per subscribed webhook of
/// the organization in the same transaction as the change, so an event exists if and only if its change does.
/// Publishers decide what the payload holds and must put in it only what the receiving organization may see.
/// The body is stored only as <paramref name="seal"/> gives it for each delivery id (sealed under the receiver's key).
/// </summary>
public interface IEventOutbox
{
    /// <summary>Queues an event whose body <paramref name="seal"/> seals for a delivery id; returns how many webhooks will receive it.</summary>
    Task<int> PublishAsync(string organizationId, string type, DateTimeOffset at, Func<string, CancellationToken, Task<Keys.SealedValue>> seal, CancellationToken ct);
}

/// <summary>Whether the database answers (liveness and readiness checks).</summary>
public interface IStorageHealth
{
    Task<bool> IsAvailableAsync(CancellationToken ct);

    /// <summary>
    /// Which database this is, for the start-up log: the provider and where it is (the SQLite file; the PostgreSQL host,
    /// port and database name). Never the password, the user or the rest of a connection string.
    /// </summary>
    string Description { get; }
}

/// <summary>Brings the database's schema up to date (at start-up, before requests are served).</summary>
public interface IStorageMigrations
{
    /// <summary>Applies the migrations not applied yet; returns their names.</summary>
    Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct);

    /// <summary>
    /// The migrations this build has that the database has not applied (all of them when it has none); throws the
    /// driver's exception when the database cannot be reached. Reads only, takes no lock.
    /// </summary>
    Task<IReadOnlyList<string>> PendingAsync(CancellationToken ct);
}
