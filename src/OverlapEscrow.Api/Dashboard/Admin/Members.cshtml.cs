using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Api.Dashboard.Admin;

/// <summary>Members of my organization and their roles; add one (Accounts.AddMemberAsync, as POST /v1/members).</summary>
[DashboardAuthorize(Policies.Admin)]
public sealed class MembersModel(Application.Accounts.Accounts accounts) : DashboardPage
{
    public IReadOnlyList<Member> Members { get; private set; } = [];

    [BindProperty(Name = "email")] public string? NewEmail { get; set; }
    [BindProperty(Name = "displayName")] public string? DisplayName { get; set; }
    [BindProperty(Name = "role")] public string? NewRole { get; set; } = Roles.Viewer;
    [BindProperty(Name = "password")] public string? Password { get; set; }

    public async Task OnGetAsync(CancellationToken ct) => Members = await accounts.ListMembersAsync(Caller, ct);

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var outcome = await accounts.AddMemberAsync(Caller, new MemberInput(NewEmail, Password, string.IsNullOrWhiteSpace(DisplayName) ? null : DisplayName, NewRole), ct);
        Password = null;
        Members = await accounts.ListMembersAsync(Caller, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = $"Added {outcome.Value!.Email} as {outcome.Value.Role.Replace('_', ' ')}. Give them their initial password by a separate channel.";
        NewEmail = DisplayName = null;
        return Page();
    }

    /// <summary>What each role may do (the policies of the API).</summary>
    public static string Describe(string role) => role switch
    {
        Roles.Admin => "everything: members, API keys, the audit log, sharing, partnerships, uploads, syncs, webhooks",
        Roles.PartnerManager => "partnerships and sharing, uploads, webhooks; reads everything else",
        Roles.SalesOps => "uploads, sync schedules, webhooks; reads partnerships and overlaps",
        Roles.Viewer => "reads partnerships, overlaps, populations and syncs",
        _ => "",
    };
}
