using OverlapEscrow.Domain;
using Microsoft.AspNetCore.Http.HttpResults;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Api.Accounts;

public static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var open = routes.MapGroup("/v1").WithTags("Accounts").AllowAnonymous();
        open.MapPost("/signup", Signup).RequireRateLimiting(RateLimits.Signup)
            .WithName("Signup").WithSummary("Create an organization and its first admin; returns tokens for that admin")
            .WithDescription("With Escrow:Signup:Mode=open (the default) anyone who can reach the service can sign up; with code, only with a one-time signupCode the operator issued (403 without one, before anything is looked up). displayName is optional and defaults to the email. 409 when the slug or the email cannot be used, without saying which.")
            .ProducesProblem(403).ProducesProblem(409);
        open.MapPost("/auth/login", Login).WithMetadata(new RateLimits.InHandler())
            .WithName("Login").WithSummary("Exchange a member's email and password for an access token and a refresh token")
            .WithDescription("Email matching is case-insensitive. An unknown email and a wrong password both answer 401, in the same time. The refresh token works once.")
            .ProducesProblem(401);
        open.MapPost("/auth/refresh", Refresh).RequireRateLimiting(RateLimits.Refresh)
            .WithName("RefreshToken").WithSummary("Exchange a refresh token (single use) for a new access and refresh token")
            .WithDescription("Rotation: the refresh token sent stops working and the answer holds its successor, in the same session. The new access token carries the member's role as stored now. 401 when the token is unknown, used or expired, or its session ended. A token used a second time ends its whole session (RFC 9700 §4.14.2): the successor it was exchanged for stops working too.")
            .ProducesProblem(401);

        var members = routes.MapGroup("/v1").WithTags("Accounts");
        members.MapGet("/me", Me).RequireAuthorization(Policies.Caller)
            .WithName("WhoAmI").WithSummary("The caller: organization, and member role or API-key scopes")
            .WithDescription("Any valid token. role is present for a member, scopes for an API key.");
        members.MapPost("/auth/logout", Logout).RequireAuthorization(Policies.Caller)
            .WithName("Logout").WithSummary("Sign out: end this session (or every session of mine, with everywhere=true)")
            .WithDescription("Members only (403 for an API key). The session's refresh tokens stop working, and so do its access tokens, on their next request.")
            .ProducesProblem(403);
        members.MapPost("/me/password", ChangePassword).RequireAuthorization(Policies.Caller)
            .WithName("ChangePassword").WithSummary("Change my password, given the current one")
            .WithDescription("Members only (403 for an API key). Every other session of mine ends; this one goes on. 400 naming currentPassword when it is wrong.")
            .ProducesProblem(403);
        members.MapGet("/members", ListMembers).RequireAuthorization(Policies.Admin)
            .WithName("ListMembers").WithSummary("Members of my organization")
            .WithDescription("Admins only. Oldest first.");
        members.MapPost("/members", AddMember).RequireAuthorization(Policies.Admin)
            .WithName("AddMember").WithSummary("Add a member with a role and an initial password")
            .WithDescription("Admins only. displayName is optional and defaults to the email. Emails are unique across all organizations: 409 when it cannot be added.")
            .ProducesProblem(409);
        members.MapPatch("/members/{memberId}", ChangeRole).RequireAuthorization(Policies.Admin)
            .WithName("ChangeMemberRole").WithSummary("Change a member's role")
            .WithDescription("Admins only. The member's access tokens carry the old role and stop working on their next request; a refresh gives it the new one. 409 when it would leave the organization without an admin.")
            .ProducesProblem(409);
        members.MapDelete("/members/{memberId}", RemoveMember).RequireAuthorization(Policies.Admin)
            .WithName("RemoveMember").WithSummary("Remove a member; its tokens stop working on their next request")
            .WithDescription("Admins only. Its sessions and refresh tokens go with it. 409 for the last admin.")
            .ProducesProblem(409);
        return routes;
    }

    private static async Task<Results<Created<SignupResponse>, ProblemHttpResult>> Signup(SignupRequest request, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        var outcome = await accounts.SignupAsync(new SignupInput(request.OrganizationName, request.OrganizationSlug, request.Email, request.Password, request.DisplayName,
            request.SignupCode), ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var (organization, admin) = outcome.Value!;
        var session = await accounts.StartSessionAsync(admin.Id, ct);
        return TypedResults.Created("/v1/me", new SignupResponse(
            new OrganizationResponse(organization.Id, organization.Slug, organization.Name), MemberResponse.From(admin), await IssueAsync(admin, session, accounts, tokens, ct)));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Login(LoginRequest request, Application.Accounts.Accounts accounts, TokenIssuer tokens,
        AccountRateLimiter limits, HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrEmpty(request.Email), "email", "email is required.")
            .Check(!string.IsNullOrEmpty(request.Password), "password", "password is required.")
            .Check(request.Password is null || request.Password.Length <= Application.Accounts.Accounts.MaxPasswordLength, "password",
                $"password is at most {Application.Accounts.Accounts.MaxPasswordLength} characters.");
        if (errors.Any) return Problems.Invalid(errors.All);
        if ((limits.LoginFromAddress(http) ?? limits.LoginAttempt(http, request.Email!)) is { } tooMany) return tooMany;
        var member = await accounts.SignInAsync(request.Email!, request.Password!, ct);
        if (member is null) return Problems.Unauthorized("The email or password is wrong.");
        return TypedResults.Ok(await IssueAsync(member, await accounts.StartSessionAsync(member.Id, ct), accounts, tokens, ct));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Refresh(RefreshRequest request, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(request.RefreshToken)) return Problems.Invalid("refreshToken", "refreshToken is required.");
        var signedIn = await accounts.UseRefreshTokenAsync(request.RefreshToken, ct);
        if (signedIn is null) return Problems.Unauthorized("The refresh token is unknown, used or expired, or its session ended; log in again.");
        return TypedResults.Ok(await IssueAsync(signedIn.Member, signedIn.SessionId, accounts, tokens, ct));
    }

    private static async Task<Ok<MeResponse>> Me(CurrentUser user, Application.Accounts.Accounts accounts, HttpContext http, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(user.OrganizationId, ct);
        var role = http.User.FindFirst(EscrowClaims.Role)?.Value;
        var scopes = http.User.FindFirst(EscrowClaims.Scope)?.Value?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return TypedResults.Ok(new MeResponse(
            new OrganizationResponse(organization!.Id, organization.Slug, organization.Name),
            user.IsApiKey ? "api_key" : "member", user.SubjectId, role, scopes));
    }

    private static async Task<Ok<List<MemberResponse>>> ListMembers(CurrentUser user, Application.Accounts.Accounts accounts, CancellationToken ct) =>
        TypedResults.Ok((await accounts.ListMembersAsync(user.Caller, ct)).Select(MemberResponse.From).ToList());

    private static async Task<Results<Created<MemberResponse>, ProblemHttpResult>> AddMember(AddMemberRequest request, CurrentUser user, Application.Accounts.Accounts accounts, CancellationToken ct)
    {
        var outcome = await accounts.AddMemberAsync(user.Caller, new MemberInput(request.Email, request.Password, request.DisplayName, request.Role), ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Created("/v1/members", MemberResponse.From(outcome.Value!));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Logout(LogoutRequest? request, CurrentUser user, Application.Accounts.Accounts accounts, CancellationToken ct)
    {
        if (user.IsApiKey) return Problems.Forbidden("API keys have no session; revoke the key instead.");
        await accounts.SignOutAsync(user.Caller, user.SubjectId, user.SessionId, request?.Everywhere == true, ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> ChangePassword(ChangePasswordRequest request, CurrentUser user, Application.Accounts.Accounts accounts,
        CancellationToken ct)
    {
        if (user.IsApiKey) return Problems.Forbidden("API keys have no password.");
        var outcome = await accounts.ChangePasswordAsync(user.Caller, user.SubjectId, user.SessionId, request.CurrentPassword, request.NewPassword, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.NoContent();
    }

    private static async Task<Results<Ok<MemberResponse>, ProblemHttpResult>> ChangeRole(string memberId, ChangeRoleRequest request, CurrentUser user,
        Application.Accounts.Accounts accounts, CancellationToken ct)
    {
        var outcome = await accounts.ChangeRoleAsync(user.Caller, memberId, request.Role, ct);
        return outcome.Failure is { } failure ? Problems.From(failure) : TypedResults.Ok(MemberResponse.From(outcome.Value!));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveMember(string memberId, CurrentUser user, Application.Accounts.Accounts accounts, CancellationToken ct) =>
        (await accounts.RemoveMemberAsync(user.Caller, memberId, ct)).Failure is { } failure ? Problems.From(failure) : TypedResults.NoContent();

    private static async Task<TokenResponse> IssueAsync(Member member, string sessionId, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        var access = tokens.AccessTokenForMember(member.Id, member.OrganizationId, member.Role, sessionId);
        var (refresh, expiresAt) = tokens.NewRefreshToken();
        await accounts.StoreRefreshTokenAsync(refresh, member.Id, sessionId, expiresAt, ct);
        return new TokenResponse(access, "Bearer", (int)tokens.AccessTokenLifetime.TotalSeconds, refresh);
    }
}

public sealed record SignupRequest(string? OrganizationName, string? OrganizationSlug, string? Email, string? Password, string? DisplayName, string? SignupCode = null);
public sealed record LogoutRequest(bool? Everywhere);
public sealed record ChangePasswordRequest(string? CurrentPassword, string? NewPassword);
public sealed record ChangeRoleRequest(string? Role);
public sealed record LoginRequest(string? Email, string? Password);
public sealed record RefreshRequest(string? RefreshToken);
public sealed record AddMemberRequest(string? Email, string? Password, string? DisplayName, string? Role);

public sealed record OrganizationResponse(string Id, string Slug, string Name);

public sealed record MemberResponse(string Id, string Email, string DisplayName, string Role, DateTimeOffset CreatedAt)
{
    public static MemberResponse From(Member m) => new(m.Id, m.Email, m.DisplayName, m.Role, m.CreatedAt);
}

public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);
public sealed record SignupResponse(OrganizationResponse Organization, MemberResponse Member, TokenResponse Tokens);
public sealed record MeResponse(OrganizationResponse Organization, string Kind, string Id, string? Role, string[]? Scopes);
