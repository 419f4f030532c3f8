
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Application.Accounts;

namespace OverlapEscrow.Api.Dashboard.Account;

/// <summary>A new company signs up: the organization and its first admin, through the same use case (and validation) as POST /v1/signup.</summary>
[DashboardPublic]
[EnableRateLimiting(RateLimits.Signup)]
public sealed class SignUpModel(Application.Accounts.Accounts accounts) : DashboardPage
{
    [BindProperty(Name = "organizationName")] public string? OrganizationNameInput { get; set; }
    [BindProperty(Name = "organizationSlug")] public string? OrganizationSlug { get; set; }
    [BindProperty(Name = "email")] public string? EmailInput { get; set; }
    [BindProperty(Name = "displayName")] public string? DisplayName { get; set; }
    [BindProperty(Name = "password")] public string? Password { get; set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var outcome = await accounts.SignupAsync(new SignupInput(OrganizationNameInput, OrganizationSlug, EmailInput,
            Password, string.IsNullOrWhiteSpace(DisplayName) ? null : DisplayName), ct);
        if (outcome.Failure is { } failure)
        {
            Password = null;
            return Fail(failure);
        }
        await DashboardAuth.SignInAsync(HttpContext, outcome.Value!.Admin);
        return LocalRedirect("/populations");
    }
}
