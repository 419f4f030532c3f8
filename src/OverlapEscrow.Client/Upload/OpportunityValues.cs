using System.Globalization;
using System.Text.RegularExpressions;

namespace OverlapEscrow.Client.Upload;

/// <summary>
/// The documented attribute names of an <c>opportunities</c> population (docs/health.md, "Opportunity fields") and
/// the unambiguous CRM spellings the client turns into their wire forms before upload: "$12,500.00" → "12500.00",
/// "2026-03-31T17:00:00Z" → "2026-03-31", "Yes"/"TRUE"/"1" → "true", "usd" → "USD". Anything else is sent as it
/// is, and the escrow answers with a row error naming the field ("3/4/2026" could be March or April: the client
/// does not guess). The escrow's own copy of the names is <c>OverlapEscrow.Domain.Opportunities.OpportunityFields</c>;
/// a test keeps the two lists equal.
/// </summary>
public static partial class OpportunityValues
{
    public const string Amount = "amount";
    public const string Currency = "currency";
    public const string CreatedDate = "created_date";
    public const string CloseDate = "close_date";
    public const string Closed = "closed";
    public const string Won = "won";

    public static readonly IReadOnlyList<string> Names = [Amount, Currency, "stage", CreatedDate, CloseDate, Closed, Won, "owner"];

    [GeneratedRegex(@"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")]
    private static partial Regex GroupedWithCommas();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")]
    private static partial Regex IsoDateTime();

    /// <summary>The value to upload for an attribute of an opportunities population; null stays null (absent).</summary>
    public static string? Normalize(string name, string? value)
    {
        if (value is null) return null;
        var v = value.Trim();
        if (v.Length == 0) return null;
        switch (name)
        {
            case Amount:
                if ("$€£¥".Contains(v[0])) v = v[1..].TrimStart();
                if (GroupedWithCommas().IsMatch(v)) v = v.Replace(",", "", StringComparison.Ordinal);
                return v;
            case Currency:
                return v.Length == 3 && v.All(char.IsAsciiLetter) ? v.ToUpperInvariant() : v;
            case CreatedDate or CloseDate:
                return IsoDateTime().IsMatch(v) && DateOnly.TryParseExact(v[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) ? v[..10] : v;
            case Closed or Won:
                return v.ToLowerInvariant() switch
                {
                    "true" or "yes" or "y" or "1" => "true",
                    "false" or "no" or "n" or "0" => "false",
                    _ => v,
                };
            default:
                return value;
        }
    }
}
