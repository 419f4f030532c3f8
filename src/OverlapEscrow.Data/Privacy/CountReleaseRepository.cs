using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Data.Privacy;

/// <summary>
/// Released counts-level values, the budgets they spend and owners' privacy settings. A release moves its cell's head
/// with a compare-and-set and spends with one conditional update, both inside one write transaction (a savepoint in a
/// unit of work), so concurrent releases of one cell store one release and make one spend, on any database, and no
/// spending ever passes the budget.
/// </summary>
internal sealed class CountReleaseRepository(IDbScope scope) : ICountReleaseRepository
{
    private const string Columns =
        "id, partnership_id, viewer_organization_id, viewer_population_id, owner_organization_id, owner_population_id, viewer_version_id, " +
        "owner_version_id, released_at, value, gate, epsilon_millionths";

    private const string Cell =
        "partnership_id = @partnershipId AND viewer_organization_id = @viewerOrganizationId AND viewer_population_id = @viewerPopulationId " +
        "AND owner_population_id = @ownerPopulationId";

    public async Task<StoredRelease?> GetLatestAsync(string partnershipId, string viewerOrganizationId, string viewerPopulationId, string ownerPopulationId,
        CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<CountReleaseRow>(
            $"""
            SELECT {Columns} FROM count_releases
            WHERE id = (SELECT latest_release_id FROM count_release_heads WHERE {Cell}) AND viewer_organization_id = @viewerOrganizationId
            """,
            new { partnershipId, viewerOrganizationId, viewerPopulationId, ownerPopulationId }))?.ToDomain();
    }

    public async Task<IReadOnlyList<StoredRelease>> ListAsync(string partnershipId, string viewerOrganizationId, DateTimeOffset? from, DateTimeOffset to,
        CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.QueryAsync<CountReleaseRow>(
            $"""
            SELECT {Columns} FROM count_releases r
            WHERE partnership_id = @partnershipId AND viewer_organization_id = @viewerOrganizationId AND released_at <= @to
              AND (released_at >= @from OR released_at = (SELECT MAX(x.released_at) FROM count_releases x
                                                          WHERE x.partnership_id = r.partnership_id AND x.viewer_organization_id = r.viewer_organization_id
                                                            AND x.viewer_population_id = r.viewer_population_id
                                                            AND x.owner_population_id = r.owner_population_id
                                                            AND x.released_at < @from))
            ORDER BY viewer_population_id, owner_population_id, released_at, id
            """, new { partnershipId, viewerOrganizationId, from = from is { } f ? Time.ToUnixMs(f) : long.MinValue, to = Time.ToUnixMs(to) }))
            .Select(r => r.ToDomain()).ToList();
    }

    public async Task<ReleaseOutcome> TryReleaseAsync(StoredRelease release, string? expectedLatestId, BudgetSpend? spend, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var cell = new
        {
            partnershipId = release.PartnershipId, viewerOrganizationId = release.ViewerOrganizationId, viewerPopulationId = release.ViewerPopulationId,
            ownerPopulationId = release.OwnerPopulationId, releaseId = release.Id, expectedLatestId,
        };
        // The budget is paid before the cell's head moves: a refresh releases several cells of one owner and viewer in one
        // transaction, so it holds their budget row while it moves the next cell's head; a read that moved that head first
        // and then paid waited for it in turn (a deadlock on PostgreSQL, 2026-12-04). Budget, then head, for everyone.
        var spent = Epsilon.Zero;
        if (spend is not null)
        {
            if (await PrivacyBudgetRows.PayAsync(db, spend) is not { } total)
            {
                // Spent by the release that moved this cell meanwhile: that one is shown, as if the head had been tried first.
                var latest = await db.FirstOrDefaultAsync<string>($"SELECT latest_release_id FROM count_release_heads WHERE {Cell}", cell);
                return new ReleaseOutcome(latest != expectedLatestId ? ReleaseStatus.Superseded : ReleaseStatus.BudgetExhausted, Epsilon.Zero);
            }
            spent = total;
        }
        var moved = expectedLatestId is null
            ? await db.ExecuteAsync(
                """
                INSERT INTO count_release_heads (partnership_id, viewer_organization_id, viewer_population_id, owner_population_id, latest_release_id)
                VALUES (@partnershipId, @viewerOrganizationId, @viewerPopulationId, @ownerPopulationId, @releaseId)
                ON CONFLICT DO NOTHING
                """, cell)
            : await db.ExecuteAsync($"UPDATE count_release_heads SET latest_release_id = @releaseId WHERE {Cell} AND latest_release_id = @expectedLatestId", cell);
        if (moved != 1) return new ReleaseOutcome(ReleaseStatus.Superseded, Epsilon.Zero); // rolls back the payment
        await db.ExecuteAsync(
            $"""
            INSERT INTO count_releases ({Columns})
            VALUES (@Id, @PartnershipId, @ViewerOrganizationId, @ViewerPopulationId, @OwnerOrganizationId, @OwnerPopulationId, @ViewerVersionId,
                    @OwnerVersionId, @ReleasedAt, @Value, @Gate, @EpsilonMillionths)
            """, CountReleaseRow.From(release));
        await tx.CommitAsync();
        return new ReleaseOutcome(ReleaseStatus.Released, spent);
    }

    public async Task<BudgetUse> GetBudgetAsync(string ownerOrganizationId, string partnerOrganizationId, DateTimeOffset periodStart, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var rows = await db.QueryAsync<(long Spent, long Releases)>(
            $"SELECT spent_millionths, releases FROM privacy_budgets WHERE {PrivacyBudgetRows.Where}",
            new { ownerOrganizationId, partnerOrganizationId, periodStart = Time.ToUnixMs(periodStart) });
        return rows.Count == 1 ? new BudgetUse(periodStart, new Epsilon(rows[0].Spent), (int)rows[0].Releases) : new BudgetUse(periodStart, Epsilon.Zero, 0);
    }

    public async Task<StoredPrivacySettings?> GetSettingsAsync(string ownerOrganizationId, string partnerOrganizationId, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<PrivacySettingsRow>(
            """
            SELECT epsilon_per_period_millionths, epsilon_per_release_millionths, refresh_interval_minutes, exact_counts, updated_at, updated_by
            FROM privacy_settings WHERE owner_organization_id = @ownerOrganizationId AND partner_organization_id = @partnerOrganizationId
            """, new { ownerOrganizationId, partnerOrganizationId }))?.ToDomain();
    }

    public async Task SetSettingsAsync(string ownerOrganizationId, string partnerOrganizationId, StoredPrivacySettings settings, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        var o = settings.Overrides;
        await db.ExecuteAsync(
            """
            INSERT INTO privacy_settings (owner_organization_id, partner_organization_id, epsilon_per_period_millionths, epsilon_per_release_millionths,
                                          refresh_interval_minutes, exact_counts, updated_at, updated_by)
            VALUES (@ownerOrganizationId, @partnerOrganizationId, @perPeriod, @perRelease, @minutes, @exact, @updatedAt, @updatedBy)
            ON CONFLICT (owner_organization_id, partner_organization_id) DO UPDATE SET
                epsilon_per_period_millionths = excluded.epsilon_per_period_millionths,
                epsilon_per_release_millionths = excluded.epsilon_per_release_millionths,
                refresh_interval_minutes = excluded.refresh_interval_minutes,
                exact_counts = excluded.exact_counts,
                updated_at = excluded.updated_at,
                updated_by = excluded.updated_by
            """,
            new
            {
                ownerOrganizationId, partnerOrganizationId, perPeriod = o.PerPeriod?.Millionths, perRelease = o.PerRelease?.Millionths,
                minutes = o.RefreshInterval is { } r ? (long?)r.TotalMinutes : null, exact = o.ExactCounts ? 1 : 0,
                updatedAt = Time.ToUnixMs(settings.UpdatedAt), updatedBy = settings.UpdatedBy,
            });
    }
}
