using Microsoft.AspNetCore.DataProtection;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Api.Signals;

/// <summary>
/// Cursors of the data-request and attribution lists, in the API's convention (<c>limit</c>, <c>cursor</c>, the page's
/// <c>nextCursor</c>): a position (creation time, id) encrypted and authenticated with ASP.NET Data Protection and bound
/// to the caller's organization, the list and its partnership filter, so one cannot be forged nor replayed elsewhere.
/// </summary>
internal static class ListCursors
{
    public static IDataProtector For(IDataProtectionProvider protection, string list, string organizationId, string? partnershipId) =>
        protection.CreateProtector("signals-list-cursor", [list, organizationId, partnershipId ?? ""]);

    public static string? Protect(IDataProtector cursors, ListPosition? next) =>
        next is null ? null : cursors.Protect($"{next.At.ToUnixTimeMilliseconds()}:{next.Id}");

    public static bool TryDecode(IDataProtector cursors, string? cursor, out ListPosition? position)
    {
        position = null;
        if (cursor is null) return true;
        try
        {
            var text = cursors.Unprotect(cursor);
            var colon = text.IndexOf(':');
            if (colon < 1 || !long.TryParse(text[..colon], out var ms)) return false;
            position = new ListPosition(DateTimeOffset.FromUnixTimeMilliseconds(ms), text[(colon + 1)..]);
            return true;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }
}
