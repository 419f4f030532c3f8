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
            .WithDescription("Anyone who can reach the service can sign up. displayName is optional and defaults to the email. 409 when the slug or the email is already registered.")
            .ProducesProblem(409);
        open.MapPost("/auth/login", Login).RequireRateLimiting(RateLimits.Login)
            .WithName("Login").WithSummary("Exchange a member's email and password for an access token and a refresh token")
            .WithDescription("Email matching is case-insensitive. An unknown email and a wrong password both answer 401, in the same time. The refresh token works once.")
            .ProducesProblem(401);
        open.MapPost("/auth/refresh", Refresh).RequireRateLimiting(RateLimits.Refresh)
            .WithName("RefreshToken").WithSummary("Exchange a refresh token (single use) for a new access and refresh token")
            .WithDescription("Rotation: the refresh token sent stops working and the answer holds its successor. The new access token carries the member's role as stored now. 401 when the token is unknown, used or expired.")
            .ProducesProblem(401);

        var members = routes.MapGroup("/v1").WithTags("Accounts");
        members.MapGet("/me", Me).RequireAuthorization(Policies.Caller)
            .WithName("WhoAmI").WithSummary("The caller: organization, and member role or API-key scopes")
            .WithDescription("Any valid token. role is present for a member, scopes for an API key.");
        members.MapGet("/members", ListMembers).RequireAuthorization(Policies.Admin)
            .WithName("ListMembers").WithSummary("Members of my organization")
            .WithDescription("Admins only. Oldest first.");
        members.MapPost("/members", AddMember).RequireAuthorization(Policies.Admin)
            .WithName("AddMember").WithSummary("Add a member with a role and an initial password")
            .WithDescription("Admins only. displayName is optional and defaults to the email. Emails are unique across all organizations: 409 when it is taken.")
            .ProducesProblem(409);
        return routes;
    }

    private static async Task<Results<Created<SignupResponse>, ProblemHttpResult>> Signup(SignupRequest request, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        var outcome = await accounts.SignupAsync(new SignupInput(request.OrganizationName, request.OrganizationSlug, request.Email, request.Password, request.DisplayName), ct);
        if (outcome.Failure is { } failure) return Problems.From(failure);
        var (organization, admin) = outcome.Value!;
        return TypedResults.Created("/v1/me", new SignupResponse(
            new OrganizationResponse(organization.Id, organization.Slug, organization.Name), MemberResponse.From(admin), await IssueAsync(admin, accounts, tokens, ct)));
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
        if (limits.LoginAttempt(http, request.Email!) is { } tooMany) return tooMany;
        var member = await accounts.SignInAsync(request.Email!, request.Password!, ct);
        if (member is null) return Problems.Unauthorized("The email or password is wrong.");
        return TypedResults.Ok(await IssueAsync(member, accounts, tokens, ct));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Refresh(RefreshRequest request, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(request.RefreshToken)) return Problems.Invalid("refreshToken", "refreshToken is required.");
        var member = await accounts.UseRefreshTokenAsync(request.RefreshToken, ct);
        if (member is null) return Problems.Unauthorized("The refresh token is unknown, used or expired; log in again.");
        return TypedResults.Ok(await IssueAsync(member, accounts, tokens, ct));
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

    private static async Task<TokenResponse> IssueAsync(Member member, Application.Accounts.Accounts accounts, TokenIssuer tokens, CancellationToken ct)
    {
        var access = tokens.AccessTokenForMember(member.Id, member.OrganizationId, member.Role);
        var (refresh, expiresAt) = tokens.NewRefreshToken();
        await accounts.StoreRefreshTokenAsync(refresh, member.Id, expiresAt, ct);
        return new TokenResponse(access, "Bearer", (int)tokens.AccessTokenLifetime.TotalSeconds, refresh);
    }
}

public sealed record SignupRequest(string? OrganizationName, string? OrganizationSlug, string? Email, string? Password, string? DisplayName);
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
