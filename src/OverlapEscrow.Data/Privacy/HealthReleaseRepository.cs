using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Health;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Data.Privacy;

/// <summary>
/// Released health figures. A release is inserted under its unique key (a second release for the same data inserts
/// nothing) and spends with the same conditional update on privacy_budgets as a count release, both inside one write
/// transaction (a savepoint in a unit of work): concurrent first reads store one release and make one spend, and no
/// spending passes the budget.
/// </summary>
internal sealed class HealthReleaseRepository(IDbScope scope) : IHealthReleaseRepository
{
    private const string Columns =
        "id, partnership_id, viewer_organization_id, owner_organization_id, figure, period, currency, viewer_data_key, owner_data_key, " +
        "owner_population_ids, exact, released_at, epsilon_millionths, value1, value2, margin1, margin2";

    public async Task<StoredHealthRelease?> GetLatestAsync(string partnershipId, string viewerOrganizationId, HealthFigure figure, string period, string currency,
        bool exact, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        return (await db.FirstOrDefaultAsync<HealthReleaseRow>(
            $"""
            SELECT {Columns} FROM health_releases
            WHERE partnership_id = @partnershipId AND viewer_organization_id = @viewerOrganizationId AND figure = @figure AND period = @period
              AND currency = @currency AND exact = @exact
            ORDER BY released_at DESC, id DESC LIMIT 1
            """,
            new { partnershipId, viewerOrganizationId, figure = ReleasedFigures.Wire(figure), period, currency, exact = exact ? 1 : 0 }))?.ToDomain();
    }

    /// <summary>One release row; nothing when a release of the same data is already stored (its unique key).</summary>
    private static readonly string Insert =
        $"""
        INSERT INTO health_releases ({Columns})
        VALUES (@Id, @PartnershipId, @ViewerOrganizationId, @OwnerOrganizationId, @Figure, @Period, @Currency, @ViewerDataKey, @OwnerDataKey,
                @OwnerPopulationIds, @Exact, @ReleasedAt, @EpsilonMillionths, @Value1, @Value2, @Margin1, @Margin2)
        ON CONFLICT DO NOTHING
        """;

    public async Task<ReleaseOutcome> TryReleaseAsync(StoredHealthRelease release, BudgetSpend? spend, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        var inserted = await db.ExecuteAsync(Insert, HealthReleaseRow.From(release));
        if (inserted != 1) return new ReleaseOutcome(ReleaseStatus.Superseded, Epsilon.Zero);

        var spent = Epsilon.Zero;
        if (spend is not null)
        {
            if (await PrivacyBudgetRows.PayAsync(db, spend) is not { } total) return new ReleaseOutcome(ReleaseStatus.BudgetExhausted, Epsilon.Zero); // rolls back the insert
            spent = total;
        }
        await tx.CommitAsync();
        return new ReleaseOutcome(ReleaseStatus.Released, spent);
    }

    public async Task<IReadOnlyList<StoredHealthRelease>> GetLatestOverallAsync(string viewerOrganizationId, string period, string currency, CancellationToken ct,
        string? viewerDataKey = null, string? ownerDataKey = null)
    {
        var keyed = viewerDataKey is not null && ownerDataKey is not null;
        await using var db = await scope.OpenAsync(ct);
        var figure = ReleasedFigures.Wire(HealthFigure.OverallCoverage);
        // The rows of one release share its data keys and its time; the latest row names the latest release.
        var rows = await db.QueryAsync<HealthReleaseRow>(
            $"""
            SELECT {Columns} FROM health_releases r
            WHERE r.viewer_organization_id = @viewerOrganizationId AND r.figure = @figure AND r.period = @period AND r.currency = @currency AND r.exact = 0
              AND EXISTS (SELECT 1 FROM (SELECT viewer_data_key, owner_data_key, released_at FROM health_releases
                                         WHERE viewer_organization_id = @viewerOrganizationId AND figure = @figure AND period = @period AND currency = @currency
                                           AND exact = 0 AND (@keyed = 0 OR (viewer_data_key = @viewerDataKey AND owner_data_key = @ownerDataKey))
                                         ORDER BY released_at DESC, id DESC LIMIT 1) l
                          WHERE l.viewer_data_key = r.viewer_data_key AND l.owner_data_key = r.owner_data_key AND l.released_at = r.released_at)
            ORDER BY r.partnership_id
            """,
            new { viewerOrganizationId, figure, period, currency, keyed = keyed ? 1 : 0, viewerDataKey = viewerDataKey ?? "", ownerDataKey = ownerDataKey ?? "" });
        return rows.Select(r => r.ToDomain()).ToList();
    }

