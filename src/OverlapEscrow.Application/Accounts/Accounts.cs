using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Application.Accounts;

/// <summary>Hashes and checks member passwords (the host supplies the platform's hasher).</summary>
public interface IPasswordHasher
{
    string Hash(string password);

    /// <summary>Whether <paramref name="password"/> matches <paramref name="hash"/>.</summary>
    bool Verify(string hash, string password);
}

public sealed record SignupInput(string? OrganizationName, string? OrganizationSlug, string? Email, string? Password, string? DisplayName);

public sealed record MemberInput(string? Email, string? Password, string? DisplayName, string? Role);

public sealed record SignedUp(Organization Organization, Member Admin);

/// <summary>Organizations and their members: sign-up, sign-in, refresh-token use, and member management.</summary>
public sealed partial class Accounts(IAccountRepository accounts, ITransactions transactions, IKeyring keyring, IPasswordHasher hasher, TimeProvider time)
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 256;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex SlugPattern();

    /// <summary>Creates an organization, its data key and its first admin.</summary>
    public async Task<Outcome<SignedUp>> SignupAsync(SignupInput input, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(input.OrganizationName) && input.OrganizationName.Length <= 100, "organizationName", "organizationName is 1-100 characters.")
            .Check(input.OrganizationSlug is not null && SlugPattern().IsMatch(input.OrganizationSlug), "organizationSlug", "organizationSlug is 1-40 lower-case letters, digits or hyphens.");
        ValidateMember(input.Email, input.Password, input.DisplayName, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        var organization = new Organization(Ids.New("org"), input.OrganizationSlug!, input.OrganizationName!.Trim(), now);
        var admin = NewMember(organization.Id, input.Email!, input.DisplayName, input.Password!, Roles.Admin, now);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Accounts.CreateOrganizationAsync(organization, keyring.NewOrganizationKey(organization.Id), admin, ct))
            return new Failure.Conflict("That organization slug or email is already registered.");
        await uow.Audit.AppendAsync(new AuditEntry(now, organization.Id, "member:" + admin.Id, "organization.created", null, new { organization.Slug }), ct);
        await uow.CommitAsync(ct);
        return new SignedUp(organization, admin);
    }

    /// <summary>The member whose email and password these are; null otherwise (without telling which was wrong).</summary>
    public async Task<Member?> SignInAsync(string email, string password, CancellationToken ct)
    {
        var member = await accounts.FindMemberByEmailAsync(email.Trim(), ct);
        // Verify against a fixed hash when the email is unknown, so timing does not tell which emails exist.
        var ok = hasher.Verify(member?.PasswordHash ?? UnknownUserHash, password);
        return member is not null && ok ? member : null;
    }

    /// <summary>The member of an unexpired, unused refresh token, which is used up by this call; null otherwise.</summary>
    public async Task<Member?> UseRefreshTokenAsync(string refreshToken, CancellationToken ct)
    {
        var memberId = await accounts.ConsumeRefreshTokenAsync(HashSecret(refreshToken), time.GetUtcNow(), ct);
        return memberId is null ? null : await accounts.GetMemberAsync(memberId, ct);
    }

    /// <summary>Stores a new refresh token (only its SHA-256) for a member.</summary>
    public Task StoreRefreshTokenAsync(string refreshToken, string memberId, DateTimeOffset expiresAt, CancellationToken ct) =>
        accounts.StoreRefreshTokenAsync(HashSecret(refreshToken), memberId, expiresAt, ct);

    public Task<Organization?> GetOrganizationAsync(string organizationId, CancellationToken ct) => accounts.GetOrganizationAsync(organizationId, ct);

    public Task<IReadOnlyList<Member>> ListMembersAsync(Caller caller, CancellationToken ct) => accounts.ListMembersAsync(caller.OrganizationId, ct);

    public async Task<Outcome<Member>> AddMemberAsync(Caller caller, MemberInput input, CancellationToken ct)
    {
        var errors = new FieldErrors().Check(input.Role is not null && Roles.All.Contains(input.Role), "role", $"role is one of {string.Join(", ", Roles.All)}.");
        ValidateMember(input.Email, input.Password, input.DisplayName, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var member = NewMember(caller.OrganizationId, input.Email!, input.DisplayName, input.Password!, input.Role!, now);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Accounts.CreateMemberAsync(member, ct)) return new Failure.Conflict("That email is already registered.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "member.added", null, new { memberId = member.Id, member.Role }), ct);
        await uow.CommitAsync(ct);
        return member;
    }

    /// <summary>Whether the credential behind a token still stands: the member exists with this organization and role.</summary>
    public async Task<bool> MemberStillValidAsync(string memberId, string organizationId, string? role, CancellationToken ct) =>
        await accounts.GetMemberAsync(memberId, ct) is { } m && m.OrganizationId == organizationId && m.Role == role;

    /// <summary>Secrets with 256 bits of entropy need no slow hash: SHA-256 is preimage-resistant for them.</summary>
    public static byte[] HashSecret(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static void ValidateMember(string? email, string? password, string? displayName, FieldErrors errors)
    {
        errors.Check(email is not null && email.Length <= 254 && MailAddress.TryCreate(email, out var parsed) && parsed.Address == email.Trim(),
            "email", "email is a valid address.");
        errors.Check(password is not null && password.Length is >= MinPasswordLength and <= MaxPasswordLength,
            "password", $"password is {MinPasswordLength}-{MaxPasswordLength} characters.");
        errors.Check(displayName is null || displayName.Length <= 100, "displayName", "displayName is at most 100 characters.");
    }

    private Member NewMember(string organizationId, string email, string? displayName, string password, string role, DateTimeOffset now) => new(
        Ids.New("mem"), organizationId, email.Trim(), string.IsNullOrWhiteSpace(displayName) ? email.Trim() : displayName.Trim(),
        hasher.Hash(password), role, now);

    private string? _unknownUserHash;
    private string UnknownUserHash => _unknownUserHash ??= hasher.Hash(Guid.NewGuid().ToString());
}
