using System.Security.Claims;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>The authenticated caller of the current request: a member or an API key, always of one organization.</summary>
public sealed class CurrentUser(IHttpContextAccessor accessor)
{
    private ClaimsPrincipal Principal => accessor.HttpContext?.User ?? new ClaimsPrincipal();

    public string OrganizationId => Principal.FindFirstValue(EscrowClaims.Organization)
        ?? throw new InvalidOperationException("No authenticated organization.");

    public string SubjectId => Principal.FindFirstValue(EscrowClaims.Subject) ?? "";

    /// <summary>The session a member's token belongs to (null for an API key, or a token issued before sessions existed).</summary>
    public string? SessionId => Principal.FindFirstValue(EscrowClaims.Session);

    public bool IsApiKey => Principal.FindFirstValue(EscrowClaims.Kind) == EscrowClaims.KindApiKey;

    /// <summary>How the audit log names the caller: "member:&lt;id&gt;" or "api_key:&lt;id&gt;".</summary>
    public string Actor => (IsApiKey ? "api_key:" : "member:") + SubjectId;

    /// <summary>The caller as the use cases know it: its organization and actor (the claims read in one pass).</summary>
    public Application.Caller Caller
    {
        get
        {
            var claims = EscrowClaimValues.Of(Principal);
            return new(claims.Organization ?? throw new InvalidOperationException("No authenticated organization."),
                (claims.Kind == EscrowClaims.KindApiKey ? "api_key:" : "member:") + (claims.Subject ?? ""));
        }
    }
}

/// <summary>
/// The escrow's claims of a principal, read in one pass over its identities' claims: the first of each type, compared
/// as <see cref="ClaimsPrincipal.FindFirst(string)"/> compares (ordinal, ignoring case). Each <c>FindFirst</c> call
/// allocates a predicate and an enumerator per identity; the token check, the policy and the endpoint asked for
/// eleven claims per request that way.
/// </summary>
public readonly record struct EscrowClaimValues(string? Subject, string? Organization, string? Kind, string? Role, string? Session, string? Scope)
{
    public static EscrowClaimValues Of(ClaimsPrincipal principal)
    {
        string? subject = null, organization = null, kind = null, role = null, session = null, scope = null;
        foreach (var identity in principal.Identities)
            foreach (var claim in identity.Claims)
            {
                var type = claim.Type;
                if (Is(type, EscrowClaims.Subject)) subject ??= claim.Value;
                else if (Is(type, EscrowClaims.Organization)) organization ??= claim.Value;
                else if (Is(type, EscrowClaims.Kind)) kind ??= claim.Value;
                else if (Is(type, EscrowClaims.Role)) role ??= claim.Value;
                else if (Is(type, EscrowClaims.Session)) session ??= claim.Value;
                else if (Is(type, EscrowClaims.Scope)) scope ??= claim.Value;
            }
        return new(subject, organization, kind, role, session, scope);
    }

    private static bool Is(string type, string name) => string.Equals(type, name, StringComparison.OrdinalIgnoreCase);
}

public static class EscrowClaims
{
    public const string Subject = "sub";
    public const string Organization = "org";
    public const string Role = "role";
    public const string Scope = "scope";
    public const string Kind = "kind";
    public const string Session = "sid";
    public const string KindMember = "member";
    public const string KindApiKey = "api_key";
    public const string Issuer = "overlap-escrow";
    public const string Audience = "overlap-escrow-api";
}
