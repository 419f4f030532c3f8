using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Signals;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Signals;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Signals;

/// <summary>
/// Time-correct attribution (docs/health.md): for one of my opportunities populations, each opportunity with the
/// partners that had its account while it was open (Attributions.EvaluateAsync) and a claim button per partner with
/// evidence; the ledger, with confirm/dispute on claims that name my organization; the CSV download. The same use cases
/// as /v1/populations/{id}/attribution and /v1/attributions.
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class AttributionModel(Attributions attributions, PopulationCatalog catalog, IDataProtectionProvider protection) : DashboardPage
{
    public IReadOnlyList<PopulationSummary> Pipelines { get; private set; } = [];
    public PopulationSummary? Pipeline { get; private set; }
    public IReadOnlyList<OpportunityAttribution> Opportunities { get; private set; } = [];
    public IReadOnlyList<AttributionView> Ledger { get; private set; } = [];
    public bool CanWrite { get; private set; }

    /// <summary>The ledger's next (older) page, when there is one (the list's cursor, as in the API).</summary>
    public string? NextCursor { get; private set; }

    [BindProperty(SupportsGet = true, Name = "cursor")] public string? Cursor { get; set; }

    [BindProperty(SupportsGet = true, Name = "population")] public string? PopulationId { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => await LoadAsync(ct) ?? Page();

    public async Task<IActionResult> OnGetCsvAsync(CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsRead)) return ForbiddenPage("Your role cannot read the attribution ledger.");
        await AttributionsApi.WriteCsvAsync(HttpContext, await attributions.ExportRowsAsync(Caller, ct), ct);
        return new EmptyResult();
    }

    public async Task<IActionResult> OnPostClaimAsync(string opportunityId, string partnershipId, string? role, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return ForbiddenPage("Your role cannot record attribution.");
        if (!CursorIsMine()) return await LoadAsync(ct) ?? Page();
        var outcome = await attributions.ClaimAsync(Caller, new AttributionInput(PopulationId, opportunityId, partnershipId, role, null), ct);
        if (await LoadAsync(ct) is { } stop) return stop;
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = $"Recorded: {outcome.Value!.Partner.Name} {role} {opportunityId}. They can confirm or dispute it.";
        return Page();
    }

    public async Task<IActionResult> OnPostRespondAsync(string claimId, string? decision, string? note, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return ForbiddenPage("Your role cannot answer attribution claims.");
        if (!CursorIsMine()) return await LoadAsync(ct) ?? Page();
        // Exactly one of the two buttons' values: an answer cannot be taken back, so anything else changes nothing.
        if (decision is not ("confirm" or "dispute"))
        {
            if (await LoadAsync(ct) is { } notFound) return notFound;
            var refused = Fail(Application.Failure.Invalid.Of("decision", "decision is confirm or dispute."));
            Alert = "decision is confirm or dispute; nothing was recorded.";
            return refused;
        }
        var outcome = await attributions.RespondAsync(Caller, claimId, decision == "confirm", note, ct);
        if (await LoadAsync(ct) is { } stop) return stop;
        if (outcome.Failure is { } failure) return Fail(failure);
        Notice = decision == "confirm" ? "Confirmed." : "Disputed.";
        return Page();
    }

    private async Task<IActionResult?> LoadAsync(CancellationToken ct)
    {
        CanWrite = await AllowsAsync(Policies.PartnershipsWrite);
        Pipelines = (await catalog.ListAsync(Caller, ct)).Where(p => OpportunityFields.IsOpportunities(p.Type)).ToList();
        Pipeline = Pipelines.FirstOrDefault(p => p.Id == PopulationId) ?? (PopulationId is null ? Pipelines.FirstOrDefault() : null);
        if (PopulationId is not null && Pipeline is null) return NotFoundPage("No population with that id is visible to you.");
        PopulationId = Pipeline?.Id;
        if (Pipeline is not null)
        {
            var evaluation = await attributions.EvaluateAsync(Caller, Pipeline.Id, ct);
            if (evaluation.Failure is { } failure) return Fail(failure);
            Opportunities = evaluation.Value!;
        }
        if (!ListCursors.TryDecode(Cursors, Cursor, out var after)) return ForeignCursorPage();
        var ledger = await attributions.LedgerAsync(Caller, null, after, null, ct);
        if (ledger.Failure is { } invalid) return Fail(invalid);
        Ledger = ledger.Value!.Items;
        NextCursor = ListCursors.Protect(Cursors, ledger.Value.Next);
        return null;
    }

    private IDataProtector Cursors => ListCursors.For(protection, "attributions", Caller.OrganizationId, null);

    /// <summary>Checked before an action: a cursor this page did not make is refused (ForeignCursorPage, by LoadAsync) with nothing recorded.</summary>
    private bool CursorIsMine() => ListCursors.TryDecode(Cursors, Cursor, out _);
}
