using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Api.Dashboard.Shared;

/// <summary>
/// One sharing rule on a form: a level (or "" for none, when the rule may be left to a less specific one), the fields
/// shared at the overlaps level (chosen from the attribute names the population's uploads carry) and a minimum.
/// <see cref="Prefix"/> is the field path the API uses for it, so the use case's errors land next to it.
/// </summary>
public sealed record RuleEditor(DashboardPage Page, string Prefix, string Legend, string? Level, IReadOnlyList<string> Fields, int? MinimumCount,
    IReadOnlyList<string> AvailableFields, string? InheritLabel, bool ReadOnly)
{
    public string Name(string field) => Prefix.Length == 0 ? field : Prefix + "." + field;

    /// <summary>The error path of a field: "$.level" for a population's default (the API's body is the rule itself).</summary>
    public string ErrorPath(string field) => Prefix.Length == 0 ? "$." + field : Prefix + "." + field;

    /// <summary>Every field name to offer: those the uploads carry, and any the rule names that they no longer do.</summary>
    public IReadOnlyList<string> Offered => AvailableFields.Union(Fields, StringComparer.Ordinal).ToList();

    /// <summary>Reads a rule back from a posted form; null level when left to the less specific rule.</summary>
    public static SharingSettingInput Read(IFormCollection form, string prefix)
    {
        string Key(string f) => prefix.Length == 0 ? f : prefix + "." + f;
        var level = form[Key("level")].ToString();
        var fields = form[Key("fields")].Where(f => !string.IsNullOrEmpty(f)).Select(f => (string?)f).ToList();
        var minimum = form[Key("minimumCount")].ToString();
        int? min = null;
        if (minimum.Length > 0) min = int.TryParse(minimum, out var m) ? m : -1; // -1: refused by the same check as the API's
        return new SharingSettingInput(level.Length == 0 ? null : level, level == "overlaps" ? fields : [], min);
    }

    /// <summary>A stored rule on the form: an inherited minimum left empty, so that saving it unchanged keeps inheriting it.</summary>
    public static SharingSettingInput Input(Application.Sharing.SharingSetting s) =>
        new(Wire(s.Level), [.. s.Fields], s.MinimumInherited ? null : s.MinimumCount);

    public static string? Wire(SharingLevel? level) => level?.ToString().ToLowerInvariant();
}
