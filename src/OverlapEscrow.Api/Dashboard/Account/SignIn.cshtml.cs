
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Extensions;

namespace OverlapEscrow.Api.Dashboard.Account;

/// <summary>Sign-in with email and password: the same check, the same wording and the same limits (per email, and per address on
/// one bucket with it) as POST /v1/auth/login.</summary>
[DashboardPublic]
public sealed class SignInModel(Application.Accounts.Accounts accounts, AccountRateLimiter limits) : DashboardPage
{
    [BindProperty(Name = "email")] public string? EmailInput { get; set; }
    [BindProperty(Name = "password")] public string? Password { get; set; }
    [BindProperty(Name = "returnUrl", SupportsGet = true)] public string? ReturnUrl { get; set; }

    public IActionResult OnGet() => SignedIn ? LocalRedirect(SafeReturnUrl) : Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrEmpty(EmailInput)) AddError("email", "email is required.");
        if (string.IsNullOrEmpty(Password)) AddError("password", "password is required.");
        else if (Password.Length > Application.Accounts.Accounts.MaxPasswordLength)
            AddError("password", $"password is at most {Application.Accounts.Accounts.MaxPasswordLength} characters.");
        if (HasErrors) return Status(400);
        if (limits.LoginFromAddress(HttpContext) is not null)
        {
            Alert = "Too many sign-in attempts from this address; wait a while and try again.";
            return Status(429);
        }
        if (limits.LoginAttempt(HttpContext, EmailInput!) is not null)
        {
            Alert = "Too many sign-in attempts for this email; wait a while and try again.";
            return Status(429);
        }
        var member = await accounts.SignInAsync(EmailInput!, Password!, ct);
        if (member is null)
        {
            Alert = "The email or password is wrong.";
            return Status(401);
        }
        await DashboardAuth.SignInAsync(HttpContext, member);
        return LocalRedirect(SafeReturnUrl);
    }

    private PageResult Status(int status)
    {
        Password = null;
        Response.StatusCode = status;
        return Page();
    }

    /// <summary>Only a path of this site: never an absolute URL that would send the member elsewhere after signing in.</summary>
    private string SafeReturnUrl => ReturnUrl is { Length: > 0 } url && Url.IsLocalUrl(url) && !url.StartsWith("/signout", StringComparison.OrdinalIgnoreCase) ? url : "/";
}
