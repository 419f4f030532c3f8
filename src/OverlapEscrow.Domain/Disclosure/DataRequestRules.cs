using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Domain.Disclosure;

/// <summary>
/// Who may ask a partner for more than counts, about which cell, with what; and what each side is told of a request.
/// A request is made on a cell the requester can see exists and reads at the counts level only: asking is no way to
/// learn whether a hidden population exists (it answers exactly like a made-up id), and a cell already shared at the
/// overlaps level has nothing more to ask for.
/// </summary>
public static class DataRequestRules
{
    /// <summary>Longest message, in characters (a note to a partner, not a document).</summary>
    public const int MaxMessageLength = 1000;

    /// <summary>Longest note with a decline.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Requests one organization may make in one partnership per <see cref="Window"/> (open, answered or declined).</summary>
    public const int MaxPerWindow = 10;

    /// <summary>The rolling window of <see cref="MaxPerWindow"/>.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromDays(7);

    /// <summary>What the requester may ask about the cell (my population × the partner's), from the facts of its view.</summary>
    public static Decision MayAsk(PartnerView requester, string myPopulationId, string partnerPopulationId) =>
        CellAccess.Decide(requester, myPopulationId, partnerPopulationId) switch
        {
            CellAccess.PartnershipInactive => new Decision.Refused("The partnership is not active; requests are made only on active partnerships."),
            CellAccess.NotFound nf => new Decision.NotFound(nf.What),
            CellAccess.Records => new Decision.Refused("The partner already shares this cell at the overlaps level; there is nothing more to ask for."),
            CellAccess.CountsOnly c => new Decision.Allowed(c.Mine, c.Theirs),
            _ => new Decision.NotFound("partner population"),
        };

    public abstract record Decision
    {
        private Decision() { }
        public sealed record Allowed(PopulationSummary Mine, PopulationSummary Theirs) : Decision;
        public sealed record NotFound(string What) : Decision;
        public sealed record Refused(string Reason) : Decision;
    }

    /// <summary>A message or note: trimmed, within <paramref name="max"/> characters, no control characters but line breaks and
    /// tabs, no invisible format characters (<see cref="PlainText"/>).</summary>
    public static string? Text(string? text, bool required, int max, string path, FieldErrors errors)
    {
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            if (required) errors.Add(path, $"{path} is required.");
            return required ? null : "";
        }
        if (trimmed.Length > max) { errors.Add(path, $"{path} is at most {max} characters."); return null; }
        if (!PlainText.IsPlain(trimmed, allowLineBreaks: true))
        {
            errors.Add(path, $"{path} may not contain control or invisible formatting characters.");
            return null;
        }
        return trimmed;
    }

    /// <summary>
    /// The rule an owner sets for the requested cell when it answers: the owner's population × the requester's
    /// population in this partnership, at counts or overlaps (hiding the cell is not an answer: decline instead).
    /// </summary>
    public static SharingRule? Answer(DataRequest request, SharingSettingInput input, FieldErrors errors)
    {
        var rule = SharingSettings.Parse(input, request.OwnerPopulationId, request.PartnershipId, request.RequesterPopulationId, "$", errors);
        if (rule is null) return null;
        if (rule.Level == SharingLevel.Hidden)
        {
            errors.Add("$.level", "An answer shares at counts or overlaps; to refuse, decline the request.");
            return null;
        }
        return rule;
    }

    /// <summary>
    /// The partner population a requester is told of in its own request: named while it still exists for the requester,
    /// otherwise only the id it asked about (a population hidden since reads like one that was deleted).
    /// </summary>
    public static PopulationSummary? VisibleToRequester(PartnerView requester, DataRequest request) =>
        PartnerVisibility.VisiblePopulations(requester).FirstOrDefault(p => p.Id == request.OwnerPopulationId);

    /// <summary>
    /// The name of the requester's population as the owner is told of it in a request: its current name while that
    /// population exists for the owner (<see cref="PartnerVisibility"/>); once hidden from the owner (or the partnership
    /// ended), the name it had when the request was made — the requester disclosed that name by asking, but a rename
    /// since is not the owner's to learn — or null when that was not kept.
    /// </summary>
    public static string? RequesterPopulationNameForOwner(PartnerView owner, DataRequest request) =>
        PartnerVisibility.VisiblePopulations(owner).FirstOrDefault(p => p.Id == request.RequesterPopulationId)?.Name ?? request.RequesterPopulationName;

    /// <summary>
    /// What the requester reads of the cell now: the partner's level in force, or null when the cell no longer exists for it.
    /// </summary>
    public static SharingLevel? CellLevelForRequester(PartnerView requester, DataRequest request) =>
        CellAccess.Decide(requester, request.RequesterPopulationId, request.OwnerPopulationId) switch
        {
            CellAccess.CountsOnly => SharingLevel.Counts,
            CellAccess.Records => SharingLevel.Overlaps,
            _ => null,
        };
}
