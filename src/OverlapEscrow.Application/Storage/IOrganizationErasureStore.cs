namespace OverlapEscrow.Application.Storage;

/// <summary>What an organization's deletion removes, counted before it goes (for the deletion receipt), and its versions (to drop them from memory).</summary>
public sealed record ErasureInventory(
    int Members,
    int ApiKeys,
    int Populations,
    int Versions,
    long Segments,
    long Records,
    int HistoryPoints,
    int Webhooks,
    int Schedules,
    IReadOnlyList<string> VersionIds)
{
    /// <summary>Data requests the organization made or received (its texts in them are sealed under its key; the rows go with it).</summary>
    public int DataRequests { get; init; }

    /// <summary>Attribution claims it made or that name it (its texts in them are sealed under its key; the rows go with it).</summary>
    public int Attributions { get; init; }

    /// <summary>Webhook deliveries still pending (their bodies are sealed under its key; the rows go with its webhooks).</summary>
    public int PendingWebhookDeliveries { get; init; }

    /// <summary>Sealed parts of its versions' stored columns (token columns, record blocks); they go with the versions.</summary>
    public long ColumnParts { get; init; }
}

/// <summary>
/// The database side of deleting an organization (its keys are destroyed in the keyring, not here). Deleting the
/// organization's row removes, by the schema's cascades, everything that belongs to it: members and their refresh
/// tokens, API keys, populations with their versions, segments and sharing rules, idempotency keys, schedules and
/// runs, webhooks with their deliveries, data requests and attribution claims of either side, history (its own, and its partners' history of cells with its populations),
/// and its partnerships. A table added later that belongs to an organization must reference organizations(id) with
/// ON DELETE CASCADE, or be deleted here.
/// </summary>
public interface IOrganizationErasureStore
{
    Task<ErasureInventory> InventoryAsync(string organizationId, CancellationToken ct);

    /// <summary>
    /// Keeps each partnership of the organization as a tombstone (ids, sides and dates only, ended at
    /// <paramref name="at"/> if it had not ended), so the partner keeps the audit evidence of who read what in it; deletes
    /// the tombstones the organization was the last side of, and the partners' sharing overrides for its partnerships.
    /// Returns how many partnerships became tombstones.
    /// </summary>
    Task<int> TombstonePartnershipsAsync(string organizationId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Deletes the organization's row (and so everything that cascades from it) and its audit views; false when it did not exist.</summary>
    Task<bool> DeleteOrganizationAsync(string organizationId, CancellationToken ct);

    /// <summary>
    /// Holds the organization's row for the deletion until the unit of work ends (PostgreSQL: FOR UPDATE), taken first: a
    /// transaction that shares it for its foreign keys and holds a partnership (an overlap refresh) then waits before it
    /// holds anything the deletion wants, rather than holding a partnership while the deletion waits for its share.
    /// </summary>
    Task LockOrganizationAsync(string organizationId, CancellationToken ct);

    /// <summary>Every organization that exists (for the reconciliation with the keyring at start-up).</summary>
    Task<IReadOnlyList<string>> ListOrganizationIdsAsync(CancellationToken ct);
}
