
using OverlapEscrow.Api.Dashboard.Shared;

namespace OverlapEscrow.Api.Dashboard.Account;

/// <summary>Where a member lands on a page its role does not open (the API answers 403 for the same).</summary>
[DashboardPublic]
public sealed class ForbiddenModel : DashboardPage
{
    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
