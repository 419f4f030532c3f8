namespace OverlapEscrow.Application.Keys;

/// <summary>
/// The walk every start-up sealing of legacy plaintext takes: pages of rows still in plaintext, in id order, each sealed
/// under its organization's key by a compare-and-set the caller supplies. A row of an organization being erased is left
/// to the erasure, which removes it.
/// </summary>
public static class LegacySealing
{
    public const int Batch = 200;

    /// <summary>Seals every row <paramref name="page"/> yields (given the last id seen) and returns how many were sealed.</summary>
    public static async Task<int> SealAsync<T>(IKeyring keyring, Func<string?, Task<IReadOnlyList<T>>> page, Func<T, string> id, Func<T, string> organizationId,
        Func<IOrganizationCipher, T, Task<bool>> seal, CancellationToken ct)
    {
        var sealedRows = 0;
        string? after = null;
        while (true)
        {
            var rows = await page(after);
            if (rows.Count == 0) return sealedRows;
            foreach (var group in rows.GroupBy(organizationId))
            {
                IOrganizationCipher cipher;
                try { cipher = await keyring.ForOrganizationAsync(group.Key, ct); }
                catch (OrganizationGoneException) { continue; }
                using (cipher)
                    foreach (var row in group)
                        if (await seal(cipher, row))
                            sealedRows++;
            }
            after = id(rows[^1]);
        }
    }
}
