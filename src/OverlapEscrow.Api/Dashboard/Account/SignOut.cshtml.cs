
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;

namespace OverlapEscrow.Api.Dashboard.Account;

/// <summary>Ends the session (a POST with the antiforgery token, so no other site can sign a member out).</summary>
[DashboardPublic]
public sealed class SignOutModel : DashboardPage
{
    public IActionResult OnGet() => LocalRedirect("/signin");

    public async Task<IActionResult> OnPostAsync()
    {
        await DashboardAuth.SignOutAsync(HttpContext);
        return LocalRedirect("/signin");
    }
}
