using System.Globalization;
using OverlapEscrow.Application.Schedules;

namespace OverlapEscrow.Api.Dashboard.Syncs;

/// <summary>
/// A 5-field cron expression in words ("At 02:30, Monday through Friday") and its next occurrences in the schedule's
/// zone, computed by the runner's own rule (CronSchedule: daylight-saving gaps and repeats included).
/// </summary>
public static class CronText
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] Months = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static IReadOnlyList<DateTimeOffset> NextRuns(string cron, string zone, DateTimeOffset now, int count)
    {
        if (CronSchedule.ExpressionError(cron) is not null || CronSchedule.TimeZoneError(zone) is not null) return [];
        var schedule = CronSchedule.Create(cron, zone);
        var runs = new List<DateTimeOffset>(count);
        try
        {
            var next = schedule.FirstAfter(now);
            for (var i = 0; i < count; i++)
            {
                runs.Add(next.At);
                next = schedule.NextAfter(next.Wall, next.At);
            }
        }
        catch (InvalidOperationException)
        {
            // No further occurrence within the runner's horizon (Feb 29 on a Monday comes every 28 years, then 40): the
            // runs there are, as the runner sees them.
        }
        return runs;
    }

    public static string Describe(string cron)
    {
        var f = cron.Trim().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (f.Length != 5) return cron;
        try
        {
            var time = TimePart(f[0], f[1]);
            var day = DayPart(f[2], f[4]);
            var month = f[3] == "*" ? "" : ", in " + List(f[3], n => Months[n]);
            return time + day + month;
        }
        catch (FormatException)
        {
            return cron;
        }
    }

    private static string TimePart(string minute, string hour)
    {
        if (minute == "*" && hour == "*") return "Every minute";
        if (minute.StartsWith("*/", StringComparison.Ordinal) && hour == "*") return $"Every {Number(minute[2..])} minutes";
        if (IsNumber(minute) && IsNumber(hour)) return $"At {Clock(hour, minute)}";
        if (IsNumber(minute) && hour == "*") return $"At minute {Number(minute)} of every hour";
        if (IsNumber(minute) && hour.StartsWith("*/", StringComparison.Ordinal)) return $"At minute {Number(minute)} of every {Number(hour[2..])}th hour";
        if (IsNumber(minute) && hour.Split(',').All(IsNumber)) return "At " + string.Join(", ", hour.Split(',').Select(h => Clock(h, minute)));
        if (IsNumber(minute) && hour.Contains('-') && !hour.Contains('/')) return $"At minute {Number(minute)} of every hour from {Hours(hour)}";
        return $"At minute {minute} of hour {hour}";
    }

    private static string DayPart(string dom, string dow)
    {
        if (dom == "*" && dow == "*") return ", every day";
        var days = dow == "*" ? null : List(dow, n => Days[n]);
        var dates = dom == "*" ? null : "on day " + dom.Replace(",", ", ") + " of the month";
        // Both restricted: a day must match both (NCrontab's rule, as the runner applies it; classic cron takes either).
        if (days is not null && dates is not null) return $", {dates} when that day is a {days}";
        return days is not null ? ", " + days : ", " + dates;
    }

    /// <summary>"1-5" → "Monday through Friday"; "1,3" → "Monday and Wednesday"; "*/2" → "every 2nd".</summary>
    private static string List(string field, Func<int, string> name)
    {
        if (field.StartsWith("*/", StringComparison.Ordinal)) return $"every {Number(field[2..])}th";
        var items = field.Split(',').Select(part =>
        {
            var range = part.Split('-');
            return range.Length == 2 ? $"{name(Number(range[0]))} through {name(Number(range[1]))}" : name(Number(part));
        }).ToList();
        return items.Count == 1 ? items[0] : string.Join(", ", items[..^1]) + " and " + items[^1];
    }

    private static string Hours(string range)
    {
        var r = range.Split('-');
        return $"{Number(r[0]):00}:00 to {Number(r[1]):00}:59";
    }

    private static string Clock(string hour, string minute) => $"{Number(hour):00}:{Number(minute):00}";

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);

    private static int Number(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new FormatException();
}
