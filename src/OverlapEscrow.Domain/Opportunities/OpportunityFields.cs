using System.Globalization;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Opportunities;

/// <summary>
/// The documented attribute names of a record in a population of type <c>opportunities</c> (docs/health.md,
/// "Opportunity fields"; docs/api.md, "Opportunity attributes"), their value formats, and reading them back.
/// Every other piece of code that needs an opportunity's amount, dates or outcome goes through this type.
/// </summary>
/// <remarks>
/// The formats are strict and locale-free on purpose: an amount written "1.234,50" or a date written "03/04/2026"
/// means different things in different countries, and a figure built on a guess would be silently wrong. The
/// partner-side CLI turns common CRM spellings into these forms before upload; the escrow refuses anything else
/// with a row error naming the field. These values are the uploader's own: they never cross the partnership
/// boundary (<see cref="IsOwnOnly"/>, applied by <c>Disclosure.FieldProjection</c>).
/// </remarks>
public static class OpportunityFields
{
    public const string PopulationType = "opportunities";

    public const string Amount = "amount";
    public const string Currency = "currency";
    public const string Stage = "stage";
    public const string CreatedDate = "created_date";
    public const string CloseDate = "close_date";
    public const string Closed = "closed";
    public const string Won = "won";
    public const string Owner = "owner";

    public static readonly IReadOnlyList<string> All = [Amount, Currency, Stage, CreatedDate, CloseDate, Closed, Won, Owner];

    /// <summary>The largest amount accepted (10^15 minus a cent): larger is a typo or a unit error, and keeps sums exact in decimal.</summary>
    public const decimal MaxAmount = 999_999_999_999_999.99m;

    public static bool IsOpportunities(string populationType) => string.Equals(populationType, PopulationType, StringComparison.Ordinal);

    /// <summary>
    /// Whether an attribute of a record in a population of this type is the owner's own and never shown to a partner,
    /// whatever the owner's sharing rule names: every opportunity field of an opportunities population.
    /// </summary>
    public static bool IsOwnOnly(string populationType, string attributeName) =>
        IsOpportunities(populationType) && All.Contains(attributeName, StringComparer.Ordinal);

    /// <summary>
    /// The first problem with a record's opportunity fields as (attribute name, message), or null when they are
    /// well-formed. Every field is optional; a present one must have its format. Messages never quote the value.
    /// </summary>
    public static (string Field, string Message)? Check(IReadOnlyList<RecordAttribute> attributes)
    {
        string? Get(string name)
        {
            foreach (var a in attributes) if (string.Equals(a.Name, name, StringComparison.Ordinal)) return a.Value;
            return null;
        }

        if (Get(Amount) is { } amount && ParseAmount(amount) is null)
            return (Amount, "amount is a non-negative decimal number with '.' as the decimal point and no thousands separators or currency sign (e.g. 12500.00), at most 999999999999999.99.");
        if (Get(Currency) is { } currency && !IsCurrency(currency))
            return (Currency, "currency is an ISO 4217 code: three capital letters (e.g. USD).");
        DateOnly? created = null, close = null;
        if (Get(CreatedDate) is { } c && (created = ParseDate(c)) is null)
            return (CreatedDate, "created_date is a date written YYYY-MM-DD.");
        if (Get(CloseDate) is { } d && (close = ParseDate(d)) is null)
            return (CloseDate, "close_date is a date written YYYY-MM-DD.");
        bool? closed = null, won = null;
        if (Get(Closed) is { } cl && (closed = ParseBoolean(cl)) is null)
            return (Closed, "closed is true or false.");
        if (Get(Won) is { } w && (won = ParseBoolean(w)) is null)
            return (Won, "won is true or false.");
        if (won == true && closed == false)
            return (Won, "won is true but closed is false: a won opportunity is closed.");
        if (created is { } from && close is { } to && to < from)
            return (CloseDate, "close_date is before created_date.");
        return null;
    }

    public static decimal? ParseAmount(string text)
    {
        if (text.Length is 0 or > 24) return null;
        // Digits, at most one '.', nothing else: no sign, exponent, spaces or separators.
        var dots = 0;
        foreach (var ch in text)
        {
            if (ch == '.') { if (++dots > 1) return null; }
            else if (!char.IsAsciiDigit(ch)) return null;
        }
        if (text[0] == '.' || text[^1] == '.') return null;
        return decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value <= MaxAmount ? value : null;
    }

    public static bool IsCurrency(string text) => text.Length == 3 && text.All(char.IsAsciiLetterUpper);

    public static DateOnly? ParseDate(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;

    public static bool? ParseBoolean(string text) => text switch { "true" => true, "false" => false, _ => null };

    /// <summary>
    /// A record of an opportunities population read as an opportunity; fields that are absent stay null. Records
    /// that passed <see cref="Check"/> on upload always read back; anything unreadable is treated as absent.
    /// </summary>
    public static Opportunity Read(EscrowRecord record)
    {
        var closed = record.Attribute(Closed) is { } cl ? ParseBoolean(cl) : null;
        var won = record.Attribute(Won) is { } w ? ParseBoolean(w) : null;
        return new Opportunity(
            record.RecordId,
            record.Attribute(Amount) is { } a ? ParseAmount(a) : null,
            record.Attribute(Currency) is { } cur && IsCurrency(cur) ? cur : null,
            record.Attribute(Stage),
            record.Attribute(CreatedDate) is { } c ? ParseDate(c) : null,
            record.Attribute(CloseDate) is { } d ? ParseDate(d) : null,
            closed == true || won == true,
            won == true,
            record.Attribute(Owner));
    }
}

/// <summary>
/// One of my opportunities as the figures read it: open unless <see cref="Closed"/>; <see cref="Won"/> implies closed;
/// a closed opportunity that is not won is lost.
/// </summary>
public sealed record Opportunity(
    string RecordId,
    decimal? Amount,
    string? Currency,
    string? Stage,
    DateOnly? CreatedDate,
    DateOnly? CloseDate,
    bool Closed,
    bool Won,
    string? Owner)
{
    public bool Open => !Closed;

    /// <summary>Days from created to closed, for a closed opportunity with both dates; null otherwise.</summary>
    public int? DaysToClose => Closed && CreatedDate is { } from && CloseDate is { } to ? to.DayNumber - from.DayNumber : null;
}
