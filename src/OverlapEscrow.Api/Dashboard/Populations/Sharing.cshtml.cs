using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Api.Dashboard.Populations;

/// <summary>
/// A population's default sharing rule for every partner: level, fields (from the attribute names its uploads carry)
/// and minimum; previewed per partner (SharingPreviews) and saved (SharingChanges.SetDefaultAsync), as
/// PUT /v1/populations/{id}/sharing does.
/// </summary>
[DashboardAuthorize(Policies.PopulationsRead)]
public sealed class SharingModel(PopulationCatalog populations, SharingChanges sharing, SharingPreviews previews) : DashboardPage
{
    public PopulationSummary? Population { get; private set; }
    public SharingSettingInput Proposed { get; private set; } = new(null, [], null);
    public IReadOnlyList<string> AttributeNames { get; private set; } = [];
    public SharingPreview? Preview { get; private set; }
    public bool CanWrite { get; private set; }

    public async Task<IActionResult> OnGetAsync(string populationId, CancellationToken ct)
    {
        if (await LoadAsync(populationId, ct) is { } stop) return stop;
        var current = await sharing.GetDefaultAsync(Caller, populationId, ct);
        if (current.Value is { } s) Proposed = RuleEditor.Input(s);
        return Page();
    }

    public async Task<IActionResult> OnPostPreviewAsync(string populationId, CancellationToken ct)
    {
        if (await LoadAsync(populationId, ct) is { } stop) return stop;
        Proposed = RuleEditor.Read(Request.Form, "");
        var outcome = await previews.DefaultAsync(Caller, populationId, Proposed, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Preview = outcome.Value;
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(string populationId, CancellationToken ct)
    {
        if (await LoadAsync(populationId, ct) is { } stop) return stop;
        if (!CanWrite) return ForbiddenPage("Your role cannot change what your organization shares.");
        Proposed = RuleEditor.Read(Request.Form, "");
        var outcome = await sharing.SetDefaultAsync(Caller, populationId, Proposed, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        var s = outcome.Value!;
        Proposed = RuleEditor.Input(s);
        Notice = "Saved. Every partner sees the change on its next request.";
        return Page();
    }

    private async Task<IActionResult?> LoadAsync(string populationId, CancellationToken ct)
    {
        var population = await populations.GetAsync(Caller, populationId, ct);
        if (population.Failure is { } missing) return Fail(missing);
        Population = population.Value;
        AttributeNames = (await populations.AttributeNamesAsync(Caller, populationId, ct)).Value ?? [];
        // Changing a default is what PUT /v1/populations/{id}/sharing does: partnerships:write.
        CanWrite = await AllowsAsync(Policies.PartnershipsWrite);
        return null;
    }
}
