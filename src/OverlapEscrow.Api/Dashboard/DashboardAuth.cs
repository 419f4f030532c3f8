using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Api.Dashboard;

/// <summary>
/// The dashboard's cookie session. It carries the same claims as a member's access token (subject, organization, kind,
/// role), so the API's policies (<see cref="Policies"/>) decide the dashboard too, unchanged; and, like a token, it is
/// checked against the stored member on every request, so a changed role or a removed member takes effect at once. It
/// names a member session of its own, like a token does, so signing out (here, or "everywhere" through the API) and a
/// password change end it on the server: a copy of the cookie kept from before is refused.
/// </summary>
public static class DashboardAuth
{
    public const string Scheme = "Dashboard";
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";
    private const string SignedInAt = "signed_in_at";
    private const string Email = "email";
    private const string DisplayName = "name";

    public static async Task SignInAsync(HttpContext http, Member member)
    {
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        var session = await http.RequestServices.GetRequiredService<Application.Accounts.Accounts>().StartSessionAsync(member.Id, http.RequestAborted);
        var identity = new ClaimsIdentity([
            new Claim(EscrowClaims.Subject, member.Id),
            new Claim(EscrowClaims.Session, session),
            new Claim(EscrowClaims.Organization, member.OrganizationId),
            new Claim(EscrowClaims.Kind, EscrowClaims.KindMember),
            new Claim(EscrowClaims.Role, member.Role),
            new Claim(Email, member.Email),
            new Claim(DisplayName, member.DisplayName),
            new Claim(SignedInAt, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        ], Scheme, EscrowClaims.Subject, EscrowClaims.Role);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
    }

    /// <summary>Ends the member session the cookie names (so a copy of the cookie is dead too), then the cookie.</summary>
    public static async Task SignOutAsync(HttpContext http)
    {
        var user = (await http.AuthenticateAsync(Scheme)).Principal;
        if (user?.FindFirstValue(EscrowClaims.Subject) is { } member && user.FindFirstValue(EscrowClaims.Organization) is { } organization
            && user.FindFirstValue(EscrowClaims.Session) is { } session)
            await http.RequestServices.GetRequiredService<Application.Accounts.Accounts>().SignOutAsync(
                new Application.Caller(organization, "member:" + member), member, session, everywhere: false, http.RequestAborted);
        await http.SignOutAsync(Scheme);
    }

    public static string? EmailOf(ClaimsPrincipal user) => user.FindFirstValue(Email);

    public static string? RoleOf(ClaimsPrincipal user) => user.FindFirstValue(EscrowClaims.Role);

    /// <summary>
    /// Every request: the session ends when it is older than <see cref="DashboardOptions.SessionMaxHours"/> or its member
    /// no longer exists with the same organization and role (the same check a bearer token gets).
    /// </summary>
    public static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal!;
        var services = context.HttpContext.RequestServices;
        var options = services.GetRequiredService<IOptions<DashboardOptions>>().Value;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var signedIn = long.TryParse(principal.FindFirstValue(SignedInAt), CultureInfo.InvariantCulture, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : DateTimeOffset.MinValue;
        var valid = now - signedIn < TimeSpan.FromHours(options.SessionMaxHours)
            && principal.FindFirstValue(EscrowClaims.Kind) == EscrowClaims.KindMember
            && await services.GetRequiredService<Application.Accounts.Accounts>().MemberStillValidAsync(
                principal.FindFirstValue(EscrowClaims.Subject) ?? "", principal.FindFirstValue(EscrowClaims.Organization) ?? "",
                principal.FindFirstValue(EscrowClaims.Role), principal.FindFirstValue(EscrowClaims.Session), context.HttpContext.RequestAborted);
        if (valid) return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(Scheme);
    }

    /// <summary>Whether the signed-in member passes one of the API's policies (to offer an action, or to refuse a POST).</summary>
    public static async Task<bool> AllowsAsync(HttpContext http, string policy) =>
        (await http.RequestServices.GetRequiredService<IAuthorizationService>().AuthorizeAsync(http.User, policy)).Succeeded;
}

/// <summary>A dashboard page under one of the API's policies, authenticated by the dashboard's cookie session.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class DashboardAuthorizeAttribute : AuthorizeAttribute
{
    public DashboardAuthorizeAttribute(string policy) : base(policy) => AuthenticationSchemes = DashboardAuth.Scheme;
}

/// <summary>
/// A page anyone may open (sign-in, sign-up): anonymous, but the session cookie is still read, so a signed-in member
/// is recognized there.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class DashboardPublicAttribute : AuthorizeAttribute, IAllowAnonymous
{
    public DashboardPublicAttribute() => AuthenticationSchemes = DashboardAuth.Scheme;
}
