using System.Globalization;
using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Signals;

/// <summary>One partner's time-correct evidence for one of my opportunities, and the claim recorded for it, if any.</summary>
public sealed record PartnerAttribution(string PartnershipId, PartnerOrganization Partner, IReadOnlyList<AttributionEvidence> Evidence, AttributionClaim? Claim);

/// <summary>One of my opportunities with, per partner, whether the partner had its account while it was open.</summary>
public sealed record OpportunityAttribution(Opportunity Opportunity, TimeSpanUtc? OpenWindow, IReadOnlyList<PartnerAttribution> Partners);

/// <summary>
/// A ledger entry as one side reads it: the claimant reads its opportunity's own fields (<see cref="Opportunity"/>, null
/// when the record is gone), the partner named reads none of them (they never cross the boundary).
/// </summary>
/// <param name="EvidenceWithdrawn">Evidence recorded with the claim that the reader no longer reads (<see cref="AttributionEvidenceRule"/>).</param>
public sealed record AttributionView(AttributionClaim Claim, bool IClaimed, PartnerOrganization Partner, Opportunity? Opportunity, string? PopulationName,
    bool EvidenceWithdrawn = false);

public sealed record AttributionInput(string? PopulationId, string? OpportunityId, string? PartnershipId, string? Role, string? Note);

