using System.Text.Json;
using OverlapEscrow.Domain.Sharing;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>What an organization sees of the audit events its partner causes.</summary>
public static class PartnerAuditView
{
    /// <summary>
    /// A partner's events an organization sees, in a partnership both are part of: the partnership's lifecycle and
    /// every release of data to the partner (who read what of mine). Everything else a partner does is its own business.
    /// </summary>
    public static readonly IReadOnlyList<string> VisibleActions =
    [
        "partnership.invited", "partnership.accepted", "partnership.declined", "partnership.terminated",
        "overlaps.released", "overlaps.matrix_read", "overlaps.history_read",
        // A request for more than counts, and its answer, concern both sides; the detail keeps the request id and the
        // reader's own population (the actor's partnerPopulationId).
        "data_request.created", "data_request.answered", "data_request.declined",
        // A claim that names the partner, and its answer: the detail keeps the claim id, role and status.
        "attribution.claimed", "attribution.confirmed", "attribution.disputed",
        // Reads of record-level overlap data through the signals: time-correct evidence (which of the partner's
        // populations held my account while my opportunity was open: evaluation, ledger, one claim, CSV, a claim's
        // answer) and co-selling signals (which of the partner's records overlap my opportunities). The detail keeps the
        // partner population, the number of records, which read and the fields; never a record id.
        "attribution.evidence_read", "coselling.signal_read",
    ];

    /// <summary>
    /// Keys of a partner's event detail that speak only of the organization's own populations and of the size of a
    /// release. The partner's own population ids may be hidden from the organization, so they never surface; what
    /// the partner calls its partner population is, from here, "my population".
    /// </summary>
    private static readonly Dictionary<string, string> VisibleKeys = new(StringComparer.Ordinal)
    {
        ["partnerPopulationId"] = "myPopulationId",
        ["rows"] = "rows",
        ["format"] = "format",
        ["fields"] = "fields",
        ["requestId"] = "requestId",
        ["level"] = "level",
        ["claimId"] = "claimId",
        ["role"] = "role",
        ["status"] = "status",
        ["signal"] = "signal",
    };

    /// <summary>
    /// The detail key of a read (overlaps.released, coselling.signal_read, attribution.evidence_read) that says how the
    /// reader shared its own population of the cell with the partner at the time (<see cref="LevelName"/>): hidden,
    /// counts or overlaps. A read says something about the reader's population — how many of its records overlap the
    /// partner's, that it exists at all — so the partner sees a read only as that level lets it see the population:
    /// nothing of a read with a population hidden from it (hidden is nonexistent), and the number of records only for a
    /// list read at the overlaps level (where it sees which of its own records overlap anyway). A signal's or evidence's
    /// number of records is never shown: it counts the reader's open opportunities, its stages, its own fields. Events
    /// written before the key existed render as they always did, so the organizations' chains still verify.
    /// </summary>
    public const string SharedAsKey = "sharedAs";

    /// <summary>The value of <see cref="SharedAsKey"/> for a level.</summary>
    public static string LevelName(SharingLevel level) => level switch
    {
        SharingLevel.Overlaps => "overlaps",
        SharingLevel.Counts => "counts",
        _ => "hidden",
    };

    /// <summary>Whether the organization sees a partner's event of <paramref name="action"/> at all.</summary>
    public static bool Shows(string action, JsonElement partnerDetail) =>
        VisibleActions.Contains(action) && SharedAs(partnerDetail) is not "hidden";

    /// <summary>The detail of a partner's event as the organization may read it.</summary>
    public static JsonElement Detail(string action, JsonElement partnerDetail)
    {
        var kept = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (partnerDetail.ValueKind == JsonValueKind.Object)
        {
            var sharedAs = SharedAs(partnerDetail);
            var rows = sharedAs is null || (action == "overlaps.released" && sharedAs == "overlaps");
            foreach (var property in partnerDetail.EnumerateObject())
                if (VisibleKeys.TryGetValue(property.Name, out var name) && (rows || name != "rows")) kept[name] = property.Value.Clone();
        }
        return JsonSerializer.SerializeToElement(kept);
    }

    private static string? SharedAs(JsonElement detail) =>
        detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty(SharedAsKey, out var level) && level.ValueKind == JsonValueKind.String
            ? level.GetString()
            : null;
}
