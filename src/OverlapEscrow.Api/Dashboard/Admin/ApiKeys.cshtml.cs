using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Domain.Accounts;

namespace OverlapEscrow.Api.Dashboard.Admin;

/// <summary>API keys (ApiKeys): created with scopes, the secret shown once in the answer to the creation; revoked at once.</summary>
[DashboardAuthorize(Policies.Admin)]
public sealed class ApiKeysModel(ApiKeys keys) : DashboardPage
{
    public IReadOnlyList<ApiKey> Keys { get; private set; } = [];
    public CreatedApiKey? Created { get; private set; }

    [BindProperty(Name = "name")] public string? Name { get; set; }
    [BindProperty(Name = "scopes")] public List<string> ScopesInput { get; set; } = [];

    public async Task OnGetAsync(CancellationToken ct) => Keys = await keys.ListAsync(Caller, ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        var outcome = await keys.CreateAsync(Caller, new ApiKeyInput(Name, ScopesInput), ct);
        Keys = await keys.ListAsync(Caller, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Created = outcome.Value;
        Name = null;
        ScopesInput = [];
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string keyId, CancellationToken ct)
    {
        var outcome = await keys.RevokeAsync(Caller, keyId, ct);
        if (outcome.Failure is { } failure) return Fail(failure);
        Keys = await keys.ListAsync(Caller, ct);
        Notice = "Key revoked: it and every token issued for it stop working at once.";
        return Page();
    }
}
