using Dapper;

namespace OverlapEscrow.Data.Partnerships;

public sealed class PartnershipRepository(IDbConnectionFactory db) : IPartnershipRepository
{
    public async Task<bool> CreateAsync(PartnershipRow partnership, CancellationToken ct = default)
    {
        var (low, high) = string.CompareOrdinal(partnership.InviterOrganizationId, partnership.InviteeOrganizationId) < 0
            ? (partnership.InviterOrganizationId, partnership.InviteeOrganizationId)
            : (partnership.InviteeOrganizationId, partnership.InviterOrganizationId);
        await using var connection = await db.OpenAsync(ct);
        var n = await connection.ExecuteAsync(
            """
            INSERT INTO partnerships (id, inviter_organization_id, invitee_organization_id, pair_low, pair_high, status, created_at)
            VALUES (@Id, @InviterOrganizationId, @InviteeOrganizationId, @low, @high, @Status, @CreatedAt)
            ON CONFLICT DO NOTHING
            """,
            new { partnership.Id, partnership.InviterOrganizationId, partnership.InviteeOrganizationId, low, high, partnership.Status, partnership.CreatedAt });
        return n == 1;
    }

    public async Task<PartnershipRow?> GetAsync(string organizationId, string partnershipId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<PartnershipRow>(
            """
            SELECT * FROM partnerships
            WHERE id = @partnershipId AND (inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId)
            """, new { organizationId, partnershipId });
    }

    public async Task<IReadOnlyList<PartnershipRow>> ListAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<PartnershipRow>(
            """
            SELECT * FROM partnerships
            WHERE inviter_organization_id = @organizationId OR invitee_organization_id = @organizationId
            ORDER BY created_at DESC, id
            """, new { organizationId })).AsList();
    }

    public async Task<bool> TransitionAsync(string partnershipId, string fromStatus, string toStatus, long at, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        var column = toStatus == "terminated" ? "terminated_at" : "responded_at";
        var n = await connection.ExecuteAsync(
            $"UPDATE partnerships SET status = @toStatus, {column} = @at WHERE id = @partnershipId AND status = @fromStatus",
            new { partnershipId, fromStatus, toStatus, at });
        return n == 1;
    }

    public async Task<IReadOnlyList<SharingRuleRow>> ListRulesAsync(string organizationId, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<SharingRuleRow>(
            "SELECT * FROM sharing_rules WHERE organization_id = @organizationId", new { organizationId })).AsList();
    }

    public async Task ReplaceDefaultRulesAsync(string organizationId, IReadOnlyList<SharingRuleRow> rules, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var rule in rules)
        {
            await connection.ExecuteAsync(
                """
                DELETE FROM sharing_rules
                WHERE organization_id = @organizationId AND population_id = @PopulationId AND partnership_id = ''
                """, new { organizationId, rule.PopulationId }, tx);
            await Insert(connection, tx, rule);
        }
        await tx.CommitAsync(ct);
    }

    public async Task ReplacePartnershipRulesAsync(string organizationId, string partnershipId, IReadOnlyList<SharingRuleRow> rules, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await connection.ExecuteAsync(
            "DELETE FROM sharing_rules WHERE organization_id = @organizationId AND partnership_id = @partnershipId",
            new { organizationId, partnershipId }, tx);
        foreach (var rule in rules) await Insert(connection, tx, rule);
        await tx.CommitAsync(ct);
    }

    private static Task Insert(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, SharingRuleRow rule) =>
        connection.ExecuteAsync(
            """
            INSERT INTO sharing_rules (organization_id, population_id, partnership_id, partner_population_id, level, fields, minimum_count, updated_at)
            VALUES (@OrganizationId, @PopulationId, @PartnershipId, @PartnerPopulationId, @Level, @Fields, @MinimumCount, @UpdatedAt)
            """, rule, tx);
}
