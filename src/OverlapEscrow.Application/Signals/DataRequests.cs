using OverlapEscrow.Application.Keys;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Sharing;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Webhooks;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using OverlapEscrow.Domain.Sharing;
using OverlapEscrow.Domain.Signals;

namespace OverlapEscrow.Application.Signals;

/// <summary>
/// A data request as one side reads it. "My" population is the reader's: the requester's own population for the
/// requester, the counts-only population for the owner. <see cref="PartnerPopulationName"/> is null when that
/// population no longer exists for the reader; <see cref="CellLevel"/> is what the owner shares with the cell now (null
/// when the cell is hidden from the requester now). Which actor asked or answered is told only to that actor's own side.
/// </summary>
public sealed record DataRequestView(
    DataRequest Request,
    DataRequestSide Side,
    PartnerOrganization Partner,
    string MyPopulationId,
    string? MyPopulationName,
    string PartnerPopulationId,
    string? PartnerPopulationName,
    SharingLevel? CellLevel);

public sealed record DataRequestInput(string? PopulationId, string? PartnerPopulationId, string? Message);

/// <summary>One page of a list, newest first; <see cref="Next"/> is where the next page starts (null: this was the last).</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Items, ListPosition? Next);

/// <summary>
/// Item 6 of docs/health.md: on a counts-only cell a viewer asks the partner for more; the partner answers by changing
/// its sharing of that cell (the answer and the sharing change commit together and name each other) or declines.
/// Each step is audited in the acting organization's log (the other side's chain shows it, <see cref="PartnerAuditView"/>)
/// and raises a webhook event for the other side, in the step's transaction.
/// </summary>
public sealed class DataRequests(
    PartnerViews views,
    IDataRequestRepository requests,
    ITransactions transactions,
    PermissionWithdrawal withdrawal,
    IEventPublisher events,
    IKeyring keyring,
    TimeProvider time)
{
    public const string Created = "data_request.created";
    public const string Answered = "data_request.answered";
    public const string Declined = "data_request.declined";

    /// <summary>Items per page of a list when the caller names no limit, and the most it may name.</summary>
    public const int DefaultPageSize = 100, MaxPageSize = 500;

    public async Task<Outcome<DataRequestView>> CreateAsync(Caller caller, string partnershipId, DataRequestInput input, CancellationToken ct)
    {
        var errors = new FieldErrors();
        errors.Check(!string.IsNullOrWhiteSpace(input.PopulationId), "populationId", "populationId is required.");
        errors.Check(!string.IsNullOrWhiteSpace(input.PartnerPopulationId), "partnerPopulationId", "partnerPopulationId is required.");
        var message = DataRequestRules.Text(input.Message, required: true, DataRequestRules.MaxMessageLength, "message", errors);
        if (errors.Any) return new Failure.Invalid(errors.All);

        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        var view = await PartnerViews.LoadAsync(uow, caller.OrganizationId, partnershipId, ct);
        if (view is null) return new Failure.NotFound("partnership");
        string? populationName = null;
        switch (DataRequestRules.MayAsk(view, input.PopulationId!, input.PartnerPopulationId!))
        {
            case DataRequestRules.Decision.NotFound nf: return new Failure.NotFound(nf.What);
            case DataRequestRules.Decision.Refused r: return new Failure.Conflict(r.Reason);
            case DataRequestRules.Decision.Allowed a: populationName = a.Mine.Name; break;
        }
        // Two requests counted against one limit take turns on the partnership's lock.
        await uow.Partnerships.LockAsync(partnershipId, ct);
        if (await uow.DataRequests.CountMadeSinceAsync(caller.OrganizationId, partnershipId, now - DataRequestRules.Window, ct) >= DataRequestRules.MaxPerWindow)
            return new Failure.Limited($"At most {DataRequestRules.MaxPerWindow} data requests per partnership in {DataRequestRules.Window.TotalDays:0} days.");
        var request = new DataRequest(Ids.New("drq"), partnershipId, caller.OrganizationId, view.Partner.Id, input.PopulationId!, input.PartnerPopulationId!,
            message!, DataRequestStatus.Open, now, caller.Actor, null, null, null, [], null) { RequesterPopulationName = populationName };
        // The message, and the name the population had when it asked (what the owner keeps being told once the
        // population is hidden from it), are sealed under the requester's key.
        SealedValue sealedMessage;
        using (var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct))
            sealedMessage = SignalSeals.SealMessage(cipher, request.Id, message!, populationName);
        if (!await uow.DataRequests.CreateAsync(request, sealedMessage, ct))
            return new Failure.Conflict("You already have an open request for this cell; wait for its answer.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, Created, partnershipId,
            new { requestId = request.Id, populationId = request.RequesterPopulationId, partnerPopulationId = request.OwnerPopulationId, messageLength = message!.Length }), ct);
        var me = await uow.Accounts.GetOrganizationAsync(caller.OrganizationId, ct);
        await events.PublishAsync(uow, view.Partner.Id, Created, DataRequestNotice.For(request, new PartnerOrganization(me!.Id, me.Slug, me.Name)), now, ct);
        await uow.CommitAsync(ct);
        return Render(request, view);
    }

    /// <summary>
    /// One page of the requests my organization made or received, newest first, each as my side may read it; optionally
    /// one partnership's. A page may hold fewer items than <paramref name="limit"/> (requests of partnerships no longer
    /// mine are left out) and still have a next page: <see cref="ListPage{T}.Next"/> alone says whether there is more.
    /// </summary>
    public async Task<Outcome<ListPage<DataRequestView>>> ListAsync(Caller caller, string? partnershipId, ListPosition? after, int? limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxPageSize) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxPageSize}.");
        if (partnershipId is not null && await LoadViewAsync(caller, partnershipId, ct) is null) return new Failure.NotFound("partnership");
        var size = limit ?? DefaultPageSize;
        var list = await requests.ListAsync(caller.OrganizationId, partnershipId, after, size + 1, ct);
        var page = list.Take(size).ToList();
        var loaded = new Dictionary<string, PartnerView?>(StringComparer.Ordinal);
        var views = new List<DataRequestView>();
        using var reader = new SignalSeals.Reader(keyring);
        foreach (var stored in page)
        {
            var request = stored.Request;
            if (!loaded.TryGetValue(request.PartnershipId, out var view))
                loaded[request.PartnershipId] = view = await LoadViewAsync(caller, request.PartnershipId, ct);
            if (view is not null) views.Add(Render(await reader.OpenAsync(stored, ct), view));
        }
        return new ListPage<DataRequestView>(views, list.Count > size ? new ListPosition(page[^1].Request.CreatedAt, page[^1].Request.Id) : null);
    }

    public async Task<Outcome<DataRequestView>> GetAsync(Caller caller, string requestId, CancellationToken ct)
    {
        var stored = await requests.GetAsync(caller.OrganizationId, requestId, ct);
        if (stored is null) return new Failure.NotFound("data request");
        var view = await LoadViewAsync(caller, stored.Request.PartnershipId, ct);
        if (view is null) return new Failure.NotFound("data request");
        using var reader = new SignalSeals.Reader(keyring);
        return Render(await reader.OpenAsync(stored, ct), view);
    }

    /// <summary>
    /// The owner answers by setting its rule for the requested cell (its population × the requester's, in this
    /// partnership); its other overrides stay. The rule, the withdrawal of what the old rule allowed and no longer does,
    /// the request's answer, both audit events (sharing.updated names the request) and the event commit together.
    /// </summary>
    public async Task<Outcome<DataRequestView>> AnswerAsync(Caller caller, string requestId, SharingSettingInput input, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        var (request, view, failure) = await OpenForOwnerAsync(uow, caller, requestId, ct);
        if (failure is not null) return failure;
        var errors = new FieldErrors();
        var rule = DataRequestRules.Answer(request!, input, errors);
        if (rule is null) return new Failure.Invalid(errors.All);

        var rules = view!.MyRules
            .Where(r => r.PartnershipId == request!.PartnershipId
                        && !(r.PopulationId == rule.PopulationId && r.PartnerPopulationId == rule.PartnerPopulationId))
            .Append(rule)
            .ToList();
        await uow.Partnerships.ReplacePartnershipRulesAsync(caller.OrganizationId, request!.PartnershipId, rules, now, ct);
        await withdrawal.ApplyAsync(uow, caller.OrganizationId, request.PartnershipId, null, ct);
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "sharing.updated", request.PartnershipId,
            new
            {
                dataRequestId = request.Id,
                rules = rules.Select(r => new { r.PopulationId, PartnerPopulationId = r.PartnerPopulationId ?? "", Level = Wire(r.Level), r.Fields, r.MinimumCount }),
            }), ct);
        var answered = request with
        {
            Status = DataRequestStatus.Answered, ResolvedAt = now, ResolvedBy = caller.Actor, AnsweredLevel = rule.Level, AnsweredFields = rule.Fields,
        };
        return await ResolveAsync(uow, caller, answered, null, new
        {
            requestId = request.Id, populationId = request.OwnerPopulationId, partnerPopulationId = request.RequesterPopulationId,
            level = Wire(rule.Level), fields = rule.Fields, minimumCount = rule.MinimumCount,
        }, Answered, ct);
    }

    public async Task<Outcome<DataRequestView>> DeclineAsync(Caller caller, string requestId, string? reason, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var note = DataRequestRules.Text(reason, required: false, DataRequestRules.MaxReasonLength, "reason", errors);
        if (errors.Any) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        await using var uow = await transactions.BeginAsync(ct);
        var (request, _, failure) = await OpenForOwnerAsync(uow, caller, requestId, ct);
        if (failure is not null) return failure;
        var declined = request! with
        {
            Status = DataRequestStatus.Declined, ResolvedAt = now, ResolvedBy = caller.Actor, Reason = note!.Length == 0 ? null : note,
        };
        SealedValue? sealedReason = null;
        if (declined.Reason is { } text)
            using (var cipher = await keyring.ForOrganizationAsync(caller.OrganizationId, ct))
                sealedReason = SignalSeals.SealReason(cipher, request.Id, text);
        return await ResolveAsync(uow, caller, declined, sealedReason, new
        {
            requestId = request.Id, populationId = request.OwnerPopulationId, partnerPopulationId = request.RequesterPopulationId,
            reasonLength = note.Length,
        }, Declined, ct);
    }

    private async Task<Outcome<DataRequestView>> ResolveAsync(IUnitOfWork uow, Caller caller, DataRequest resolved, SealedValue? reason, object detail, string action,
        CancellationToken ct)
    {
        var at = resolved.ResolvedAt!.Value;
        // The audit's head before the request's row, as an answer takes them (its sharing change appends first): a decline
        // that held the row and then waited for the head deadlocked with an answer of the same request on PostgreSQL.
        // Answered meanwhile: the event is rolled back with the rest.
        await uow.Audit.AppendAsync(new AuditEntry(at, caller.OrganizationId, caller.Actor, action, resolved.PartnershipId, detail), ct);
        if (!await uow.DataRequests.ResolveAsync(resolved, reason, ct)) return new Failure.Conflict("The request was answered meanwhile; read it again.");
        var me = await uow.Accounts.GetOrganizationAsync(caller.OrganizationId, ct);
        await events.PublishAsync(uow, resolved.RequesterOrganizationId, action, DataRequestNotice.For(resolved, new PartnerOrganization(me!.Id, me.Slug, me.Name)), at, ct);
        var view = await PartnerViews.LoadAsync(uow, caller.OrganizationId, resolved.PartnershipId, ct);
        await uow.CommitAsync(ct);
        return Render(resolved, view!);
    }

    /// <summary>
    /// The request, for its owner to resolve: absent for anyone but its two sides (404); the requester cannot answer
    /// its own request (403); only an open request on an active partnership can be answered (409).
    /// </summary>
    private async Task<(DataRequest? Request, PartnerView? View, Failure? Failure)> OpenForOwnerAsync(IUnitOfWork uow, Caller caller, string requestId, CancellationToken ct)
    {
        var stored = await uow.DataRequests.GetAsync(caller.OrganizationId, requestId, ct);
        if (stored is null) return (null, null, new Failure.NotFound("data request"));
        DataRequest request;
        using (var reader = new SignalSeals.Reader(keyring)) request = await reader.OpenAsync(stored, ct);
        if (request.SideOf(caller.OrganizationId) != DataRequestSide.Owner)
            return (null, null, new Failure.Forbidden("Only the organization the request was made to answers it."));
        var view = await PartnerViews.LoadAsync(uow, caller.OrganizationId, request.PartnershipId, ct);
        if (view is null) return (null, null, new Failure.NotFound("data request"));
        if (view.Partnership.Status != PartnershipStatus.Active)
            return (null, null, new Failure.Conflict("The partnership is no longer active; its requests can no longer be answered."));
        if (request.Status != DataRequestStatus.Open)
            return (null, null, new Failure.Conflict($"The request is {Wire(request.Status)} already."));
        return (request, view, null);
    }

    private Task<PartnerView?> LoadViewAsync(Caller caller, string partnershipId, CancellationToken ct) =>
        views.LoadAsync(caller.OrganizationId, partnershipId, ct);

    /// <summary>One request as the viewer of <paramref name="view"/> (one of its two sides) may read it.</summary>
    private static DataRequestView Render(DataRequest request, PartnerView view)
    {
        if (request.SideOf(view.MyOrganizationId) == DataRequestSide.Requester)
        {
            var mine = view.MyPopulations.FirstOrDefault(p => p.Id == request.RequesterPopulationId);
            // Who answered is the partner's business; who asked, mine.
            return new DataRequestView(request with { ResolvedBy = null }, DataRequestSide.Requester, view.Partner, request.RequesterPopulationId, mine?.Name,
                request.OwnerPopulationId, DataRequestRules.VisibleToRequester(view, request)?.Name, DataRequestRules.CellLevelForRequester(view, request));
        }
        var own = view.MyPopulations.FirstOrDefault(p => p.Id == request.OwnerPopulationId);
        // The requester named its population by asking about it: the owner needs it to set its rule for the cell.
        return new DataRequestView(request with { CreatedBy = "" }, DataRequestSide.Owner, view.Partner,
            request.OwnerPopulationId, own?.Name, request.RequesterPopulationId, DataRequestRules.RequesterPopulationNameForOwner(view, request),
            view.Partnership.SharesData ? view.IShare(request.OwnerPopulationId, request.RequesterPopulationId).Level : null);
    }

    private static string Wire<T>(T value) where T : Enum => value.ToString().ToLowerInvariant();
}
