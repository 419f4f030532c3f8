using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Api.Signals;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// Data requests of one partnership (docs/health.md): the requests I sent and received, as DataRequests renders them;
/// a form to ask for more on one of my counts-only cells (the matrix links here with the cell); on a received open
/// request, answer with a rule for the cell or decline. The same use cases as /v1/…/data-requests.
/// </summary>
[DashboardAuthorize(Policies.PartnershipsRead)]
public sealed class RequestsModel(DataRequests requests, PartnershipLifecycle partnerships, SharingChanges sharingChanges, IDataProtectionProvider protection) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public IReadOnlyList<DataRequestView> Requests { get; private set; } = [];
    public bool CanWrite { get; private set; }

    /// <summary>The page of older requests, when there is one (the list's cursor, as in the API).</summary>
    public string? NextCursor { get; private set; }

    [BindProperty(SupportsGet = true, Name = "cursor")] public string? Cursor { get; set; }

    /// <summary>The counts-only cells I may ask about: the cells the partner shares with me at the counts level (SharingChanges).</summary>
    public IReadOnlyList<(string MyId, string MyName, string TheirId, string TheirName)> CountsCells { get; private set; } = [];

    /// <summary>The cell to preselect (the matrix's "Ask for more" link names it).</summary>
    [BindProperty(SupportsGet = true, Name = "mine")] public string? Mine { get; set; }
    [BindProperty(SupportsGet = true, Name = "theirs")] public string? Theirs { get; set; }

    /// <summary>The posted cell: "my population id|partner population id".</summary>
    [BindProperty(Name = "cell")] public string? Cell { get; set; }
    [BindProperty(Name = "message")] public string? Message { get; set; }

    public async Task<IActionResult> OnGetAsync(string partnershipId, CancellationToken ct) => await LoadAsync(partnershipId, ct) ?? Page();

    public async Task<IActionResult> OnPostAskAsync(string partnershipId, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return await LoadAsync(partnershipId, ct) ?? ForbiddenPage("Your role cannot make data requests.");
        if (!CursorIsMine(partnershipId)) return await LoadAsync(partnershipId, ct) ?? Page();
        var parts = (Cell ?? "").Split('|', 2);
        (Mine, Theirs) = (parts[0], parts.Length > 1 ? parts[1] : null);
        var outcome = await requests.CreateAsync(Caller, partnershipId, new DataRequestInput(Mine, Theirs, Message), ct);
        if (await LoadAsync(partnershipId, ct) is { } stop) return stop;
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = $"Request sent. {Partnership!.Partner.Name} sees it on its data requests page.";
        Message = null;
        return Page();
    }

    /// <summary>Answers with a rule for the cell; <paramref name="fields"/> is comma-separated attribute names.</summary>
    public async Task<IActionResult> OnPostAnswerAsync(string partnershipId, string requestId, string? level, string? fields, string? minimumCount, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return await LoadAsync(partnershipId, ct) ?? ForbiddenPage("Your role cannot change what your organization shares.");
        if (!CursorIsMine(partnershipId)) return await LoadAsync(partnershipId, ct) ?? Page();
        var chosen = (fields ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => (string?)f).ToList();
        // Read as text, as the sharing pages read it: a value that is not a whole number ("1,000", "abc", past int) is refused
        // by the same check as the API's (naming minimumCount), not dropped for the inherited minimum.
        int? minimum = string.IsNullOrWhiteSpace(minimumCount) ? null
            : int.TryParse(minimumCount, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var m) ? m : -1;
        var outcome = await requests.AnswerAsync(Caller, requestId, new SharingSettingInput(level, chosen, minimum), ct);
        if (await LoadAsync(partnershipId, ct) is { } stop) return stop;
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = "Answered: your sharing of that cell changed, and the partner sees it on its next request.";
        return Page();
    }

    public async Task<IActionResult> OnPostDeclineAsync(string partnershipId, string requestId, string? reason, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return await LoadAsync(partnershipId, ct) ?? ForbiddenPage("Your role cannot answer data requests.");
        if (!CursorIsMine(partnershipId)) return await LoadAsync(partnershipId, ct) ?? Page();
        var outcome = await requests.DeclineAsync(Caller, requestId, reason, ct);
        if (await LoadAsync(partnershipId, ct) is { } stop) return stop;
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = "Declined.";
        return Page();
    }

    private async Task<IActionResult?> LoadAsync(string partnershipId, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var cursors = CursorsOf(partnershipId);
        if (!ListCursors.TryDecode(cursors, Cursor, out var after)) return ForeignCursorPage();
        var list = await requests.ListAsync(Caller, partnershipId, after, null, ct);
        if (list.Failure is { } failure) return Fail(failure);
        Requests = list.Value!.Items;
        NextCursor = ListCursors.Protect(cursors, list.Value.Next);
        CanWrite = await AllowsAsync(Policies.PartnershipsWrite);
        CountsCells = await CountsCellsAsync(partnershipId, ct);
        return null;
    }

    private IDataProtector CursorsOf(string partnershipId) => ListCursors.For(protection, "data-requests", Caller.OrganizationId, partnershipId);

    /// <summary>Checked before an action: a cursor this page did not make is refused (ForeignCursorPage, by LoadAsync) with nothing changed.</summary>
    private bool CursorIsMine(string partnershipId) => ListCursors.TryDecode(CursorsOf(partnershipId), Cursor, out _);

    private async Task<IReadOnlyList<(string, string, string, string)>> CountsCellsAsync(string partnershipId, CancellationToken ct)
    {
        if (Partnership!.Partnership.Status != Domain.Partnerships.PartnershipStatus.Active) return [];
        var sharing = await sharingChanges.GetForPartnershipAsync(Caller, partnershipId, ct);
        if (sharing.Value is not { } s) return [];
        return s.Theirs.SelectMany(t => t.Cells.Where(c => c.Level == SharingLevel.Counts)
                .Select(c => (c.MyPopulationId, s.Mine.FirstOrDefault(m => m.PopulationId == c.MyPopulationId)?.PopulationName ?? c.MyPopulationId,
                    t.Population.Id, t.Population.Name)))
            .ToList();
    }
}
