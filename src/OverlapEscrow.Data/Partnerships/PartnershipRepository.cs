using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Data.Partnerships;

internal sealed class PartnershipRepository(IDbScope scope) : IPartnershipRepository
{
    public async Task<bool> CreateAsync(Partnership partnership, CancellationToken ct)
    {
        var (low, high) = string.CompareOrdinal(partnership.InviterOrganizationId, partnership.InviteeOrganizationId) < 0
            ? (partnership.InviterOrganizationId, partnership.InviteeOrganizationId)
            : (partnership.InviteeOrganizationId, partnership.InviterOrganizationId);
        await using var db = await scope.OpenAsync(ct);
        // The unique index on the open pair decides: two invitations racing each other cannot both open.
        var n = await db.ExecuteAsync(
            """
            INSERT INTO partnerships (id, inviter_organization_id, invitee_organization_id, pair_low, pair_high, status, created_at)
            VALUES (@Id, @InviterOrganizationId, @InviteeOrganizationId, @low, @high, @Status, @CreatedAt)
            ON CONFLICT DO NOTHING
            """,
            new
            {
                partnership.Id, partnership.InviterOrganizationId, partnership.InviteeOrganizationId, low, high,
                Status = Statuses.ToText(partnership.Status), CreatedAt = Time.ToUnixMs(partnership.CreatedAt),
            });
        return n == 1;
    }

    /// <summary>
    /// Partnerships with their tombstones (a partnership whose other side was deleted): a tombstone reads as a terminated
    /// partnership, so everything that decides on the status treats it as ended.
    /// </summary>
    private const string WithTombstones =
        """
        SELECT id, inviter_organization_id, invitee_organization_id, status, created_at, responded_at, terminated_at FROM partnerships
        UNION ALL
        SELECT id, inviter_organization_id, invitee_organization_id, 'terminated', created_at, responded_at, terminated_at FROM partnership_tombstones
        """;

    public async Task<Partnership?> GetAsync(string organizationId, string partnershipId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<PartnershipRow>(
            $"""
            SELECT * FROM ({WithTombstones}) AS p
            WHERE id = @partnershipId AND (inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)
            """, new { organizationId, partnershipId }))?.ToDomain();
    }

    public async Task LockAsync(string partnershipId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        // First a share of both organizations' rows, in the order of their ids, as the rows this transaction goes on to
        // insert (history points, releases, events) take one for their foreign keys: waiting for them before holding the
        // partnership, not while holding it, keeps a writer that holds an organization and then wants the partnership
        // (a sharing change) from deadlocking with it.
        if (db.Dialect == SqlDialect.Postgres)
            await db.ExecuteAsync(
                """
                SELECT id FROM organizations
                WHERE id IN (SELECT inviter_organization_id FROM partnerships WHERE id = @partnershipId
                             UNION SELECT invitee_organization_id FROM partnerships WHERE id = @partnershipId)
                ORDER BY id FOR KEY SHARE
                """, new { partnershipId });
        await db.ScalarAsync<string?>($"SELECT id FROM partnerships WHERE id = @partnershipId{db.Dialect.ForNoKeyUpdate}", new { partnershipId });
    }

    public async Task<IReadOnlyList<Partnership>> ListAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<PartnershipRow>(
            $"""
            SELECT * FROM ({WithTombstones}) AS p
            WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId
            ORDER BY created_at DESC, id
            """, new { organizationId })).Select(p => p.ToDomain()).ToList();
    }

    public async Task<bool> TransitionAsync(string partnershipId, PartnershipStatus from, PartnershipStatus to, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var column = to == PartnershipStatus.Terminated ? "terminated_at" : "responded_at";
        // A compare-and-set on the status: of two requests moving one partnership, one wins.
        var n = await db.ExecuteAsync(
            $"UPDATE partnerships SET status = @toStatus, {column} = @at WHERE id = @partnershipId AND status = @fromStatus",
            new { partnershipId, fromStatus = Statuses.ToText(from), toStatus = Statuses.ToText(to), at = Time.ToUnixMs(at) });
        return n == 1;
    }

    public async Task<IReadOnlyList<SharingRule>> ListRulesAsync(string organizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<SharingRuleRow>(
            "SELECT * FROM sharing_rules WHERE organization_id = @organizationId ORDER BY population_id, partnership_id, partner_population_id", new { organizationId })).Select(r => r.ToDomain()).ToList();
    }

    public async Task<(IReadOnlyList<SharingRule> First, IReadOnlyList<SharingRule> Second)> ListRulesBothAsync(string firstOrganizationId,
        string secondOrganizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<SharingRuleRow>(
            "SELECT * FROM sharing_rules WHERE organization_id IN (@firstOrganizationId, @secondOrganizationId) ORDER BY population_id, partnership_id, partner_population_id",
            new { firstOrganizationId, secondOrganizationId });
        return (rows.Where(r => r.OrganizationId == firstOrganizationId).Select(r => r.ToDomain()).ToList(),
            rows.Where(r => r.OrganizationId == secondOrganizationId).Select(r => r.ToDomain()).ToList());
    }

    public async Task ReplaceDefaultRulesAsync(string organizationId, IReadOnlyList<SharingRule> rules, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // Rule writers of one organization take turns (its row is locked), so two replacements cannot interleave their
        // deletes and inserts; without excluding the foreign-key checks of rows that reference the organization (an overlap
        // refresh holding the partnership inserts such rows, and the change then waits for that partnership).
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @organizationId{db.Dialect.ForNoKeyUpdate}", new { organizationId });
        foreach (var rule in rules)
        {
            await db.ExecuteAsync(
                """
                DELETE FROM sharing_rules
                WHERE organization_id = @organizationId AND population_id = @PopulationId AND partnership_id = ''
                """, new { organizationId, rule.PopulationId });
            await Insert(db, SharingRuleRow.From(organizationId, rule with { PartnershipId = null, PartnerPopulationId = null }, at));
        }
        await tx.CommitAsync();
    }

    public async Task ReplacePartnershipRulesAsync(string organizationId, string partnershipId, IReadOnlyList<SharingRule> rules, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        // Rule writers of one organization take turns (its row is locked), so two replacements cannot interleave their
        // deletes and inserts; without excluding the foreign-key checks of rows that reference the organization (an overlap
        // refresh holding the partnership inserts such rows, and the change then waits for that partnership).
        await db.ScalarAsync<string?>($"SELECT id FROM organizations WHERE id = @organizationId{db.Dialect.ForNoKeyUpdate}", new { organizationId });
        await db.ExecuteAsync(
            "DELETE FROM sharing_rules WHERE organization_id = @organizationId AND partnership_id = @partnershipId",
            new { organizationId, partnershipId });
        foreach (var rule in rules) await Insert(db, SharingRuleRow.From(organizationId, rule with { PartnershipId = partnershipId }, at));
        await tx.CommitAsync();
    }

    private static Task Insert(Db db, SharingRuleRow rule) =>
        db.ExecuteAsync(
            """
            INSERT INTO sharing_rules (organization_id, population_id, partnership_id, partner_population_id, level, fields, minimum_count, updated_at)
            VALUES (@OrganizationId, @PopulationId, @PartnershipId, @PartnerPopulationId, @Level, @Fields, @MinimumCount, @UpdatedAt)
            """, rule);
}
