using System.Globalization;
using NCrontab;

namespace OverlapEscrow.Application.Schedules;

/// <summary>One occurrence of a schedule: its wall-clock time in the schedule's zone, and the instant it runs.</summary>
public readonly record struct Occurrence(DateTime Wall, DateTimeOffset At)
{
    private const string WallFormat = "yyyy-MM-dd'T'HH:mm";

    /// <summary>The wall-clock time as stored: minutes, no zone or offset.</summary>
    public string WallText => Wall.ToString(WallFormat, CultureInfo.InvariantCulture);

    public static DateTime ParseWall(string text) =>
        DateTime.SpecifyKind(DateTime.ParseExact(text, WallFormat, CultureInfo.InvariantCulture), DateTimeKind.Unspecified);
}

/// <summary>
/// A standard 5-field cron expression (minute hour day-of-month month day-of-week, NCrontab syntax) in an IANA
/// time zone, and the rule that turns its wall-clock occurrences into instants across daylight-saving changes.
/// </summary>
/// <remarks>
/// Occurrences are computed in the zone's wall-clock time, then mapped to instants:
/// <list type="bullet">
/// <item>a wall time that does not exist (the spring-forward gap, e.g. 02:30 in New York on the second Sunday of
/// March) runs at the first instant after the gap (03:00 local, the instant of the transition);</item>
/// <item>a wall time that exists twice (the repeated autumn hour, e.g. 01:30 in New York on the first Sunday of
/// November) runs at its first, earlier instant only (01:30 EDT, not 01:30 EST);</item>
/// <item>the occurrence after a run is the next wall time strictly after the previous occurrence's wall time, not
/// after "now": computed from the clock, a run at 01:30 EDT that finished at 01:05 EST would find 01:30 still
/// ahead and run a second time;</item>
/// <item>occurrences whose instant is not after the reference instant are skipped: several gap occurrences that
/// map to the same instant run once, and occurrences missed while the service was down are not replayed one by
/// one (the runner runs a missed schedule once, then moves on to the first future occurrence).</item>
/// </list>
/// </remarks>
public sealed class CronSchedule
{
    /// <summary>How far ahead an expression must have an occurrence (a leap day on a given weekday recurs within 28 years).</summary>
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(366 * 30);

    private readonly CrontabSchedule _cron;

    private CronSchedule(CrontabSchedule cron, string expression, TimeZoneInfo zone)
    {
        _cron = cron;
        Expression = expression;
        Zone = zone;
    }

    public string Expression { get; }
    public TimeZoneInfo Zone { get; }

