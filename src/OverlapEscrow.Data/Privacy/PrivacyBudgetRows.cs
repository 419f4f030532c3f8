using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Privacy;

namespace OverlapEscrow.Data.Privacy;

/// <summary>
/// The one place a release pays from a privacy budget (docs/privacy.md): a matrix cell's count and a health figure draw on
/// the same row of privacy_budgets, through the same conditional statement, inside the release's transaction.
/// </summary>
internal static class PrivacyBudgetRows
{
    /// <summary>The budget row of one owner toward one partner in one period.</summary>
    public const string Where =
        "owner_organization_id = @ownerOrganizationId AND partner_organization_id = @partnerOrganizationId AND period_start = @periodStart";

    /// <summary>
    /// Pays <paramref name="spend"/>'s amount: the row is created at zero if missing, then one conditional UPDATE adds the
    /// amount only while the total stays within the limit, so concurrent spenders take turns on the row and none passes
    /// it. Returns the total spent after paying, or null when the budget has no room (the caller returns without
    /// committing, which rolls back the release it wrote).
    /// </summary>
    public static async Task<Epsilon?> PayAsync(Db db, BudgetSpend spend)
    {
        var budget = new
        {
            ownerOrganizationId = spend.OwnerOrganizationId, partnerOrganizationId = spend.PartnerOrganizationId,
            periodStart = Time.ToUnixMs(spend.PeriodStart), amount = spend.Amount.Millionths, limit = spend.Limit.Millionths,
        };
        await db.ExecuteAsync(
            """
            INSERT INTO privacy_budgets (owner_organization_id, partner_organization_id, period_start, spent_millionths, releases)
            VALUES (@ownerOrganizationId, @partnerOrganizationId, @periodStart, 0, 0)
            ON CONFLICT DO NOTHING
            """, budget);
        var paid = await db.ExecuteAsync(
            $"UPDATE privacy_budgets SET spent_millionths = spent_millionths + @amount, releases = releases + 1 WHERE {Where} AND spent_millionths + @amount <= @limit",
            budget);
        if (paid != 1) return null;
        return new Epsilon(await db.SingleAsync<long>($"SELECT spent_millionths FROM privacy_budgets WHERE {Where}", budget));
    }
}
