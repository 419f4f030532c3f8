using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Accounts;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;

namespace OverlapEscrow.Application.Accounts;

public sealed record SignupInput(string? OrganizationName, string? OrganizationSlug, string? Email, string? Password, string? DisplayName, string? SignupCode = null);

public sealed record MemberInput(string? Email, string? Password, string? DisplayName, string? Role);

public sealed record SignedUp(Organization Organization, Member Admin);

/// <summary>A member signed in, with the session its tokens belong to.</summary>
public sealed record SignedIn(Member Member, string SessionId);

/// <summary>Settings under Escrow:Signup.</summary>
public sealed class SignupOptions
{
    public const string Open = "open";
    public const string Code = "code";

    /// <summary>
    /// "open": anyone who reaches the service can sign up. "code": only with a one-time sign-up code the operator issued
    /// (`admin signup-code`); without one, every sign-up is refused before anything is looked up, so an outsider cannot
    /// learn whether an email or slug is registered.
    /// </summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(open|code)$")]
    public string Mode { get; set; } = Open;

    /// <summary>Failed sign-ups (slug or email taken) a code survives; then it is spent.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 100)]
    public int CodeAttempts { get; set; } = 5;
}

/// <summary>Organizations and their members: sign-up, sign-in, sessions and refresh tokens, passwords, and member management.</summary>
public sealed partial class Accounts(
    IAccountRepository accounts,
    ITransactions transactions,
    IKeyring keyring,
    MemberIdentities identities,
    IPasswordHasher hasher,
    IOptions<SignupOptions> signup,
    TimeProvider time,
    ILogger<Accounts> logger)
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 256;

    /// <summary>
    /// The one answer to a sign-up whose slug or email is taken: it does not say which, so the answer does not confirm
    /// that a given email is registered (see docs/threat-model.md for what varying one field at a time still tells).
    /// </summary>
    public const string SignupConflict = "An organization cannot be created with this slug and email.";

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex SlugPattern();

    /// <summary>Creates an organization, its data key (in the keyring) and its first admin.</summary>
    public async Task<Outcome<SignedUp>> SignupAsync(SignupInput input, CancellationToken ct)
    {
        byte[]? codeHash = null;
        if (signup.Value.Mode == SignupOptions.Code)
        {
            // Refused before anything is looked up: without a code, a sign-up learns nothing of who is registered.
            if (string.IsNullOrEmpty(input.SignupCode))
                return new Failure.Forbidden("Sign-up needs a sign-up code from the operator of this escrow.");
            codeHash = HashSecret(input.SignupCode);
        }
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(input.OrganizationName) && input.OrganizationName.Length <= 100 && PlainText.IsPlain(input.OrganizationName),
                "organizationName", "organizationName is 1-100 printable characters.")
            .Check(input.OrganizationSlug is not null && SlugPattern().IsMatch(input.OrganizationSlug), "organizationSlug", "organizationSlug is 1-40 lower-case letters, digits or hyphens.");
        ValidateMember(input.Email, input.Password, input.DisplayName, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        var organization = new Organization(Ids.New("org"), input.OrganizationSlug!, input.OrganizationName!.Trim(), now);
        var admin = NewMember(organization.Id, input.Email!, input.DisplayName, input.Password!, Roles.Admin, now);
        // The key exists before the organization does: no row is ever without its key. If the row does not commit,
        // the key (which sealed nothing) is discarded.
        keyring.CreateOrganizationKey(organization.Id);
        var created = false;
        try
        {
            await using var uow = await transactions.BeginAsync(ct);
            if (codeHash is not null && !await uow.Accounts.UseSignupCodeAsync(codeHash, now, signup.Value.CodeAttempts, ct))
                return new Failure.Forbidden("The sign-up code is unknown, used, expired or was tried too often.");
            var forms = identities.Forms(admin.Email, fresh: true); // first: the key files read again, then sealed under the newest
            if (!await uow.Accounts.CreateOrganizationAsync(organization, await identities.StoredAsync(admin, ct), forms, ct))
            {
                if (codeHash is not null) await accounts.CountSignupCodeAttemptAsync(codeHash, ct);
                return new Failure.Conflict(SignupConflict);
            }
            await uow.Audit.AppendAsync(new AuditEntry(now, organization.Id, "member:" + admin.Id, "organization.created", null, new { organization.Slug }), ct);
            await uow.CommitAsync(ct);
            created = true;
            return new SignedUp(organization, admin);
        }
        finally
        {
            if (!created) keyring.DiscardNewOrganizationKey(organization.Id);
        }
    }

    /// <summary>Issues a one-time sign-up code (the operator's command line): returns the code, shown once.</summary>
    public async Task<string> CreateSignupCodeAsync(TimeSpan validFor, CancellationToken ct)
    {
        var code = "oes_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        var now = time.GetUtcNow();
        await accounts.CreateSignupCodeAsync(HashSecret(code), now, now + validFor, ct);
        return code;
    }

    /// <summary>The member whose email and password these are; null otherwise (without telling which was wrong).</summary>
    public async Task<Member?> SignInAsync(string email, string password, CancellationToken ct)
    {
        var forms = identities.Forms(email);
        var stored = await accounts.FindMemberByEmailAsync(forms, ct);
        // A miss may be a token key this instance has not seen yet (another instance's start re-made the lookups under it).
        if (stored is null && identities.Outdated(forms = identities.Forms(email, fresh: true))) stored = await accounts.FindMemberByEmailAsync(forms, ct);
        // An identity that cannot be opened is answered as an unknown email.
        var member = await identities.TryOpenAsync(stored, ct);
        // Verify against a fixed hash when the email is unknown, so timing does not tell which emails exist.
        var ok = hasher.Verify(member?.PasswordHash ?? UnknownUserHash, password);
        if (member is null || !ok) return null;
        if (hasher.NeedsRehash(member.PasswordHash))
        {
            // The next sign-in after an upgrade of the scheme or its parameters replaces the stored hash (a concurrent
            // password change wins: the replacement only applies to the identity just read).
            var upgraded = member with { PasswordHash = hasher.Hash(password) };
            if (await accounts.ReplaceMemberIdentityAsync(stored!, await identities.StoredAsync(upgraded, ct), ct)) member = upgraded;
        }
        return member;
    }

    /// <summary>Opens a session for a member who just signed in (or up): its refresh tokens form one family.</summary>
    public async Task<string> StartSessionAsync(string memberId, CancellationToken ct)
    {
        var sessionId = Ids.New("ses");
        await accounts.StartSessionAsync(sessionId, memberId, time.GetUtcNow(), ct);
        return sessionId;
    }

    /// <summary>
    /// Uses a refresh token up: its member and session when it was valid; null otherwise. A token used a second time
    /// means it or its successor was stolen: the whole session ends (RFC 9700 §4.14.2) and the reuse is audited.
    /// </summary>
    public async Task<SignedIn?> UseRefreshTokenAsync(string refreshToken, CancellationToken ct)
    {
        var use = await accounts.UseRefreshTokenAsync(HashSecret(refreshToken), time.GetUtcNow(), ct);
        if (use.Outcome == RefreshUseOutcome.Reused && await accounts.GetMemberAsync(use.MemberId!, ct) is { } victim)
        {
            logger.LogWarning("A used refresh token was presented again for member {MemberId}: session {SessionId} revoked", victim.Id, use.SessionId);
            await Audit(victim.OrganizationId, "member:" + victim.Id, "session.revoked", new { sessionId = use.SessionId, reason = "refresh_token_reused" }, ct);
        }
        if (use.Outcome != RefreshUseOutcome.Used) return null;
        var member = await identities.TryOpenAsync(await accounts.GetMemberAsync(use.MemberId!, ct), ct);
        if (member is null) return null;
        return new SignedIn(member, use.SessionId ?? await StartSessionAsync(member.Id, ct));
    }

    /// <summary>Stores a new refresh token (only its SHA-256) in a member's session.</summary>
    public Task StoreRefreshTokenAsync(string refreshToken, string memberId, string sessionId, DateTimeOffset expiresAt, CancellationToken ct) =>
        accounts.StoreSessionRefreshTokenAsync(HashSecret(refreshToken), memberId, sessionId, expiresAt, ct);

    /// <summary>Signs a member out: ends its current session, or all of its sessions. Access tokens of an ended session stop working on their next request.</summary>
    public async Task SignOutAsync(Caller caller, string memberId, string? sessionId, bool everywhere, CancellationToken ct)
    {
        var ended = await accounts.EndSessionsAsync(memberId, everywhere ? null : sessionId, time.GetUtcNow(), everywhere ? "signed_out_everywhere" : "signed_out", ct);
        if (ended > 0) await Audit(caller.OrganizationId, caller.Actor, "member.signed_out", new { sessions = ended }, ct);
    }

    /// <summary>
    /// Changes the caller's own password, given the current one. Every other session of the member ends (a thief's
    /// included); the session the change was made from goes on.
    /// </summary>
    public async Task<Outcome<bool>> ChangePasswordAsync(Caller caller, string memberId, string? sessionId, string? currentPassword, string? newPassword, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrEmpty(currentPassword) && currentPassword.Length <= MaxPasswordLength, "currentPassword", "currentPassword is required.")
            .Check(newPassword is not null && newPassword.Length is >= MinPasswordLength and <= MaxPasswordLength,
                "newPassword", $"newPassword is {MinPasswordLength}-{MaxPasswordLength} characters.")
            .Check(newPassword is null || newPassword != currentPassword, "newPassword", "newPassword differs from currentPassword.");
        if (errors.Any) return new Failure.Invalid(errors.All);
        var stored = await accounts.GetMemberAsync(memberId, ct);
        if (stored is null || stored.OrganizationId != caller.OrganizationId || await identities.TryOpenAsync(stored, ct) is not { } member)
            return new Failure.NotFound("member");
        if (!hasher.Verify(member.PasswordHash, currentPassword!)) return Failure.Invalid.Of("currentPassword", "currentPassword is wrong.");
        if (!await accounts.ReplaceMemberIdentityAsync(stored, await identities.StoredAsync(member with { PasswordHash = hasher.Hash(newPassword!) }, ct), ct))
            return new Failure.Conflict("The password changed meanwhile; sign in again.");
        var ended = await accounts.EndOtherSessionsAsync(member.Id, sessionId, time.GetUtcNow(), "password_changed", ct);
        await Audit(caller.OrganizationId, caller.Actor, "member.password_changed", new { memberId = member.Id, sessionsEnded = ended }, ct);
        return true;
    }

    public Task<Organization?> GetOrganizationAsync(string organizationId, CancellationToken ct) => accounts.GetOrganizationAsync(organizationId, ct);

    public async Task<IReadOnlyList<Member>> ListMembersAsync(Caller caller, CancellationToken ct) =>
        await identities.OpenAllAsync(caller.OrganizationId, await accounts.ListMembersAsync(caller.OrganizationId, ct), ct);

    public async Task<Outcome<Member>> AddMemberAsync(Caller caller, MemberInput input, CancellationToken ct)
    {
        var errors = new FieldErrors().Check(input.Role is not null && Roles.All.Contains(input.Role), "role", $"role is one of {string.Join(", ", Roles.All)}.");
        ValidateMember(input.Email, input.Password, input.DisplayName, errors);
        if (errors.Any) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var member = NewMember(caller.OrganizationId, input.Email!, input.DisplayName, input.Password!, input.Role!, now);
        await using var uow = await transactions.BeginAsync(ct);
        var forms = identities.Forms(member.Email, fresh: true); // first: the key files read again, then sealed under the newest
        if (!await uow.Accounts.CreateMemberAsync(await identities.StoredAsync(member, ct), forms, ct))
            return new Failure.Conflict("That email cannot be added as a member.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "member.added", null, new { memberId = member.Id, member.Role }), ct);
        await uow.CommitAsync(ct);
        return member;
    }

    /// <summary>Changes a member's role. Its access tokens carry the old role and stop working on their next request; a refresh gives it tokens with the new one.</summary>
    public async Task<Outcome<Member>> ChangeRoleAsync(Caller caller, string memberId, string? role, CancellationToken ct)
    {
        if (role is null || !Roles.All.Contains(role)) return Failure.Invalid.Of("role", $"role is one of {string.Join(", ", Roles.All)}.");
        // A member whose identity cannot be opened is left out of the member list, and not found here either (it can be removed).
        var stored = await accounts.GetMemberAsync(memberId, ct);
        if (stored is null || stored.OrganizationId != caller.OrganizationId || await identities.TryOpenAsync(stored, ct) is not { } member)
            return new Failure.NotFound("member");
        // The change and its audit event commit together (or neither).
        await using (var uow = await transactions.BeginAsync(ct))
        {
            var outcome = await uow.Accounts.ChangeMemberRoleAsync(caller.OrganizationId, memberId, role, ct);
            if (outcome == MemberChangeOutcome.NotFound) return new Failure.NotFound("member");
            if (outcome == MemberChangeOutcome.LastAdmin) return new Failure.Conflict("An organization keeps at least one admin: make another member admin first.");
            await uow.Audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, "member.role_changed", null, new { memberId, role }), ct);
            await uow.CommitAsync(ct);
        }
        return member with { Role = role };
    }

    /// <summary>Removes a member: its sessions and refresh tokens go with it, and its access tokens stop working on their next request.</summary>
    public async Task<Outcome<bool>> RemoveMemberAsync(Caller caller, string memberId, CancellationToken ct)
    {
        await using var uow = await transactions.BeginAsync(ct);
        var outcome = await uow.Accounts.RemoveMemberAsync(caller.OrganizationId, memberId, ct);
        if (outcome == MemberChangeOutcome.NotFound) return new Failure.NotFound("member");
        if (outcome == MemberChangeOutcome.LastAdmin) return new Failure.Conflict("An organization keeps at least one admin: make another member admin first, or delete the organization.");
        await uow.Audit.AppendAsync(new AuditEntry(time.GetUtcNow(), caller.OrganizationId, caller.Actor, "member.removed", null, new { memberId }), ct);
        await uow.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// Whether the credential behind a token still stands: the member exists with this organization and role, and the
    /// session the token names (tokens issued before sessions existed name none) is open.
    /// </summary>
    public async Task<bool> MemberStillValidAsync(string memberId, string organizationId, string? role, string? sessionId, CancellationToken ct) =>
        role is not null && await accounts.MemberCredentialStandsAsync(memberId, organizationId, role, sessionId, ct);

    /// <summary>Secrets with 256 bits of entropy need no slow hash: SHA-256 is preimage-resistant for them.</summary>
    public static byte[] HashSecret(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private async Task Audit(string organizationId, string actor, string action, object detail, CancellationToken ct)
    {
        await using var uow = await transactions.BeginAsync(ct);
        await uow.Audit.AppendAsync(new AuditEntry(time.GetUtcNow(), organizationId, actor, action, null, detail), ct);
        await uow.CommitAsync(ct);
    }

    private static void ValidateMember(string? email, string? password, string? displayName, FieldErrors errors)
    {
        errors.Check(email is not null && email.Length <= 254 && PlainText.IsPlain(email) && MailAddress.TryCreate(email, out var parsed) && parsed.Address == email.Trim(),
            "email", "email is a valid address.");
        errors.Check(password is not null && password.Length is >= MinPasswordLength and <= MaxPasswordLength,
            "password", $"password is {MinPasswordLength}-{MaxPasswordLength} characters.");
        errors.Check(displayName is null || (displayName.Length <= 100 && PlainText.IsPlain(displayName)), "displayName", "displayName is at most 100 printable characters.");
    }

    private Member NewMember(string organizationId, string email, string? displayName, string password, string role, DateTimeOffset now) => new(
        Ids.New("mem"), organizationId, email.Trim(), string.IsNullOrWhiteSpace(displayName) ? email.Trim() : displayName.Trim(),
        hasher.Hash(password), role, now);

    private string? _unknownUserHash;
    private string UnknownUserHash => _unknownUserHash ??= hasher.Hash(Guid.NewGuid().ToString());
}