/// <summary>
/// Item 5 of docs/health.md, time-correct attribution. For each of my opportunities, which partners had its account in
/// which of their populations while it was open — from the overlap history my side recorded (the record ids kept with
/// each point recorded at the overlaps level), not from today's overlap; a manager records "sourced" or "influenced"
/// with that evidence attached; the partner named confirms or disputes; both read the ledger.
/// </summary>
public sealed class Attributions(
    IPopulationRepository populations,
    IPartnershipRepository partnerships,
    IAttributionRepository ledger,
    PartnerViews views,
    PopulationDataCache data,
    IKeyring keyring,
    ITransactions transactions,
    IEventPublisher events,
    IAuditRepository audit,
    TimeProvider time)
{
    public const string Claimed = "attribution.claimed";
    public const string Confirmed = "attribution.confirmed";
    public const string Disputed = "attribution.disputed";

    /// <summary>
    /// A read of time-correct evidence: which of the partner's populations held which of my accounts while my opportunity
    /// was open is record-level overlap data, so each read is audited like a list read, one event per partner population
    /// it reveals (detail: the partner population, how many of my opportunities, which read), with no record id.
    /// </summary>
    public const string EvidenceRead = "attribution.evidence_read";

    public const int MaxNoteLength = 500;

    /// <summary>Claims per page of the ledger when the caller names no limit, and the most it may name.</summary>
    public const int DefaultPageSize = 100, MaxPageSize = 500;

    /// <summary>Every opportunity of my opportunities population with its time-correct evidence per active partner.</summary>
    public async Task<Outcome<IReadOnlyList<OpportunityAttribution>>> EvaluateAsync(Caller caller, string populationId, CancellationToken ct)
    {
        var loaded = await LoadOpportunitiesAsync(caller, populationId, ct);
        if (loaded.Failure is { } failure) return failure;
        var (_, opportunities) = loaded.Value;
        var now = time.GetUtcNow();
        // One claim per opportunity and partnership; should two ever exist, the first made is the one shown.
        var claims = (await OpenAsync(await ledger.ListMadeAsync(caller.OrganizationId, populationId, null, ct), ct))
            .GroupBy(c => (c.RecordId, c.PartnershipId)).ToDictionary(g => g.Key, g => g.First());
        var perPartner = new List<(PartnerView View, Dictionary<string, IReadOnlyList<AttributionEvidence>> Evidence)>();
        foreach (var partnership in await partnerships.ListAsync(caller.OrganizationId, ct))
        {
            if (partnership.Status != PartnershipStatus.Active) continue;
            var view = await views.LoadAsync(caller.OrganizationId, partnership.Id, ct);
            if (view is null) continue;
            var evidence = await EvidenceAsync(view, populationId, opportunities, now, ct);
            await AuditEvidenceAsync(caller, view, evidence.Values.SelectMany(e => e).Select(e => (populationId, e)), "evaluation", null, ct,
                consulted: AttributionEvidenceRule.Sources(view, populationId).Select(p => (populationId, p.Id)));
            perPartner.Add((view, evidence));
        }
        return opportunities.Select(o => new OpportunityAttribution(o, TimeCorrectMembership.OpenWindow(o, now),
                perPartner.Select(p => new PartnerAttribution(p.View.Partnership.Id, p.View.Partner,
                        p.Evidence.TryGetValue(o.RecordId, out var e) ? e : [],
                        claims.GetValueOrDefault((o.RecordId, p.View.Partnership.Id))))
                    .ToList()))
            .ToList();
    }

    /// <summary>Records a claim, with the evidence as it stands now; refused when there is none.</summary>
    public async Task<Outcome<AttributionView>> ClaimAsync(Caller caller, AttributionInput input, CancellationToken ct)
    {
        var errors = new FieldErrors();
        errors.Check(!string.IsNullOrWhiteSpace(input.PopulationId), "populationId", "populationId is required.");
        errors.Check(!string.IsNullOrWhiteSpace(input.OpportunityId), "opportunityId", "opportunityId is required.");
        errors.Check(!string.IsNullOrWhiteSpace(input.PartnershipId), "partnershipId", "partnershipId is required.");
        // Exactly one of the two words: Enum.TryParse would also take "sourced,influenced" and numbers.
        AttributionRole? parsed = input.Role switch { "sourced" => AttributionRole.Sourced, "influenced" => AttributionRole.Influenced, _ => null };
        errors.Check(parsed is not null, "role", "role is sourced or influenced.");
        var role = parsed.GetValueOrDefault();
        var note = DataRequestRules.Text(input.Note, required: false, MaxNoteLength, "note", errors);
        if (errors.Any) return new Failure.Invalid(errors.All);

        var loaded = await LoadOpportunitiesAsync(caller, input.PopulationId!, ct);
        if (loaded.Failure is { } failure) return failure;
        var (population, opportunities) = loaded.Value;
        var opportunity = opportunities.FirstOrDefault(o => o.RecordId == input.OpportunityId);
        if (opportunity is null) return new Failure.NotFound("opportunity");
        var view = await views.LoadAsync(caller.OrganizationId, input.PartnershipId!, ct);
        if (view is null) return new Failure.NotFound("partnership");
        if (view.Partnership.Status != PartnershipStatus.Active) return new Failure.Conflict("The partnership is not active; claims are recorded only in active partnerships.");
        var now = time.GetUtcNow();
        var evidence = (await EvidenceAsync(view, population.Id, [opportunity], now, ct)).GetValueOrDefault(opportunity.RecordId) ?? [];
        // The answer says whether the partner had the account while the opportunity was open, either way: audited either way.
        await AuditEvidenceAsync(caller, view, evidence.Select(e => (population.Id, e)), "claim", null, ct,
            consulted: AttributionEvidenceRule.Sources(view, population.Id).Select(p => (population.Id, p.Id)));
        if (evidence.Count == 0)
            return new Failure.Conflict("No time-correct evidence: the partner did not have this opportunity's account in a population it shares with you at the overlaps level while the opportunity was open.");

        var claim = new AttributionClaim(Ids.New("att"), view.Partnership.Id, caller.OrganizationId, view.Partner.Id, population.Id, opportunity.RecordId, role,
            AttributionStatus.Claimed, evidence, note is { Length: > 0 } ? note : null, now, caller.Actor, null, null, null);
        await using var uow = await transactions.BeginAsync(ct);
        // One claim per opportunity and partnership: the record ids are sealed, so no unique index can say it; the claims
        // of this population in this partnership are read holding the partnership's lock, so two claims take turns.
        await uow.Partnerships.LockAsync(view.Partnership.Id, ct);
        if ((await OpenAsync(await uow.Attributions.ListMadeAsync(caller.OrganizationId, population.Id, view.Partnership.Id, ct), ct))
            .Any(c => c.RecordId == opportunity.RecordId))
            return new Failure.Conflict("This opportunity already has a claim in this partnership.");
        using (var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct))
            await uow.Attributions.CreateAsync(claim, SignalSeals.SealClaim(cipher, claim), ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, Claimed, claim.PartnershipId,
            // No record id: the audit log outlives an erasure and names no record (the claim id leads to the claim).
            new { claimId = claim.Id, role = Wire(role), status = Wire(claim.Status), populationId = population.Id }), ct);
        await PublishAsync(uow, claim.PartnerOrganizationId, caller.OrganizationId, Claimed, claim, now, ct);
        await uow.CommitAsync(ct);
        return new AttributionView(claim, true, view.Partner, opportunity, population.Name);
    }

    /// <summary>The partner named confirms or disputes a claim (once; while the partnership is active).</summary>
    public async Task<Outcome<AttributionView>> RespondAsync(Caller caller, string claimId, bool confirm, string? note, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var text = DataRequestRules.Text(note, required: false, MaxNoteLength, "note", errors);
        if (errors.Any) return new Failure.Invalid(errors.All);
        var stored = await ledger.GetAsync(caller.OrganizationId, claimId, ct);
        if (stored is null) return new Failure.NotFound("attribution");
        var claim = stored.Claim;
        if (claim.PartnerOrganizationId != caller.OrganizationId) return new Failure.Forbidden("Only the partner a claim names confirms or disputes it.");
        var view = await views.LoadAsync(caller.OrganizationId, claim.PartnershipId, ct);
        if (view is null) return new Failure.NotFound("attribution");
        if (view.Partnership.Status != PartnershipStatus.Active) return new Failure.Conflict("The partnership is no longer active.");
        if (claim.Status != AttributionStatus.Claimed) return new Failure.Conflict($"The claim is {Wire(claim.Status)} already.");
        var now = time.GetUtcNow();
        var answered = claim with
        {
            Status = confirm ? AttributionStatus.Confirmed : AttributionStatus.Disputed, RespondedAt = now, RespondedBy = caller.Actor,
            ResponseNote = text is { Length: > 0 } ? text : null,
        };
        var action = confirm ? Confirmed : Disputed;
        SealedValue? sealedNote = null;
        if (answered.ResponseNote is { } responseNote)
            using (var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct))
                sealedNote = SignalSeals.SealResponse(cipher, claim.Id, responseNote);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Attributions.RespondAsync(answered, sealedNote, ct)) return new Failure.Conflict("The claim was answered meanwhile; read it again.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, action, claim.PartnershipId,
            new { claimId = claim.Id, role = Wire(claim.Role), status = Wire(answered.Status) }), ct);
        await PublishAsync(uow, claim.ClaimantOrganizationId, caller.OrganizationId, action, answered, now, ct);
        await uow.CommitAsync(ct);
        using var reader = new SignalSeals.Reader(keyring);
        return Render(await reader.OpenAsync(stored with { Claim = answered }, ct) with { ResponseNote = answered.ResponseNote }, view, null);
    }

    /// <summary>
    /// One page of the ledger: claims my organization made and claims that name it, newest first; optionally one
    /// partnership's. A page may hold fewer items than <paramref name="limit"/> (claims of partnerships no longer mine are
    /// left out) and still have a next page: <see cref="ListPage{T}.Next"/> alone says whether there is more. The evidence
    /// of my claims on the page is audited as read (<see cref="EvidenceRead"/>, format ledger).
    /// </summary>
    public async Task<Outcome<ListPage<AttributionView>>> LedgerAsync(Caller caller, string? partnershipId, ListPosition? after, int? limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        if (partnershipId is not null && await partnerships.GetAsync(caller.OrganizationId, partnershipId, ct) is null) return new Failure.NotFound("partnership");
        var size = limit ?? DefaultPageSize;
        var list = await ledger.ListAsync(caller.OrganizationId, partnershipId, after, size + 1, ct);
        var page = list.Take(size).ToList();
        var views = await RenderAllAsync(caller, page, "ledger", ct);
        return new ListPage<AttributionView>(views, list.Count > size ? new ListPosition(page[^1].Claim.CreatedAt, page[^1].Claim.Id) : null);
    }

    public async Task<Outcome<AttributionView>> GetAsync(Caller caller, string claimId, CancellationToken ct)
    {
        var stored = await ledger.GetAsync(caller.OrganizationId, claimId, ct);
        if (stored is null) return new Failure.NotFound("attribution");
        var rendered = await RenderAllAsync(caller, [stored], "claim", ct);
        return rendered.Count == 1 ? rendered[0] : new Failure.NotFound("attribution");
    }

    /// <summary>
    /// Claims as my side reads them (those of partnerships no longer mine left out), texts opened with their authors'
    /// keys; the evidence of my own claims among them is audited as read, per partnership and partner population.
    /// </summary>
    private async Task<List<AttributionView>> RenderAllAsync(Caller caller, IReadOnlyList<StoredAttribution> stored, string format, CancellationToken ct)
    {
        var loadedViews = new Dictionary<string, PartnerView?>(StringComparer.Ordinal);
        var own = new Dictionary<string, Dictionary<string, Opportunity>>(StringComparer.Ordinal);
        var result = new List<AttributionView>();
        using var reader = new SignalSeals.Reader(keyring);
        foreach (var s in stored)
        {
            var claim = await reader.OpenAsync(s, ct);
            if (!loadedViews.TryGetValue(claim.PartnershipId, out var view))
                loadedViews[claim.PartnershipId] = view = await views.LoadAsync(caller.OrganizationId, claim.PartnershipId, ct);
            if (view is null) continue;
            Dictionary<string, Opportunity>? mine = null;
            if (claim.ClaimantOrganizationId == caller.OrganizationId && !own.TryGetValue(claim.PopulationId, out mine))
            {
                var loaded = await LoadOpportunitiesAsync(caller, claim.PopulationId, ct);
                own[claim.PopulationId] = mine = loaded.Value.Opportunities?.ToDictionary(o => o.RecordId, StringComparer.Ordinal) ?? [];
            }
            result.Add(Render(claim, view, mine));
        }
        foreach (var partnership in result.Where(v => v.IClaimed).GroupBy(v => v.Claim.PartnershipId))
            await AuditEvidenceAsync(caller, loadedViews[partnership.Key]!, partnership.SelectMany(v => v.Claim.Evidence.Select(e => (v.Claim.PopulationId, e))), format,
                format == "claim" && result.Count == 1 ? result[0].Claim.Id : null, ct);
        return result;
    }

    /// <summary>Every claim my organization made (the CSV export; a page of the ledger is not enough there).</summary>
    private async Task<List<AttributionView>> AllMadeAsync(Caller caller, CancellationToken ct) =>
        await RenderAllAsync(caller, await ledger.ListMadeAsync(caller.OrganizationId, null, null, ct), "csv", ct);

    /// <summary>
    /// Every claim the organization made, texts opened (the leadership report's sourced and influenced lines). The claims
    /// are the organization's own records; no evidence is shown, so nothing is audited as read.
    /// </summary>
    public async Task<IReadOnlyList<AttributionClaim>> MadeByAsync(string organizationId, CancellationToken ct) =>
        await OpenAsync(await ledger.ListMadeAsync(organizationId, null, null, ct), ct);

    /// <summary>Opens the claimant's texts of claims my organization made.</summary>
    private async Task<List<AttributionClaim>> OpenAsync(IReadOnlyList<StoredAttribution> stored, CancellationToken ct)
    {
        using var reader = new SignalSeals.Reader(keyring);
        var claims = new List<AttributionClaim>(stored.Count);
        foreach (var s in stored) claims.Add(await reader.OpenAsync(s, ct));
        return claims;
    }

    /// <summary>
    /// One <see cref="EvidenceRead"/> event per opportunities population of mine × partner population the evidence
    /// names (rows: how many of my opportunities it held while open) — and, for an evaluation or a claim, per pair it
    /// <paramref name="consulted"/> too, with 0 rows, so that whether an event exists says nothing of my opportunities —
    /// or one with no population and 0 rows when a claim found none (its 409 says that much). Each carries how I share
    /// that population with the partner (<see cref="PartnerAuditView.SharedAsKey"/>): the partner sees the read only as
    /// that level lets it see my population, and never the rows. Never a record id (the log outlives an erasure).
    /// </summary>
    private async Task AuditEvidenceAsync(Caller caller, PartnerView view, IEnumerable<(string PopulationId, AttributionEvidence Evidence)> evidence, string format,
        string? claimId, CancellationToken ct, IEnumerable<(string PopulationId, string PartnerPopulationId)>? consulted = null)
    {
        var rowsByPair = evidence.GroupBy(e => (e.PopulationId, e.Evidence.PartnerPopulationId)).ToDictionary(g => g.Key, g => g.Count());
        foreach (var pair in consulted ?? []) rowsByPair.TryAdd(pair, 0);
        var now = time.GetUtcNow();
        var partnershipId = view.Partnership.Id;
        if (rowsByPair.Count == 0 && format == "claim")
            await audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, EvidenceRead, partnershipId, new { rows = 0, format }), ct);
        foreach (var ((mine, population), rows) in rowsByPair.OrderBy(p => p.Key.PartnerPopulationId, StringComparer.Ordinal))
        {
            var sharedAs = PartnerAuditView.LevelName(view.IShare(mine, population).Level);
            await audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, EvidenceRead, partnershipId,
                claimId is null ? new { partnerPopulationId = population, rows, format, sharedAs } : (object)new { partnerPopulationId = population, rows, format, claimId, sharedAs }), ct);
        }
    }

    /// <summary>
    /// The claims my organization made, one row per opportunity × partner, in the columns a CRM's "opportunity partner"
    /// import takes (<see cref="CsvHeader"/>, docs/health.md): my own opportunity fields, the partner, the role and the
    /// evidence. The host writes them as CSV.
    /// </summary>
    public async Task<IReadOnlyList<string[]>> ExportRowsAsync(Caller caller, CancellationToken ct)
    {
        var claims = (await AllMadeAsync(caller, ct)).Where(v => v.IClaimed).OrderBy(v => v.Claim.RecordId, StringComparer.Ordinal).ToList();
        return claims.Select(v =>
        {
            var spans = v.Claim.Evidence.SelectMany(e => e.Spans).ToList();
            var o = v.Opportunity;
            return new[]
            {
                v.Claim.RecordId, v.PopulationName ?? "", v.Partner.Name, v.Partner.Slug,
                v.Claim.Role == AttributionRole.Sourced ? "Sourced" : "Influenced", v.Claim.Role == AttributionRole.Sourced ? "true" : "false",
                Wire(v.Claim.Status),
                o?.Amount?.ToString(CultureInfo.InvariantCulture) ?? "", o?.Currency ?? "", o?.Stage ?? "", Day(o?.CloseDate),
                string.Join("; ", v.Claim.Evidence.Select(e => e.PartnerPopulationName).Where(n => n.Length > 0).Distinct()),
                spans.Count == 0 ? "" : Day(spans.Min(s => s.From)), spans.Count == 0 ? "" : Day(spans.Max(s => s.To).AddTicks(-1)),
                Day(v.Claim.CreatedAt), Day(v.Claim.RespondedAt), v.Claim.ResponseNote ?? "", v.Claim.Id,
            };
        }).ToList();
    }

    private static string Day(DateOnly? d) => d?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "";

    private static string Day(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "";

    /// <summary>The export's columns, in order (docs/health.md).</summary>
    public static readonly IReadOnlyList<string> CsvHeader =
    [
        "OpportunityId", "Population", "PartnerName", "PartnerSlug", "Role", "IsPrimary", "Status", "Amount", "Currency", "Stage", "CloseDate",
        "EvidencePopulations", "EvidenceFrom", "EvidenceTo", "ClaimedOn", "PartnerRespondedOn", "PartnerNote", "ClaimId",
    ];

    private async Task<Outcome<(PopulationSummary Population, IReadOnlyList<Opportunity> Opportunities)>> LoadOpportunitiesAsync(Caller caller, string populationId, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var population = await populations.GetAsync(caller.OrganizationId, populationId, ct);
            if (population is null) return new Failure.NotFound("population");
            if (!OpportunityFields.IsOpportunities(population.Type))
                return Failure.Invalid.Of("populationId", "Attribution is computed for a population of type opportunities.");
            try
            {
                var records = await data.GetAsync(caller.OrganizationId, population.Id, population.CurrentVersionId, ct);
                return (population, (await data.AllRecordsAsync(caller.OrganizationId, population.Id, records, ct)).Select(OpportunityFields.Read).ToList());
            }
            catch (VersionGoneException) when (attempt < 2)
            {
                // A newer upload committed meanwhile: read the population again.
            }
        }
    }

    /// <summary>
    /// Per opportunity record id, the evidence from one partnership: for each partner population that
    /// <see cref="AttributionEvidenceRule.Sources"/> allows, the spans in which my history of that cell had the record
    /// in the overlap, within the opportunity's open window.
    /// </summary>
    private async Task<Dictionary<string, IReadOnlyList<AttributionEvidence>>> EvidenceAsync(PartnerView view, string populationId,
        IReadOnlyList<Opportunity> opportunities, DateTimeOffset now, CancellationToken ct)
    {
        var result = new Dictionary<string, IReadOnlyList<AttributionEvidence>>(StringComparer.Ordinal);
        var sources = AttributionEvidenceRule.Sources(view, populationId).ToDictionary(p => p.Id, StringComparer.Ordinal);
        if (sources.Count == 0 || opportunities.Count == 0) return result;
        var points = (await ledger.ListMembershipPointsAsync(view.MyOrganizationId, view.Partnership.Id, populationId, ct))
            .Where(p => sources.ContainsKey(p.PartnerPopulationId)).ToList();
        if (points.Count == 0) return result;
        using var cipher = await keyring.ForOrganizationAsync(view.MyOrganizationId, ct);
        var cells = points.GroupBy(p => p.PartnerPopulationId)
            .Select(g => (Population: sources[g.Key], Points: g.OrderBy(p => p.At)
                .Select(p => (p.At, Ids: AttributionEvidenceRule.Usable(p.Level) && p.RecordIds is not null ? HistoryRecorder.OpenRecordIds(cipher, p) : null))
                .ToList()))
            .ToList();
        foreach (var o in opportunities)
        {
            if (TimeCorrectMembership.OpenWindow(o, now) is not { } window) continue;
            var evidence = new List<AttributionEvidence>();
            foreach (var (population, cellPoints) in cells)
            {
                var membership = TimeCorrectMembership.Spans(cellPoints.Select(p => new TimeCorrectMembership.Point(p.At, p.Ids?.Contains(o.RecordId))).ToList(), now);
                var within = TimeCorrectMembership.Within(membership, window);
                if (within.Count > 0) evidence.Add(new AttributionEvidence(population.Id, population.Name, within));
            }
            if (evidence.Count > 0) result[o.RecordId] = evidence;
        }
        return result;
    }

    private async Task PublishAsync(IUnitOfWork uow, string to, string from, string type, AttributionClaim claim, DateTimeOffset at, CancellationToken ct)
    {
        var sender = await uow.Accounts.GetOrganizationAsync(from, ct);
        await events.PublishAsync(uow, to, type, AttributionNotice.For(claim, new PartnerOrganization(sender!.Id, sender.Slug, sender.Name)), at, ct);
    }

    private static AttributionView Render(AttributionClaim claim, PartnerView view, IReadOnlyDictionary<string, Opportunity>? mine)
    {
        if (claim.ClaimantOrganizationId == view.MyOrganizationId)
        {
            var population = view.MyPopulations.FirstOrDefault(p => p.Id == claim.PopulationId);
            var shown = AttributionEvidenceRule.AsClaimantReads(view, claim.PopulationId, claim.Evidence);
            return new AttributionView(claim with { Evidence = shown, RespondedBy = null }, true, view.Partner,
                mine?.GetValueOrDefault(claim.RecordId), population?.Name, shown.Count < claim.Evidence.Count);
        }
        // The partner named reads the claim, its own populations in the evidence, and nothing of the opportunity but its id.
        var theirs = AttributionEvidenceRule.AsPartnerReads(view, claim.Evidence);
        return new AttributionView(claim with { CreatedBy = "", PopulationId = "", Evidence = theirs }, false, view.Partner, null, null, theirs.Count < claim.Evidence.Count);
    }

    private static string Wire<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();
}
