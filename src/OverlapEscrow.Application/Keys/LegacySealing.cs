using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Keys;

/// <summary>
/// The walk every start-up sealing of legacy plaintext takes: pages of rows still in plaintext, in id order, each sealed
/// under its organization's key by a compare-and-set the caller supplies. A row of an organization being erased is left
/// to the erasure, which removes it; a row of an organization whose key is missing from the keyring (a wrong
/// KeyringDirectory) stays as it is, with a warning, and the start goes on (the start's key status says the rest).
/// Once the first row is sealed, a purge is owed (<see cref="IDatabaseMaintenance.OwePurgeAsync"/>): the plaintext a
/// seal clears stays in free pages and the log until the caller's purge, which a crash or a failure must not lose.
/// </summary>
public static class LegacySealing
{
    public const int Batch = 200;

    /// <summary>Seals every row <paramref name="page"/> yields (given the last id seen) and returns how many were sealed.</summary>
    public static async Task<int> SealAsync<T>(IKeyring keyring, IDatabaseMaintenance database, Func<string?, Task<IReadOnlyList<T>>> page, Func<T, string> id, Func<T, string> organizationId,
        Func<IOrganizationCipher, T, Task<bool>> seal, ILogger logger, string what, CancellationToken ct)
    {
        var sealedRows = 0;
        var skipped = 0;
        string? after = null;
        while (true)
        {
            var rows = await page(after);
            if (rows.Count == 0)
            {
                if (skipped > 0)
                    logger.LogWarning("{Count} {What} stay unsealed: their organizations have no data key in the keyring (check Escrow:KeyringDirectory)", skipped, what);
                return sealedRows;
            }
            foreach (var group in rows.GroupBy(organizationId))
            {
                IOrganizationCipher cipher;
                try { cipher = await keyring.ForOrganizationAsync(group.Key, ct); }
                catch (OrganizationGoneException) { continue; }
                catch (MissingKeyException)
                {
                    skipped += group.Count();
                    continue;
                }
                using (cipher)
                    foreach (var row in group)
                        // Owed as soon as the first row is sealed, not for rows that are only listed (a key no longer held, an
                        // email stored twice): those would make every start purge. The caller's purge owes it again after
                        // the pass (TryPurgeDeletedContentAsync).
                        if (await seal(cipher, row) && ++sealedRows == 1)
                            await database.OwePurgeAsync(ct);
            }
            after = id(rows[^1]);
        }
    }
}
