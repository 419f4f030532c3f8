using System.Net.Mail;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Audit;

namespace OverlapEscrow.Api.Accounts;

public static partial class AccountsApi
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 256;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex SlugPattern();

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

    public sealed record Deps(IAccountRepository Accounts, IPasswordHasher<PasswordSubject> Hasher, TokenIssuer Tokens, OrganizationKeys Keys, IAuditRepository Audit, TimeProvider Time);

    private static async Task<Results<Created<SignupResponse>, ProblemHttpResult>> Signup(SignupRequest request, [AsParameters] Deps deps, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(request.OrganizationName) && request.OrganizationName.Length <= 100, "organizationName", "organizationName is 1-100 characters.")
            .Check(request.OrganizationSlug is not null && SlugPattern().IsMatch(request.OrganizationSlug), "organizationSlug", "organizationSlug is 1-40 lower-case letters, digits or hyphens.");
        ValidateMember(request.Email, request.Password, request.DisplayName, errors);
        if (errors.Any) return errors.ToProblem();

        var now = deps.Time.GetUtcNow();
        var organizationId = Ids.New("org");
        var organization = new OrganizationRow
        {
            Id = organizationId, Slug = request.OrganizationSlug!, Name = request.OrganizationName!.Trim(),
            WrappedKey = deps.Keys.NewWrappedKey(organizationId), CreatedAt = Time.ToUnixMs(now),
        };
        var admin = NewMember(organizationId, request.Email!, request.DisplayName, request.Password!, Roles.Admin, now, deps.Hasher);
        if (!await deps.Accounts.CreateOrganizationAsync(organization, admin, ct))
            return Problems.Conflict("That organization slug or email is already registered.");
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), organizationId, "member:" + admin.Id, "organization.created", null, new { organization.Slug }, ct);
        var tokens = await IssueAsync(admin, deps, ct);
        return TypedResults.Created("/v1/me", new SignupResponse(
            new OrganizationResponse(organization.Id, organization.Slug, organization.Name), MemberResponse.From(admin), tokens));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Login(LoginRequest request, [AsParameters] Deps deps, AccountRateLimiter limits, HttpContext http, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrEmpty(request.Email), "email", "email is required.")
            .Check(!string.IsNullOrEmpty(request.Password), "password", "password is required.")
            .Check(request.Password is null || request.Password.Length <= MaxPasswordLength, "password", $"password is at most {MaxPasswordLength} characters.");
        if (errors.Any) return errors.ToProblem();
        if (limits.LoginAttempt(http, request.Email!) is { } tooMany) return tooMany;
        var member = await deps.Accounts.FindMemberByEmailAsync(request.Email!.Trim(), ct);
        // Verify against a fixed hash when the email is unknown, so timing does not tell which emails exist.
        var verdict = deps.Hasher.VerifyHashedPassword(PasswordSubject.Instance, member?.PasswordHash ?? UnknownUserHash(deps.Hasher), request.Password!);
        if (member is null || verdict == PasswordVerificationResult.Failed)
            return Problems.Unauthorized("The email or password is wrong.");
        return TypedResults.Ok(await IssueAsync(member, deps, ct));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> Refresh(RefreshRequest request, [AsParameters] Deps deps, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(request.RefreshToken)) return Problems.Invalid("refreshToken", "refreshToken is required.");
        var memberId = await deps.Accounts.ConsumeRefreshTokenAsync(TokenIssuer.HashSecret(request.RefreshToken), Time.ToUnixMs(deps.Time.GetUtcNow()), ct);
        var member = memberId is null ? null : await deps.Accounts.GetMemberAsync(memberId, ct);
        if (member is null) return Problems.Unauthorized("The refresh token is unknown, used or expired; log in again.");
        return TypedResults.Ok(await IssueAsync(member, deps, ct));
    }

    private static async Task<Ok<MeResponse>> Me(CurrentUser user, IAccountRepository accounts, HttpContext http, CancellationToken ct)
    {
        var organization = await accounts.GetOrganizationAsync(user.OrganizationId, ct);
        var role = http.User.FindFirst(EscrowClaims.Role)?.Value;
        var scopes = http.User.FindFirst(EscrowClaims.Scope)?.Value?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return TypedResults.Ok(new MeResponse(
            new OrganizationResponse(organization!.Id, organization.Slug, organization.Name),
            user.IsApiKey ? "api_key" : "member", user.SubjectId, role, scopes));
    }

    private static async Task<Ok<List<MemberResponse>>> ListMembers(CurrentUser user, IAccountRepository accounts, CancellationToken ct) =>
        TypedResults.Ok((await accounts.ListMembersAsync(user.OrganizationId, ct)).Select(MemberResponse.From).ToList());

    private static async Task<Results<Created<MemberResponse>, ProblemHttpResult>> AddMember(AddMemberRequest request, CurrentUser user, [AsParameters] Deps deps, CancellationToken ct)
    {
        var errors = new FieldErrors().Check(request.Role is not null && Roles.All.Contains(request.Role), "role", $"role is one of {string.Join(", ", Roles.All)}.");
        ValidateMember(request.Email, request.Password, request.DisplayName, errors);
        if (errors.Any) return errors.ToProblem();
        var now = deps.Time.GetUtcNow();
        var member = NewMember(user.OrganizationId, request.Email!, request.DisplayName, request.Password!, request.Role!, now, deps.Hasher);
        if (!await deps.Accounts.CreateMemberAsync(member, ct)) return Problems.Conflict("That email is already registered.");
        await deps.Audit.AppendAsync(Time.ToUnixMs(now), user.OrganizationId, user.Actor, "member.added", null, new { memberId = member.Id, member.Role }, ct);
        return TypedResults.Created("/v1/members", MemberResponse.From(member));
    }

    private static void ValidateMember(string? email, string? password, string? displayName, FieldErrors errors)
    {
        errors.Check(email is not null && email.Length <= 254 && MailAddress.TryCreate(email, out var parsed) && parsed.Address == email.Trim(),
            "email", "email is a valid address.");
        errors.Check(password is not null && password.Length is >= MinPasswordLength and <= MaxPasswordLength,
            "password", $"password is {MinPasswordLength}-{MaxPasswordLength} characters.");
        errors.Check(displayName is null || displayName.Length <= 100, "displayName", "displayName is at most 100 characters.");
    }

    private static MemberRow NewMember(string organizationId, string email, string? displayName, string password, string role, DateTimeOffset now, IPasswordHasher<PasswordSubject> hasher) => new()
    {
        Id = Ids.New("mem"),
        OrganizationId = organizationId,
        Email = email.Trim(),
        DisplayName = string.IsNullOrWhiteSpace(displayName) ? email.Trim() : displayName.Trim(),
        PasswordHash = hasher.HashPassword(PasswordSubject.Instance, password),
        Role = role,
        CreatedAt = Time.ToUnixMs(now),
    };

    private static async Task<TokenResponse> IssueAsync(MemberRow member, Deps deps, CancellationToken ct)
    {
        var access = deps.Tokens.AccessTokenForMember(member.Id, member.OrganizationId, member.Role);
        var (refresh, hash, expiresAt) = deps.Tokens.NewRefreshToken();
        await deps.Accounts.StoreRefreshTokenAsync(hash, member.Id, Time.ToUnixMs(expiresAt), ct);
        return new TokenResponse(access, "Bearer", (int)deps.Tokens.AccessTokenLifetime.TotalSeconds, refresh);
    }

    private static string? _unknownUserHash;
    private static string UnknownUserHash(IPasswordHasher<PasswordSubject> hasher) =>
        _unknownUserHash ??= hasher.HashPassword(PasswordSubject.Instance, Guid.NewGuid().ToString());
}

public sealed record SignupRequest(string? OrganizationName, string? OrganizationSlug, string? Email, string? Password, string? DisplayName);
public sealed record LoginRequest(string? Email, string? Password);
public sealed record RefreshRequest(string? RefreshToken);
public sealed record AddMemberRequest(string? Email, string? Password, string? DisplayName, string? Role);

public sealed record OrganizationResponse(string Id, string Slug, string Name);

public sealed record MemberResponse(string Id, string Email, string DisplayName, string Role, DateTimeOffset CreatedAt)
{
    public static MemberResponse From(MemberRow m) => new(m.Id, m.Email, m.DisplayName, m.Role, Time.FromUnixMs(m.CreatedAt));
}

public sealed record TokenResponse(string AccessToken, string TokenType, int ExpiresIn, string RefreshToken);
public sealed record SignupResponse(OrganizationResponse Organization, MemberResponse Member, TokenResponse Tokens);
public sealed record MeResponse(OrganizationResponse Organization, string Kind, string Id, string? Role, string[]? Scopes);
