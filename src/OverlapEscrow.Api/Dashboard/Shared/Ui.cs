using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Html;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Dashboard.Shared;

/// <summary>Small rendering helpers shared by the pages: times, counts, field errors with their ARIA links.</summary>
public static class Ui
{
    public static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "never";

    /// <summary>A time in a zone, with the zone's abbreviation-free offset: "2026-12-01 02:30 (UTC+01:00)".</summary>
    public static string TimeIn(DateTimeOffset at, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(at, zone);
        var offset = local.Offset;
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        return local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + $" (UTC{sign}{offset:hh\\:mm})";
    }

    public static string Iso(DateTimeOffset? at) => at?.ToString("O", CultureInfo.InvariantCulture) ?? "";

    /// <summary>The partner's name, or what stands for it once the partner deleted itself (a tombstone keeps only its id).</summary>
    public static string PartnerName(Application.Partnerships.PartnershipView p) => p.PartnerDeleted ? "a deleted organization" : p.Partner.Name;

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Level(SharingLevel level) => level switch
    {
        SharingLevel.Hidden => "Hidden",
        SharingLevel.Counts => "Counts only",
        SharingLevel.Overlaps => "Overlapping accounts",
        _ => level.ToString(),
    };

    public static string Wire(SharingLevel level) => level.ToString().ToLowerInvariant();

    /// <summary>The field errors of one field, as a paragraph its input names in aria-describedby.</summary>
    public static IHtmlContent Errors(DashboardPage page, string field)
    {
        var errors = page.ErrorsFor(field);
        if (errors.Count == 0) return HtmlString.Empty;
        return new HtmlString($"<p class=\"field-error\" id=\"{Id(field)}-error\">{WebUtility.HtmlEncode(string.Join(" ", errors))}</p>");
    }

    /// <summary>aria-describedby of a field: its hint (when it has one) and its errors (when there are any).</summary>
    public static string? Describe(DashboardPage page, string field, bool hint = false)
    {
        var ids = new List<string>();
        if (hint) ids.Add(Id(field) + "-hint");
        if (page.ErrorsFor(field).Count > 0) ids.Add(Id(field) + "-error");
        return ids.Count == 0 ? null : string.Join(' ', ids);
    }

    public static string? Invalid(DashboardPage page, string field) => page.ErrorsFor(field).Count > 0 ? "true" : null;

    /// <summary>An element id from a field path ("populations[0].level" → "populations-0-level").</summary>
    public static string Id(string field) => new(field.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '-').ToArray());
}
