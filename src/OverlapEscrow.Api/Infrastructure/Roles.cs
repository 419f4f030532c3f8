using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Api.Infrastructure;

/// <summary>Authorization policies: who may call a route group, by member role or by API-key scope.</summary>
public static class Policies
{
    public const string Admin = "admin";
    public const string PopulationsRead = Scopes.PopulationsRead;
    public const string PopulationsWrite = Scopes.PopulationsWrite;
    public const string PartnershipsRead = Scopes.PartnershipsRead;
    public const string PartnershipsWrite = Scopes.PartnershipsWrite;
    public const string OverlapsRead = Scopes.OverlapsRead;
    public const string SchedulesRead = Scopes.SchedulesRead;
    public const string SchedulesWrite = Scopes.SchedulesWrite;

    /// <summary>Webhook subscriptions: members who manage partnerships; no API-key scope reaches them.</summary>
    public const string Webhooks = "webhooks";

    /// <summary>Any member or API key of any organization, whatever its role or scopes: for what a caller may
    /// always ask about itself (GET /v1/me).</summary>
    public const string Caller = "caller";

    /// <summary>Member roles allowed by each policy; API keys are allowed by the scopes in <see cref="ScopesFor"/>.</summary>
    public static IReadOnlyList<string> RolesFor(string policy) => policy switch
    {
        Admin => [Roles.Admin],
        PopulationsWrite => [Roles.Admin, Roles.PartnerManager, Roles.SalesOps],
        PartnershipsWrite => [Roles.Admin, Roles.PartnerManager],
        // Sales ops are notified of failed syncs, so they manage webhooks too.
        Webhooks => [Roles.Admin, Roles.PartnerManager, Roles.SalesOps],
        SchedulesWrite => [Roles.Admin, Roles.SalesOps],
        PopulationsRead or PartnershipsRead or OverlapsRead or SchedulesRead or Caller => Roles.All,
        _ => [],
    };

    public static IReadOnlyList<string> ScopesFor(string policy) => policy switch
    {
        PopulationsRead => [Scopes.PopulationsRead, Scopes.PopulationsWrite],
        PopulationsWrite => [Scopes.PopulationsWrite],
        PartnershipsRead => [Scopes.PartnershipsRead, Scopes.PartnershipsWrite, Scopes.OverlapsRead],
        PartnershipsWrite => [Scopes.PartnershipsWrite],
        OverlapsRead => [Scopes.OverlapsRead],
        SchedulesRead => [Scopes.SchedulesRead, Scopes.SchedulesWrite],
        SchedulesWrite => [Scopes.SchedulesWrite],
        Caller => Scopes.All,
        _ => [],
    };

    public static readonly IReadOnlyList<string> All = [Admin, PopulationsRead, PopulationsWrite, PartnershipsRead, PartnershipsWrite, OverlapsRead, SchedulesRead, SchedulesWrite, Webhooks, Caller];
}
