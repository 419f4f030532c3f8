using System.Globalization;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Api.Dashboard.Partnerships;

/// <summary>
/// A step chart of a released trend, as SVG geometry computed here (no script, no inline style: the CSP allows
/// neither). Counts come as released; a withheld point is drawn as a band below the minimum, never as a number.
/// </summary>
public sealed record TrendChart(int Width, int Height, int Left, int Top, int PlotWidth, int PlotHeight, int MaxY, string? Line,
    IReadOnlyList<(double X, double Y, string Label)> Dots, IReadOnlyList<(double X, double Width, double Y, double Height)> Withheld,
    IReadOnlyList<(double Y, string Label)> YTicks, IReadOnlyList<(double X, string Label)> XTicks)
{
    public static TrendChart? Draw(IReadOnlyList<TrendPoint> points, int? minimum, DateTimeOffset now)
    {
        if (points.Count == 0) return null;
        const int width = 720, height = 260, left = 56, right = 16, top = 16, bottom = 40;
        int plotWidth = width - left - right, plotHeight = height - top - bottom;
        var start = points[0].At;
        var end = now > start ? now : start.AddHours(1);
        var maxCount = Math.Max(points.Max(p => p.Count.Value ?? 0), minimum ?? 0);
        var maxY = NiceCeiling(Math.Max(1, maxCount));
        double X(DateTimeOffset at) => left + plotWidth * (at - start).TotalSeconds / Math.Max(1, (end - start).TotalSeconds);
        double Y(double v) => top + plotHeight - plotHeight * v / maxY;

        var path = new List<string>();
        var dots = new List<(double, double, string)>();
        var withheld = new List<(double, double, double, double)>();
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var x0 = X(p.At);
            var x1 = i + 1 < points.Count ? X(points[i + 1].At) : X(end);
            if (p.Count.Value is { } v)
            {
                var y = Y(v);
                path.Add($"{(path.Count == 0 || points[i - 1].Count.Value is null ? "M" : "L")}{F(x0)},{F(y)} L{F(x1)},{F(y)}");
                dots.Add((x0, y, $"{p.At.UtcDateTime:yyyy-MM-dd HH:mm} UTC: {v.ToString("N0", CultureInfo.InvariantCulture)}"));
            }
            else
            {
                var below = p.Count.WithheldBelow ?? minimum ?? 0;
                withheld.Add((x0, Math.Max(1, x1 - x0), Y(below), Y(0) - Y(below)));
            }
        }
        var yTicks = Enumerable.Range(0, 5).Select(k => maxY * k / 4).Distinct()
            .Select(v => (Y(v), v.ToString("N0", CultureInfo.InvariantCulture))).ToList();
        var xTicks = new List<(double, string)> { (X(start), start.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
            (X(end), end.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)) };
        return new TrendChart(width, height, left, top, plotWidth, plotHeight, maxY, path.Count == 0 ? null : string.Join(' ', path), dots, withheld, yTicks, xTicks);
    }

    public static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    /// <summary>An SVG text element (Razor reserves the name "text" for its own use, so it is written here).</summary>
    public static Microsoft.AspNetCore.Html.IHtmlContent Text(double x, double y, string anchor, string label) =>
        new Microsoft.AspNetCore.Html.HtmlString($"<text x=\"{F(x)}\" y=\"{F(y)}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"#344054\">{System.Net.WebUtility.HtmlEncode(label)}</text>");

    private static int NiceCeiling(int v)
    {
        var magnitude = (int)Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (var step in new[] { 1, 2, 5, 10 })
            if (step * magnitude >= v) return step * magnitude;
        return 10 * magnitude;
    }
}
