using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;

namespace OverlapEscrow.Api.Dashboard.Reference;

/// <summary>The API reference: the served OpenAPI document rendered in the browser, every asset served by this service.</summary>
[DashboardAuthorize(Policies.Caller)]
public sealed class ApiModel : DashboardPage
{
    public void OnGet() { }
}
