using System.Text.Json;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Audit;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Application.Organizations;

/// <summary>What a deletion receipt states. Signed by the escrow (<see cref="EscrowSigner"/>), verifiable offline with its public key.</summary>
public sealed record DeletionReceiptStatement(
    string Type,
    string ReceiptId,
    DeletionReceiptStatement.Subject Organization,
    DateTimeOffset DeletedAt,
    string DeletedBy,
    IReadOnlyList<string> DestroyedKeyIds,
    DeletionReceiptStatement.Counts Deleted,
    IReadOnlyList<string> PartnershipsEnded,
    IReadOnlyList<string> Kept,
    string KeyId)
{
    public const string TypeName = "oe-deletion-receipt-v1";

    public sealed record Subject(string Id, string Slug, string Name);

    public sealed record Counts(int Members, int ApiKeys, int Populations, int Versions, long Segments, long Records, int HistoryPoints, int Webhooks, int Schedules,
        int DataRequests = 0, int Attributions = 0, int PendingWebhookDeliveries = 0, long ColumnParts = 0);
}

/// <summary>
/// Deleting an organization, with crypto-shredding: its data keys are destroyed in the keyring first, so from that
/// moment every copy of its sealed data — the live database, its free pages and log, every backup — is unreadable;
/// then its rows go from the database in one transaction, its open partnerships end (the partner is told) and are kept
/// as tombstones for the partner's audit evidence; finally a receipt signed by the escrow says what was destroyed.
/// </summary>
/// <remarks>
/// Crash-safe and resumable: the keyring's erasure mark is written before anything else changes, and every later
/// step is idempotent. <see cref="ResumeAsync"/> (at every start, and in the operator's command line) finishes the
/// deletion of every organization the keyring marks as erased — which is also what erases it again from a database
/// restored from a backup taken before its deletion.
/// </remarks>
public sealed class OrganizationErasure(
    IAccountRepository accounts,
    IPartnershipRepository partnerships,
    IOrganizationErasureStore erasure,
    ITransactions transactions,
    ITransientFailures transient,
    Keyring keyring,
    EscrowSigner signer,
    PermissionWithdrawal withdrawal,
    IEventPublisher events,
    PopulationDataCache versions,
    AuditViews auditViews,
    IDatabaseMaintenance database,
    TimeProvider time,
    ILogger<OrganizationErasure> logger)
{
    public const string SystemActor = "system:erasure";

    private static readonly JsonSerializerOptions StatementJson = new(JsonSerializerDefaults.Web);

    /// <summary>An admin deletes its own organization, confirming with its slug.</summary>
    public async Task<Outcome<SignedStatement>> DeleteAsync(Caller caller, string? confirmSlug, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(caller.OrganizationId, ct);
        if (organization is null) return new Failure.NotFound("organization");
        if (confirmSlug != organization.Slug)
            return Failure.Invalid.Of("confirmSlug", "confirmSlug must be the organization's slug, exactly: deleting an organization cannot be undone.");
        return await EraseAsync(organization, caller.Actor, ct);
    }

    /// <summary>Deletes an organization (the operator's command line calls this directly) and returns the signed receipt.</summary>
    public async Task<SignedStatement> EraseAsync(Organization organization, string actor, CancellationToken ct)
    {
        // Its events so far are indexed into its partners' chains before its partnerships become tombstones.
        await auditViews.CatchUpAsync(ct);
        var inventory = await erasure.InventoryAsync(organization.Id, ct);
        var ended = (await partnerships.ListAsync(organization.Id, ct)).Select(p => p.Id).ToList();
        var now = time.GetUtcNow();
        // 1. The keys go first: from here on, nothing sealed under them can be read anywhere.
        var mark = keyring.Store.Erase(organization.Id, now);
        logger.LogWarning("Organization {OrganizationId} erased: {KeyCount} data keys destroyed", organization.Id, mark.KeyIds.Count);
        // The purge of step 3 is owed before anything is deleted: a crash or a failed purge leaves it to OwedPurge.
        await database.OwePurgeAsync(ct);
        // 2. The rows, the partnerships, the partner's notices and the audit event, in one transaction.
        await CompleteWithRetriesAsync(organization.Id, actor, mark, ct);
        // 3. What this process still holds in memory, and what the database file still holds in its log.
        versions.Forget(inventory.VersionIds);
        await PurgeAsync(ct);

        return signer.Sign(keyId => JsonSerializer.Serialize(new DeletionReceiptStatement(DeletionReceiptStatement.TypeName, Ids.New("rcp"),
            new DeletionReceiptStatement.Subject(organization.Id, organization.Slug, organization.Name), mark.ErasedAt, actor, mark.KeyIds,
            new DeletionReceiptStatement.Counts(inventory.Members, inventory.ApiKeys, inventory.Populations, inventory.Versions, inventory.Segments,
                inventory.Records, inventory.HistoryPoints, inventory.Webhooks, inventory.Schedules, inventory.DataRequests, inventory.Attributions,
                inventory.PendingWebhookDeliveries, inventory.ColumnParts),
            ended,
            [
                "audit events naming the organization (the append-only, hash-chained log; no record contents)",
                "partnership tombstones (ids, the two organization ids, dates) for the partners' audit evidence",
                "the keyring's erasure mark (organization id, time, destroyed key ids)",
            ],
            keyId), StatementJson));
    }

    /// <summary>
    /// Finishes the deletion of every organization the keyring marks as erased that the database still holds (a crash
    /// between the two steps, or a database restored from before the deletion). Returns the organizations finished.
    /// </summary>
    public async Task<IReadOnlyList<string>> ResumeAsync(CancellationToken ct)
    {
        var present = (await erasure.ListOrganizationIdsAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var finished = new List<string>();
        var failed = new List<string>();
        foreach (var id in keyring.Store.ListErased().Where(present.Contains))
        {
            var mark = keyring.Store.ReadErasure(id)!;
            // A key file next to the mark means the crash came between the two: destroy it now.
            keyring.Store.Erase(id, mark.ErasedAt);
            await database.OwePurgeAsync(ct);
            try
            {
                var inventory = await erasure.InventoryAsync(id, ct);
                await CompleteWithRetriesAsync(id, SystemActor, mark, ct);
                versions.Forget(inventory.VersionIds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The others are finished all the same; this one stops the start below, by its id and the failure's type.
                logger.LogError("Finishing the erasure of organization {OrganizationId} failed: {ExceptionType}", id, e.GetType().Name);
                failed.Add($"{id} ({e.GetType().Name})");
                continue;
            }
            finished.Add(id);
            logger.LogWarning("Finished erasing organization {OrganizationId} (erased at {ErasedAt:u})", id, mark.ErasedAt);
        }
        if (finished.Count > 0) await PurgeAsync(ct);
        if (failed.Count > 0)
            throw new InvalidOperationException($"The erasure of {failed.Count} organizations the keyring marks as erased could not be finished: " +
                $"{string.Join(", ", failed)}. Their keys are destroyed and their data unreadable; their rows are still in the database.");
        return finished;
    }

    /// <summary>
    /// <see cref="CompleteAsync"/>, again when the database rolled it back as a deadlock's victim: the keys are gone by
    /// now, so an erasure that gave up would leave the organization's rows and open partnerships in place until the next
    /// start (seen on PostgreSQL with two instances under load, 2 of 15 erasures, 2026-12-04). Each attempt reads what
    /// is left and changes it in one transaction; one that finds the organization gone does nothing.
    /// </summary>
    private async Task CompleteWithRetriesAsync(string organizationId, string actor, ErasureMark mark, CancellationToken ct)
    {
        const int attempts = 8;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CompleteAsync(organizationId, actor, mark, ct);
                return;
            }
            catch (Exception e) when (attempt < attempts && transient.IsRetryable(e))
            {
                logger.LogWarning("Erasing organization {OrganizationId}: attempt {Attempt} was rolled back by the database ({ExceptionType}); trying again",
                    organizationId, attempt, e.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt * (1 + Random.Shared.NextDouble())), ct);
            }
        }
    }

    private async Task CompleteAsync(string organizationId, string actor, ErasureMark mark, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(organizationId, ct);
        if (organization is null) return; // finished already
        var open = (await partnerships.ListAsync(organizationId, ct)).Where(p => p.Status is PartnershipStatus.Invited or PartnershipStatus.Active)
            .OrderBy(p => p.Id, StringComparer.Ordinal).ToList(); // locked in the order of their ids (IPartnershipRepository.LockAsync)
        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        // Locks before any change, in the order every other holder takes them (IPartnershipRepository.LockAsync: the
        // organizations, then the partnerships by id): the organization's row, which its deletion below needs whole, then
        // every partnership it ends. Taken as it went, a refresh holding one of the partnerships and sharing the
        // organization's row for its foreign keys deadlocked with it on PostgreSQL (a review, 2026-12-04).
        await uow.Erasure.LockOrganizationAsync(organizationId, ct);
        foreach (var p in open) await uow.Partnerships.LockAsync(p.Id, ct);
        foreach (var p in open)
        {
            if (!await uow.Partnerships.TransitionAsync(p.Id, p.Status, PartnershipStatus.Terminated, now, ct)) continue;
            await withdrawal.ApplyAsync(uow, organizationId, p.Id, null, ct);
            await uow.Audit.AppendAsync(new AuditEntry(now, organizationId, actor, "partnership.terminated", p.Id, new { reason = "organization_deleted" }), ct);
            // Only the partner is told: the deleted organization's webhooks go with it. A partner erased itself (both
            // deleted, at once or restored together from a backup taken before) is told nothing: its keys are gone, so
            // nothing can be sealed for it, and its own erasure removes its webhooks.
            try
            {
                await events.PublishAsync(uow, p.PartnerOf(organizationId), "partnership.terminated",
                    PartnershipNotice.For(p with { Status = PartnershipStatus.Terminated }, new PartnerOrganization(organization.Id, organization.Slug, organization.Name)), now, ct);
            }
            catch (OrganizationGoneException)
            {
            }
        }
        await uow.Erasure.TombstonePartnershipsAsync(organizationId, now, ct);
        await uow.Erasure.DeleteOrganizationAsync(organizationId, ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, organizationId, actor, "organization.deleted", null,
            new { erasedAt = mark.ErasedAt, destroyedKeyIds = mark.KeyIds, partnershipsEnded = open.Select(p => p.Id).ToList() }), ct);
        await uow.CommitAsync(ct);
    }

    // The rows are gone and the keys destroyed; a purge that fails here stays owed and is paid by OwedPurge.
    private Task PurgeAsync(CancellationToken ct) => database.TryPurgeDeletedContentAsync(logger, "an erasure", ct);
}
