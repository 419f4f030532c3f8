using Dapper;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain.Accounts;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// How members are stored since their identities are sealed (Accounts.MemberIdentities does the sealing; this is the
/// storage's part, on both databases): a lookup matches sealed rows only and an address unsealed rows only, the rows
/// to seal or re-key are found, and a replacement is a compare-and-set that never takes another member's lookup.
/// </summary>
public class MemberStorageTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A member stored before identities were sealed: its address, display name and hash in their columns.</summary>
    private static async Task<string> LegacyMemberAsync(Stores s, string organizationId, string email)
    {
        var id = Domain.Ids.New("mem");
        await using var db = s.OpenConnection();
        await db.ExecuteAsync(
            """
            INSERT INTO members (id, organization_id, email, display_name, password_hash, role, created_at)
            VALUES (@id, @organizationId, @email, 'Legacy', '$argon2id$legacy', 'viewer', 1)
            """, new { id, organizationId, email });
        return id;
    }

    [Theory, StorageData]
    public async Task ALookupMatchesSealedRowsOnlyAndAnAddressUnsealedRowsOnly(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var sealedMember = Stores.Member(org, "e1:0a1b", Roles.Viewer);
        Assert.True(await s.Accounts.CreateMemberAsync(sealedMember, Forms("e1:0a1b"), None));
        var legacy = await LegacyMemberAsync(s, org, "old.timer@acme.example");

        Assert.Equal(sealedMember.Id, (await s.Accounts.FindMemberByEmailAsync(new EmailForms(["e1:0a1b"], "x@acme.example"), None))!.Id);
        Assert.Null(await s.Accounts.FindMemberByEmailAsync(new EmailForms([], "e1:0a1b"), None));
        var found = (await s.Accounts.FindMemberByEmailAsync(new EmailForms(["e1:ffff"], "OLD.Timer@acme.example"), None))!;
        Assert.Equal((legacy, "$argon2id$legacy"), (found.Id, found.Plain!.PasswordHash));
        Assert.Null(await s.Accounts.FindMemberByEmailAsync(new EmailForms(["old.timer@acme.example"], "nobody@acme.example"), None));
        // A new member is refused under any form a stored one holds.
        Assert.False(await s.Accounts.CreateMemberAsync(Stores.Member(org, "e2:0c0d", Roles.Viewer), new EmailForms(["e2:0c0d", "e1:0a1b"], "y@acme.example"), None));
        Assert.False(await s.Accounts.CreateMemberAsync(Stores.Member(org, "e2:0c0e", Roles.Viewer), new EmailForms(["e2:0c0e"], "old.timer@acme.example"), None));
        Assert.Equal(3, (await s.Accounts.ListMembersAsync(org, None)).Count);
    }

    [Theory, StorageData]
    public async Task RowsToSealAreFoundAndAReplacementIsACompareAndSetThatNeverTakesAnotherMembersLookup(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme"); // its admin under the lookup "admin@acme.example"
        var underOne = Stores.Member(org, "e1:0a1b", Roles.Viewer);
        Assert.True(await s.Accounts.CreateMemberAsync(underOne, Forms("e1:0a1b"), None));
        var legacyId = await LegacyMemberAsync(s, org, "old.timer@acme.example");

        Assert.Equal(1, await s.Accounts.CountMembersUnderLookupAsync("e1:", None));
        var toSeal = await s.Accounts.ListMembersToSealAsync("e1:", null, 10, None);
        Assert.Equal(2, toSeal.Count); // the admin (not under e1:) and the legacy row; not the member under e1:
        Assert.DoesNotContain(toSeal, m => m.Id == underOne.Id);
        Assert.Equal(3, (await s.Accounts.ListMembersToSealAsync("e2:", null, 10, None)).Count);

        var legacy = toSeal.Single(m => m.Id == legacyId);
        var sealedLegacy = legacy with { EmailLookup = "e1:0c0d", Identity = new SealedValue([9, 9, 9], [8], 1), Plain = null };
        Assert.True(await s.Accounts.ReplaceMemberIdentityAsync(legacy, sealedLegacy, None));
        Assert.False(await s.Accounts.ReplaceMemberIdentityAsync(legacy, sealedLegacy with { EmailLookup = "e1:0c0e" }, None)); // as read no longer
        var stored = (await s.Accounts.GetMemberAsync(legacyId, None))!;
        Assert.Equal(("e1:0c0d", (byte)9), (stored.EmailLookup, stored.Identity!.Nonce[0]));
        Assert.Null(stored.Plain);
        await using (var db = s.OpenConnection())
            Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM members WHERE display_name <> '' OR password_hash <> ''"));

        // A re-keying onto a lookup another member holds replaces nothing (and does not fail).
        Assert.False(await s.Accounts.ReplaceMemberIdentityAsync(stored, stored with { EmailLookup = "e1:0a1b", Identity = new SealedValue([7], [7], 1) }, None));
        Assert.Equal("e1:0c0d", (await s.Accounts.GetMemberAsync(legacyId, None))!.EmailLookup);
        Assert.Equal(2, await s.Accounts.CountMembersUnderLookupAsync("e1:", None));
    }
}
