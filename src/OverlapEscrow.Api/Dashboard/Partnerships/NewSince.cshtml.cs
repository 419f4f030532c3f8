using System.Globalization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using OverlapEscrow.Api.Dashboard.Shared;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Overlaps;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Partnerships;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// What is new since a time in a cell (OverlapReports.NewSinceAsync): my records that overlap now and did not at the
/// latest history point at or before it. Paged like the API, with a sealed cursor bound to the member, cell and time.
/// </summary>
[DashboardAuthorize(Policies.OverlapsRead)]
public sealed class NewSinceModel(OverlapReports reports, PartnershipLifecycle partnerships, IDataProtectionProvider protection, TimeProvider time) : DashboardPage
{
    [BindProperty(SupportsGet = true, Name = "since")] public string? Since { get; set; }
    [BindProperty(SupportsGet = true, Name = "cursor")] public string? Cursor { get; set; }

    public PartnershipView? Partnership { get; private set; }
    public NewOverlaps? Result { get; private set; }
    public string? NextCursor { get; private set; }
    public string BasePath { get; private set; } = "";
    public IReadOnlyList<string> MyColumns { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string partnershipId, string mine, string theirs, CancellationToken ct)
    {
        BasePath = $"/partnerships/{partnershipId}/cells/{mine}/{theirs}";
        var partnership = await partnerships.GetAsync(Caller, partnershipId, ct);
        if (partnership.Failure is { } missing) return Fail(missing);
        Partnership = partnership.Value;
        // The cell first, so the form is offered only for a cell whose records I may read (as the list and trend answer).
        if (await reports.CheckRecordsAccessAsync(Caller, partnershipId, mine, theirs, ct) is { } refused) return Fail(refused);
        if (string.IsNullOrEmpty(Since))
        {
            Since = time.GetUtcNow().AddDays(-7).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);
            return Page();
        }
        // The form's own forms (UTC), and ISO 8601 with an offset as the API and webhooks write times (Z, +02:00, fractions).
        if (!DateTimeOffset.TryParseExact(Since, ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd",
                    "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var since))
        {
            AddError("since", "since is a date and time, e.g. 2026-11-22T10:00 (UTC).");
            Response.StatusCode = 400;
            return Page();
        }
        var cursors = OverlapsApi.Cursors(protection, "dashboard-new-cursor", Caller.OrganizationId, partnershipId, mine, theirs,
            since.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        string? after = null;
        if (Cursor is not null && !OverlapsApi.TryDecodeCursor(cursors, Cursor, out after))
        {
            AddError("since", "That page link has expired; start again from the first page.");
            Response.StatusCode = 400;
            return Page();
        }
        var outcome = await reports.NewSinceAsync(Caller, partnershipId, mine, theirs, since, after, 100, ct, format: "html");
        if (outcome.Failure is { } failure) return Fail(failure);
        Result = outcome.Value;
        MyColumns = Result!.Items.SelectMany(i => i.Attributes.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        if (Result.More) NextCursor = cursors.Protect(Result.Items[^1].RecordId);
        return Page();
    }
}
