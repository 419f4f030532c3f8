using Dapper;
using Microsoft.Data.Sqlite;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Data.Sqlite;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using static OverlapEscrow.Data.Tests.Stores;

namespace OverlapEscrow.Data.Tests;

/// <summary>
/// What every request's token check reads: one statement that must refuse a token as soon as its member, role,
/// organization or session changes, and connections that keep their durability settings however often the pool hands
/// them out again.
/// </summary>
public class CredentialCheckTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Theory, StorageData]
    public async Task AMemberTokenStandsOnlyWhileItsMemberRoleOrganizationAndSessionAllStillHold(string provider)
    {
        await using var s = await CreateAsync(provider);
        var org = await s.OrganizationAsync("acme");
        var other = await s.OrganizationAsync("globex");
        var admin = (await s.Accounts.ListMembersAsync(org, None))[0];
        var viewer = Stores.Member(org, "viewer@acme.example", Roles.Viewer);
        Assert.True(await s.Accounts.CreateMemberAsync(viewer, Stores.Forms("viewer@acme.example"), None));
        var otherAdmin = (await s.Accounts.ListMembersAsync(other, None))[0];
        await s.Accounts.StartSessionAsync("session-admin", admin.Id, T0, None);
        await s.Accounts.StartSessionAsync("session-viewer", viewer.Id, T0, None);
        await s.Accounts.StartSessionAsync("session-other", otherAdmin.Id, T0, None);

        Assert.True(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, "session-admin", None));
        // A token issued before sessions existed names none: the member, organization and role still decide.
        Assert.True(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, null, None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Viewer, "session-admin", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, other, Roles.Admin, "session-admin", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, "session-unknown", None));
        // Another member's open session, of the same or of another organization, is not this member's.
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, "session-viewer", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, "session-other", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync("mem_unknown", org, Roles.Admin, null, None));

        // Signing out ends the session: the very next check refuses it, and only it.
        Assert.Equal(1, await s.Accounts.EndSessionsAsync(admin.Id, "session-admin", T0, "signed_out", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(admin.Id, org, Roles.Admin, "session-admin", None));
        Assert.True(await s.Accounts.MemberCredentialStandsAsync(viewer.Id, org, Roles.Viewer, "session-viewer", None));

        // A role change refuses tokens that carry the old role; a removed member's tokens stand no more.
        Assert.Equal(MemberChangeOutcome.Changed, await s.Accounts.ChangeMemberRoleAsync(org, viewer.Id, Roles.PartnerManager, None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(viewer.Id, org, Roles.Viewer, "session-viewer", None));
        Assert.True(await s.Accounts.MemberCredentialStandsAsync(viewer.Id, org, Roles.PartnerManager, "session-viewer", None));
        Assert.Equal(MemberChangeOutcome.Changed, await s.Accounts.RemoveMemberAsync(org, viewer.Id, None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(viewer.Id, org, Roles.PartnerManager, "session-viewer", None));
        Assert.False(await s.Accounts.MemberCredentialStandsAsync(viewer.Id, org, Roles.PartnerManager, null, None));
    }

    [Fact]
    public async Task EveryConnectionThePoolHandsOutHasForeignKeysDurableCommitsAndSecureDelete()
    {
        // The pragmas are set once per native connection, not on every open: a connection handed out again, several at
        // once, and a new one after the pool was emptied must all still have them.
        var directory = Directory.CreateTempSubdirectory("oe-connections-").FullName;
        try
        {
            var factory = new SqliteConnectionFactory(Path.Combine(directory, "escrow.db"));
            for (var i = 0; i < 5; i++) await AssertConfiguredAsync(factory);
            var open = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => factory.OpenAsync())));
            foreach (var connection in open) AssertConfigured(connection);
            foreach (var connection in open) await connection.DisposeAsync();
            await AssertConfiguredAsync(factory);
            SqliteConnection.ClearAllPools();
            await AssertConfiguredAsync(factory);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task AssertConfiguredAsync(SqliteConnectionFactory factory)
    {
        await using var connection = await factory.OpenAsync();
        AssertConfigured(connection);
    }

    private static void AssertConfigured(System.Data.Common.DbConnection connection)
    {
        Assert.Equal(1L, connection.ExecuteScalar<long>("PRAGMA foreign_keys"));
        Assert.Equal(2L, connection.ExecuteScalar<long>("PRAGMA synchronous")); // FULL
        Assert.Equal(2L, connection.ExecuteScalar<long>("PRAGMA secure_delete")); // FAST
    }
}