    public async Task<OverallReleaseOutcome> TryReleaseOverallAsync(IReadOnlyList<StoredHealthRelease> rows, IReadOnlyList<BudgetSpend> spends, CancellationToken ct)
    {
        await using var db = await scope.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync();
        foreach (var row in rows)
        {
            var inserted = await db.ExecuteAsync(Insert, HealthReleaseRow.From(row));
            if (inserted != 1) return new OverallReleaseOutcome(ReleaseStatus.Superseded, null, new Dictionary<string, Epsilon>()); // rolls back
        }
        var spent = new Dictionary<string, Epsilon>(StringComparer.Ordinal);
        // Paid in a fixed order (owner ids), so two releases charging the same owners take the budget rows in the same order.
        foreach (var spend in spends.OrderBy(s => s.OwnerOrganizationId, StringComparer.Ordinal))
        {
            if (await PrivacyBudgetRows.PayAsync(db, spend) is not { } total)
                return new OverallReleaseOutcome(ReleaseStatus.BudgetExhausted, spend.OwnerOrganizationId, new Dictionary<string, Epsilon>()); // rolls back
            spent[spend.OwnerOrganizationId] = total;
        }
        await tx.CommitAsync();
        return new OverallReleaseOutcome(ReleaseStatus.Released, null, spent);
    }
}

internal sealed class HealthReleaseRow
{
    public string Id { get; init; } = "";
    public string PartnershipId { get; init; } = "";
    public string ViewerOrganizationId { get; init; } = "";
    public string OwnerOrganizationId { get; init; } = "";
    public string Figure { get; init; } = "";
    public string Period { get; init; } = "";
    public string Currency { get; init; } = "";
    public string ViewerDataKey { get; init; } = "";
    public string OwnerDataKey { get; init; } = "";
    public string OwnerPopulationIds { get; init; } = "";
    public long Exact { get; init; }
    public long ReleasedAt { get; init; }
    public long EpsilonMillionths { get; init; }
    public long Value1 { get; init; }
    public long? Value2 { get; init; }
    public long Margin1 { get; init; }
    public long? Margin2 { get; init; }

    public StoredHealthRelease ToDomain() => new(Id, PartnershipId, ViewerOrganizationId, OwnerOrganizationId,
        ReleasedFigures.Stored.First(f => ReleasedFigures.Wire(f) == Figure), Period, Currency, ViewerDataKey, OwnerDataKey,
        OwnerPopulationIds.Split(' ', StringSplitOptions.RemoveEmptyEntries), Time.FromUnixMs(ReleasedAt),
        new FigureDraw(Value2 is { } v2 ? [Value1, v2] : [Value1], new Epsilon(EpsilonMillionths), Margin2 is { } m2 ? [Margin1, m2] : [Margin1]));

    public static object From(StoredHealthRelease r) => new
    {
        r.Id, r.PartnershipId, r.ViewerOrganizationId, r.OwnerOrganizationId, Figure = ReleasedFigures.Wire(r.Figure), r.Period, r.Currency, r.ViewerDataKey,
        r.OwnerDataKey, OwnerPopulationIds = string.Join(' ', r.OwnerPopulationIds), Exact = r.Draw.IsExact ? 1 : 0, ReleasedAt = Time.ToUnixMs(r.ReleasedAt),
        EpsilonMillionths = r.Draw.Epsilon.Millionths, Value1 = r.Draw.Values[0], Value2 = r.Draw.Values.Count > 1 ? r.Draw.Values[1] : (long?)null,
        Margin1 = r.Draw.Margins[0], Margin2 = r.Draw.Margins.Count > 1 ? r.Draw.Margins[1] : (long?)null,
    };
}