    /// <summary>Why an expression is not accepted, or null when it is.</summary>
    public static string? ExpressionError(string? expression)
    {
        var message = "cron is a standard 5-field expression (minute hour day-of-month month day-of-week), e.g. \"30 2 * * *\".";
        if (string.IsNullOrWhiteSpace(expression) || expression.Length > 200) return message;
        var fields = expression.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5) return message;
        // Steps of 0 and ranges that run backwards have no agreed meaning (the parser accepts both): refused, in numbers or
        // in names (MON-SUN ran on Sundays and Mondays only, DEC-JAN every month).
        for (var field = 0; field < fields.Length; field++)
            foreach (var item in fields[field].Split(','))
            {
                var slash = item.IndexOf('/');
                if (slash >= 0 && int.TryParse(item.AsSpan(slash + 1), out var step) && step == 0) return "cron has a step of 0 (e.g. */0).";
                var range = slash >= 0 ? item[..slash] : item;
                var dash = range.IndexOf('-');
                if (dash > 0 && Value(range[..dash], field) is { } low && Value(range[(dash + 1)..], field) is { } high && low > high)
                    return "cron has a range that runs backwards (e.g. 5-1).";
            }
        CrontabSchedule? cron;
        try { cron = CrontabSchedule.TryParse(expression.Trim()); }
        catch (Exception e) when (e is OverflowException or FormatException or ArgumentException) { cron = null; } // a number past int, say
        if (cron is null) return message;
        var from = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        if (cron.GetNextOccurrence(from, from + Horizon) >= from + Horizon) return "cron never occurs (e.g. 30 February).";
        return null;
    }

    /// <summary>A range bound of the field at <paramref name="field"/>: a number, or a month's or weekday's name (JAN = 1, SUN = 0).</summary>
    private static int? Value(string text, int field)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return number;
        var names = field switch { 3 => MonthNames, 4 => DayNames, _ => [] };
        var index = Array.FindIndex(names, n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
        return index < 0 ? null : field == 3 ? index + 1 : index;
    }

    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    /// <summary>Why a zone id is not accepted, or null when it is.</summary>
    public static string? TimeZoneError(string? timeZoneId)
    {
        const string message = "timeZone is an IANA time zone id, e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\".";
        if (string.IsNullOrWhiteSpace(timeZoneId) || timeZoneId.Length > 64) return message;
        // Files of the system's zone database that are not zones of their own: `localtime` is whatever the server's clock is
        // set to (a schedule would mean different times on different servers), `posixrules` a default rule, `posix/…` and
        // `right/…` (leap seconds counted) copies of the zones under other names, `Factory` no place.
        if (timeZoneId is "localtime" or "posixrules" or "Factory" || timeZoneId.StartsWith("posix/", StringComparison.Ordinal)
            || timeZoneId.StartsWith("right/", StringComparison.Ordinal))
            return message;
        // Windows ids would be converted on this platform; only IANA ids are stored, so a schedule means the same everywhere.
        return TimeZoneInfo.TryFindSystemTimeZoneById(timeZoneId, out var zone) && zone.HasIanaId ? null : message;
    }

    /// <summary>A schedule from an expression and zone id that passed <see cref="ExpressionError"/> and <see cref="TimeZoneError"/>.</summary>
    public static CronSchedule Create(string expression, string timeZoneId) =>
        new(CrontabSchedule.Parse(expression.Trim()), expression.Trim(), TimeZoneInfo.FindSystemTimeZoneById(timeZoneId));

    /// <summary>The first occurrence after <paramref name="now"/>, for a new, changed or resumed schedule.</summary>
    public Occurrence FirstAfter(DateTimeOffset now) => NextAfter(WallClock(now), now);

    /// <summary>
    /// The first occurrence whose wall time is strictly after <paramref name="previousWall"/> and whose instant is
    /// strictly after <paramref name="notBefore"/>.
    /// </summary>
    public Occurrence NextAfter(DateTime previousWall, DateTimeOffset notBefore)
    {
        var wall = DateTime.SpecifyKind(previousWall, DateTimeKind.Unspecified);
        // Occurrences more than two days of wall time behind the reference cannot be after it, whatever the zone's
        // offsets (they differ by at most 26 hours); skipping them bounds the loop after a long outage.
        var floor = WallClock(notBefore).AddDays(-2);
        if (wall < floor) wall = floor;
        var limit = wall + Horizon;
        while (true)
        {
            wall = _cron.GetNextOccurrence(wall, limit);
            if (wall >= limit) throw new InvalidOperationException("The expression has no further occurrence.");
            var at = Instant(wall);
            if (at > notBefore) return new Occurrence(wall, at);
        }
    }

    /// <summary>The wall-clock time of an instant in the schedule's zone, to the minute.</summary>
    public DateTime WallClock(DateTimeOffset instant)
    {
        var local = TimeZoneInfo.ConvertTime(instant, Zone).DateTime;
        return new DateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute, 0, DateTimeKind.Unspecified);
    }

    /// <summary>The instant a wall-clock time runs at: the DST rule (see the remarks of the class).</summary>
    public DateTimeOffset Instant(DateTime wall)
    {
        wall = DateTime.SpecifyKind(wall, DateTimeKind.Unspecified);
        if (Zone.IsInvalidTime(wall))
        {
            // In the gap: the first minute that exists again is the end of the gap (transitions fall on whole minutes).
            var after = new DateTime(wall.Year, wall.Month, wall.Day, wall.Hour, wall.Minute, 0, DateTimeKind.Unspecified);
            while (Zone.IsInvalidTime(after)) after = after.AddMinutes(1);
            return new DateTimeOffset(after, Zone.GetUtcOffset(after));
        }
        if (Zone.IsAmbiguousTime(wall))
        {
            // Twice on the clock: the larger offset gives the earlier instant.
            return new DateTimeOffset(wall, Zone.GetAmbiguousTimeOffsets(wall).Max());
        }
        return new DateTimeOffset(wall, Zone.GetUtcOffset(wall));
    }
}
