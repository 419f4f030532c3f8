using System.Buffers.Text;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Api.Tests.Infrastructure;
using OverlapEscrow.Application.Keys;
using static OverlapEscrow.Api.Tests.Infrastructure.EscrowClient;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The cursors of a cell's list (<see cref="OverlapCursors"/>): they name the record a page ended at without showing
/// it, open only for the organization, partnership, cell and view they were issued for, and only under a signing key
/// still present; anything else is refused with a 400 naming the cursor, and the list paged with them is the whole list.
/// </summary>
public sealed class OverlapCursorTests : IDisposable
{
    private readonly string _secrets = Path.Combine(Path.GetTempPath(), "oe-cursor-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_secrets)) Directory.Delete(_secrets, recursive: true);
    }

    private static readonly OverlapCursors.Binding Cell = OverlapCursors.Bind("overlap-list-cursor", "org-a", "ps-1", "pop-mine", "pop-theirs");

    [Fact]
    public void ACursorOpensToTheRecordIdItNamesAndDoesNotShowIt()
    {
        var cursors = new OverlapCursors(new EscrowSecrets(_secrets));
        const string recordId = "crm-0042-Ünïcode";
        var cursor = cursors.Seal(Cell, recordId);

        Assert.True(cursors.TryOpen(Cell, cursor, out var opened));
        Assert.Equal(recordId, opened);
        Assert.DoesNotContain("crm-0042", cursor);
        Assert.DoesNotContain("crm-0042", Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)));
        // A fresh salt each time: the same record gives a different cursor, so cursors do not show which pages end alike.
        Assert.NotEqual(cursor, cursors.Seal(Cell, recordId));
    }

    [Theory]
    [InlineData("org-b", "ps-1", "pop-mine", "pop-theirs", null)]      // another organization
    [InlineData("org-a", "ps-2", "pop-mine", "pop-theirs", null)]      // another partnership
    [InlineData("org-a", "ps-1", "pop-other", "pop-theirs", null)]     // another cell, my side
    [InlineData("org-a", "ps-1", "pop-mine", "pop-other", null)]       // another cell, the partner's side
    [InlineData("org-a", "ps-1", "pop-mine", "pop-theirs", "all")]     // another view
    [InlineData("org-a", "ps-1pop-mine", "", "pop-theirs", null)]       // the same characters split otherwise
    public void ACursorIsRefusedForAnythingButWhatItWasIssuedFor(string organization, string partnership, string mine, string theirs, string? more)
    {
        var cursors = new OverlapCursors(new EscrowSecrets(_secrets));
        var cursor = cursors.Seal(Cell, "crm-1");
        var other = more is null
            ? OverlapCursors.Bind("overlap-list-cursor", organization, partnership, mine, theirs)
            : OverlapCursors.Bind("overlap-list-cursor", organization, partnership, mine, theirs, more);
        Assert.False(cursors.TryOpen(other, cursor, out var opened));
        Assert.Null(opened);
        // Nor is a list cursor a cursor of what is new in the same cell.
        Assert.False(cursors.TryOpen(OverlapCursors.Bind("overlap-new-cursor", "org-a", "ps-1", "pop-mine", "pop-theirs"), cursor, out _));
    }

    [Fact]
    public void EveryAlteredByteOfACursorIsRefused()
    {
        var cursors = new OverlapCursors(new EscrowSecrets(_secrets));
        var bytes = Base64Url.DecodeFromChars(cursors.Seal(Cell, "crm-1"));
        for (var i = 0; i < bytes.Length; i++)
        {
            var altered = (byte[])bytes.Clone();
            altered[i] ^= 0x01;
            Assert.False(cursors.TryOpen(Cell, Base64Url.EncodeToString(altered), out _), $"byte {i} altered was accepted");
        }
        Assert.False(cursors.TryOpen(Cell, Base64Url.EncodeToString(bytes[..^1]), out _));
        Assert.False(cursors.TryOpen(Cell, "", out _));
        Assert.False(cursors.TryOpen(Cell, "not base64url!", out _));
        Assert.False(cursors.TryOpen(Cell, new string('A', OverlapCursors.MaxLength + 4), out _));
    }

    [Fact]
    public void ACursorOpensAfterASigningKeyRotationAndNoLongerOnceItsKeyIsRetired()
    {
        var secrets = new EscrowSecrets(_secrets);
        var cursors = new OverlapCursors(secrets);
        var underV1 = cursors.Seal(Cell, "crm-1");

        secrets.CreateNext(SecretKind.AccessTokenSigning);
        var underV2 = cursors.Seal(Cell, "crm-2");
        Assert.True(cursors.TryOpen(Cell, underV1, out var one));
        Assert.Equal("crm-1", one);

        secrets.Retire(SecretKind.AccessTokenSigning, 1);
        Assert.False(cursors.TryOpen(Cell, underV1, out _));
        Assert.True(cursors.TryOpen(Cell, underV2, out var two));
        Assert.Equal("crm-2", two);
        // Another instance reading the same secrets directory opens it too.
        Assert.True(new OverlapCursors(new EscrowSecrets(_secrets)).TryOpen(Cell, underV2, out _));
    }

    [Fact]
    public async Task APagedListIsTheWholeListAndCursorsOfAnotherOrganizationCellOrEarlierReleaseAreRefusedNamingTheCursor()
    {
        using var app = new EscrowApp();
        var alpha = await app.SignupAsync("cursor-alpha");
        var beta = await app.SignupAsync("cursor-beta");
        var alphaCustomers = await alpha.CreatePopulationAsync("Customers");
        var alphaProspects = await alpha.CreatePopulationAsync("Prospects", "prospects");
        var betaCustomers = await beta.CreatePopulationAsync("Customers");
        var partnership = await alpha.PartnerAsync(beta);
        await alpha.ShareAsync(alphaCustomers, "overlaps", "accountName");
        await alpha.ShareAsync(alphaProspects, "overlaps", "accountName");
        await beta.ShareAsync(betaCustomers, "overlaps", "accountName");
        await alpha.UploadOkAsync(alphaCustomers, Records.Range("A", 0, 30, "accountName"));
        await alpha.UploadOkAsync(alphaProspects, Records.Range("P", 0, 30, "accountName"));
        await beta.UploadOkAsync(betaCustomers, Records.Range("B", 0, 30, "accountName"));

        string Url(string mine, string theirs, string? cursor) =>
            $"/v1/partnerships/{partnership}/overlaps/{mine}/{theirs}?limit=7" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");

        // Paged seven at a time, the list is every overlapping record once, in order.
        var paged = await alpha.ListAllAsync(partnership, alphaCustomers, betaCustomers, limit: 7);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"A-{i:D5}"), paged.Select(i => i["recordId"]!.GetValue<string>()));

        var first = await Json(await alpha.Http.GetAsync(Url(alphaCustomers, betaCustomers, null)));
        var cursor = first["nextCursor"]!.GetValue<string>();
        Assert.DoesNotContain("A-00006", cursor);

        // The partner replaying alpha's cursor on its own side of the cell: refused before anything is read.
        await RefusedAsync(await beta.Http.GetAsync(Url(betaCustomers, alphaCustomers, cursor)));
        // Alpha's cursor on another of alpha's cells.
        await RefusedAsync(await alpha.Http.GetAsync(Url(alphaProspects, betaCustomers, cursor)));
        // A cursor of an earlier release (ASP.NET Data Protection, same purposes and binding) is not one this API returns now.
        var protector = app.Services.GetRequiredService<IDataProtectionProvider>()
            .CreateProtector("overlap-list-cursor", [alpha.Id, partnership, alphaCustomers, betaCustomers]);
        await RefusedAsync(await alpha.Http.GetAsync(Url(alphaCustomers, betaCustomers, protector.Protect("A-00006"))));
        // The cursor itself still works where it was issued.
        var second = await Json(await alpha.Http.GetAsync(Url(alphaCustomers, betaCustomers, cursor)));
        Assert.Equal("A-00007", second["items"]![0]!["recordId"]!.GetValue<string>());
    }

    private static async Task RefusedAsync(HttpResponseMessage response)
    {
        var problem = await ExpectProblem(response, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["cursor"]);
        Assert.DoesNotContain("A-0", problem.ToJsonString());
    }
}
