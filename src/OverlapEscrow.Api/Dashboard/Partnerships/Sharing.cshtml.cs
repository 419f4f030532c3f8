using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Partnerships;
using OverlapEscrow.Application.Populations;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// Sharing in one partnership: what I share with this partner (my overrides per population and per partner
/// population, over my defaults) and what it shares with me. Changes are previewed (SharingPreviews) and saved
/// (SharingChanges.SetForPartnershipAsync) by the same use cases as PUT /v1/partnerships/{id}/sharing.
/// </summary>
[DashboardAuthorize(Policies.PartnershipsRead)]
public sealed class SharingModel(SharingChanges sharing, SharingPreviews previews, PartnershipLifecycle partnerships, PopulationCatalog populations) : DashboardPage
{
    public PartnershipView? Partnership { get; private set; }
    public PartnershipSharing? Current { get; private set; }
    public SharingPreview? Preview { get; private set; }
    public bool CanWrite { get; private set; }
    public Dictionary<string, IReadOnlyList<string>> Attributes { get; } = [];

    /// <summary>The rules on the form: as posted (after a preview or a refused save), else as stored.</summary>
    public IReadOnlyList<PopulationSharingInput> Proposed { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string partnershipId, CancellationToken ct) => await LoadAsync(partnershipId, null, ct) ?? Page();

    public async Task<IActionResult> OnPostPreviewAsync(string partnershipId, CancellationToken ct)
    {
        var posted = Read();
        if (await LoadAsync(partnershipId, posted, ct) is { } stop) return stop;
        var outcome = await previews.PartnershipAsync(Caller, partnershipId, posted, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Preview = outcome.Value;
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(string partnershipId, CancellationToken ct)
    {
        if (!await AllowsAsync(Policies.PartnershipsWrite)) return await LoadAsync(partnershipId, null, ct) ?? ForbiddenPage("Your role cannot change what your organization shares.");
        var posted = Read();
        var outcome = await sharing.SetForPartnershipAsync(Caller, partnershipId, posted, ct);
        if (outcome.Failure is { } failure)
        {
            if (await LoadAsync(partnershipId, posted, ct) is { } stop) return stop;
            return Fail(failure);
        }
        await LoadAsync(partnershipId, null, ct);
        Notice = "Saved. The partner sees the change on its next request.";
        return Page();
    }

    private async Task<IActionResult?> LoadAsync(string partnershipId, IReadOnlyList<PopulationSharingInput>? posted, CancellationToken ct)
    {
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        var current = await sharing.GetForPartnershipAsync(Caller, partnershipId, ct);
        if (current.Failure is { } failure) return Fail(failure);
        Current = current.Value;
        CanWrite = await AllowsAsync(Policies.PartnershipsWrite);
        foreach (var p in Current!.Mine)
            Attributes[p.PopulationId] = (await populations.AttributeNamesAsync(Caller, p.PopulationId, ct)).Value ?? [];
        // An inherited minimum stays empty on the form: saved unchanged, the rule keeps inheriting it.
        Proposed = posted ?? Current.Mine.Select(m => new PopulationSharingInput(m.PopulationId,
            m.Partnership is { } s ? RuleEditor.Input(s) : new SharingSettingInput(null, [], null),
            m.Overrides.Select(o => new OverrideInput(o.PartnerPopulationId, RuleEditor.Input(o.Setting))).ToList()))
            .ToList();
        return null;
    }

    /// <summary>
    /// The error paths the form's rule editors show next to their fields; any other error (a population or partner
    /// population that is not, or no longer, one to name: the partner hid it meanwhile) goes to the alert above the form.
    /// </summary>
    public string[] RuleEditorPaths() =>
        Enumerable.Range(0, Current?.Mine.Count ?? 0)
            .SelectMany(i => Enumerable.Range(0, Current!.Theirs.Count).Select(j => $"populations[{i}].overrides[{j}]").Prepend($"populations[{i}]"))
            .SelectMany(rule => new[] { rule + ".level", rule + ".fields", rule + ".minimumCount" })
            .ToArray();

    /// <summary>The posted rules, under the API's field paths (populations[i].level, populations[i].overrides[j].…).</summary>
    private List<PopulationSharingInput> Read()
    {
        var form = Request.Form;
        var items = new List<PopulationSharingInput>();
        for (var i = 0; form.ContainsKey($"populations[{i}].populationId"); i++)
        {
            var prefix = $"populations[{i}]";
            var overrides = new List<OverrideInput>();
            for (var j = 0; form.ContainsKey($"{prefix}.overrides[{j}].partnerPopulationId"); j++)
            {
                var o = $"{prefix}.overrides[{j}]";
                var setting = RuleEditor.Read(form, o);
                // An override left at "as above" is no override.
                if (setting.Level is not null) overrides.Add(new OverrideInput(form[$"{o}.partnerPopulationId"], setting));
            }
            items.Add(new PopulationSharingInput(form[$"{prefix}.populationId"], RuleEditor.Read(form, prefix), overrides));
        }
        return items;
    }
}
