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

    /// <summary>The caller as the use cases know it: its organization and actor.</summary>
    public Application.Caller Caller => new(OrganizationId, Actor);
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
