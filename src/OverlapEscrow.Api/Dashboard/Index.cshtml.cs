using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Api.Dashboard;

/// <summary>
/// Partnerships home: every partnership with its partner and status, when each side's data was last updated, the
/// headline overlap (the largest cell of the matrix as the matrix releases it), invitations to answer, and an invite
/// by slug. Everything comes from PartnershipLifecycle and OverlapReports, as the API's answers do.
/// </summary>
[DashboardAuthorize(Policies.PartnershipsRead)]
public sealed class IndexModel(PartnershipLifecycle partnerships, OverlapReports reports, PopulationCatalog populations, AccountRateLimiter limits) : DashboardPage
{
    public sealed record Summary(PartnershipView View, DateTimeOffset? MyDataUpdatedAt, DateTimeOffset? PartnerDataUpdatedAt, MatrixCell? Headline,
        string? HeadlineMine, string? HeadlineTheirs, int Cells);

    public IReadOnlyList<Summary> Active { get; private set; } = [];
    public IReadOnlyList<PartnershipView> InvitationsToMe { get; private set; } = [];
    public IReadOnlyList<PartnershipView> InvitationsSent { get; private set; } = [];
    public IReadOnlyList<PartnershipView> Ended { get; private set; } = [];
    public bool CanWrite { get; private set; }

    [BindProperty(Name = "partnerSlug")] public string? PartnerSlug { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostInviteAsync(CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return ForbiddenPage("Your role cannot invite partners.");
        if (limits.Invitation(HttpContext, Caller.OrganizationId) is not null)
        {
            await LoadAsync(ct);
            return Refuse(new Application.Failure.Limited("Your organization has sent too many invitations; wait a while and try again."));
        }
        var outcome = await partnerships.InviteAsync(Caller, PartnerSlug, ct);
        await LoadAsync(ct);
        if (outcome.Failure is { } failure) return Refuse(failure);
        Notice = $"Invitation sent to {outcome.Value!.Partner.Name} ({outcome.Value.Partner.Slug}). It becomes a partnership when they accept.";
        PartnerSlug = null;
        return Page();
    }

    public async Task<IActionResult> OnPostAnswerAsync(string partnershipId, bool accept, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return ForbiddenPage("Your role cannot answer invitations.");
        var outcome = await partnerships.AnswerAsync(Caller, partnershipId, accept, ct);
        if (outcome.Failure is Application.Failure.NotFound nf) return NotFoundPage(nf.Detail);
        await LoadAsync(ct);
        if (outcome.Failure is { } failure) return Refuse(failure);
        Notice = accept ? $"You are now partners with {outcome.Value!.Partner.Name}." : $"You declined the invitation of {outcome.Value!.Partner.Name}.";
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        CanWrite = await AllowsAsync(Policies.PartnershipsWrite);
        var all = await partnerships.ListAsync(Caller, ct);
        var mine = await populations.ListAsync(Caller, ct);
        var myUpdated = mine.Max(p => p.UpdatedAt);
        InvitationsToMe = all.Where(p => p.Partnership.Status == PartnershipStatus.Invited && !p.IInvited).ToList();
        InvitationsSent = all.Where(p => p.Partnership.Status == PartnershipStatus.Invited && p.IInvited).ToList();
        Ended = all.Where(p => p.Partnership.Status is PartnershipStatus.Declined or PartnershipStatus.Terminated).ToList();
        var active = new List<Summary>();
        foreach (var p in all.Where(p => p.Partnership.Status == PartnershipStatus.Active))
        {
            var matrix = await reports.MatrixAsync(Caller, p.Partnership.Id, ct);
            if (matrix.Value is not { } m)
            {
                active.Add(new Summary(p, myUpdated, null, null, null, null, 0));
                continue;
            }
            // The largest released count; withheld cells have none and never count as the largest.
            var headline = m.Cells.Where(c => c.Count.Value is not null).MaxBy(c => c.Count.Value!.Value) ?? m.Cells.FirstOrDefault();
            active.Add(new Summary(p, myUpdated, m.PartnerPopulations.Max(x => x.DataUpdatedAt), headline,
                headline is null ? null : m.MyPopulations.FirstOrDefault(x => x.Id == headline.MyPopulationId)?.Name,
                headline is null ? null : m.PartnerPopulations.FirstOrDefault(x => x.Id == headline.PartnerPopulationId)?.Name, m.Cells.Count));
        }
        Active = active;
    }
}
