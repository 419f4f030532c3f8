using CsvHelper;
using OverlapEscrow.Application.Health;

namespace OverlapEscrow.Api.Health;

/// <summary>The leadership report as CSV, for the API and the dashboard alike: one row per report line.</summary>
public static class ReportCsv
{
    public static async Task WriteAsync(HttpContext http, LeadershipReport report, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"leadership-report-{report.Period.From:yyyy-MM-dd}-{report.Period.To:yyyy-MM-dd}.csv\"";
        // Numbers may be negative, so the library's formula escaping (which would mangle "-0.05") is off; the one column
        // another organization chose the text of, the partner's name, is escaped here instead.
        await using var writer = CsvWriter.Create(http.Response.Body,
            new CsvWriterOptions { Injection = CsvInjection.None, NewLine = "\r\n", WriteByteOrderMark = true }, true);
        await writer.WriteRecordAsync(LeadershipReport.CsvHeader, ct);
        foreach (var l in report.Lines)
            await writer.WriteRecordAsync([l.Section, Safe(l.Partner), l.Measure, l.Value ?? "", l.Low ?? "", l.High ?? "",
                l.WithCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", l.WithoutCount?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""], ct);
    }

    /// <summary>A text cell a spreadsheet would run as a formula (= + - @, tab, carriage return first) gets a leading apostrophe (OWASP, CSV injection).</summary>
    public static string Safe(string? text) =>
        string.IsNullOrEmpty(text) ? "" : text[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + text : text;
}
