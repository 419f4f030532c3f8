namespace OverlapEscrow.Domain.Accounts;

/// <summary>A person of an organization who signs in; <see cref="PasswordHash"/> is the password hasher's output, never the password.</summary>
public sealed record Member(string Id, string OrganizationId, string Email, string DisplayName, string PasswordHash, string Role, DateTimeOffset CreatedAt);

/// <summary>
/// A scoped credential for a machine of an organization. Only a hash of its secret is kept; <see cref="CreatedBy"/>
/// names the actor who made it.
/// </summary>
public sealed record ApiKey(
    string Id,
    string OrganizationId,
    string Name,
    byte[] SecretHash,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt);

/// <summary>What a member may do, by role.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string PartnerManager = "partner_manager";
    public const string SalesOps = "sales_ops";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Admin, PartnerManager, SalesOps, Viewer];
}

/// <summary>What an API key may do: each scope names the permission of the same name.</summary>
public static class Scopes
{
    public const string PopulationsRead = "populations:read";
    public const string PopulationsWrite = "populations:write";
    public const string PartnershipsRead = "partnerships:read";
    public const string PartnershipsWrite = "partnerships:write";
    public const string OverlapsRead = "overlaps:read";
    public const string SchedulesRead = "schedules:read";
    public const string SchedulesWrite = "schedules:write";

    public static readonly IReadOnlyList<string> All = [PopulationsRead, PopulationsWrite, PartnershipsRead, PartnershipsWrite, OverlapsRead, SchedulesRead, SchedulesWrite];
}
