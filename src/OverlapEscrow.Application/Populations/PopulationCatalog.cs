using System.Text.Json;
using OverlapEscrow.Application.Overlaps;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Populations;

public sealed record PopulationInput(string? Name, string? Type);

/// <summary>
/// An upload of a population as its audit event tells it: committed (with its version, rows applied and rejected) or
/// refused (with its status, title and first row errors). <see cref="Actor"/> is the member's email where known.
/// </summary>
public sealed record UploadRecord(DateTimeOffset At, string Actor, bool Committed, string? VersionId, string Mode, long Rows, long Applied, long Rejected,
    int? Status, string? Title, string? Reason, IReadOnlyList<RowError> Errors);

/// <summary>An organization's own populations (hidden from every partner until shared).</summary>
public sealed class PopulationCatalog(IPopulationRepository populations, ITransactions transactions, TimeProvider time,
    IAuditRepository audit, IAccountRepository accounts, Accounts.MemberIdentities identities, PopulationDataCache data)
{
    public const int MaxRecentUploads = 50;


    public const int MaxNameLength = 100;

    public async Task<Outcome<PopulationSummary>> CreateAsync(Caller caller, PopulationInput input, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(input.Name) && input.Name.Trim().Length <= MaxNameLength && PlainText.IsPlain(input.Name),
                "name", $"name is 1-{MaxNameLength} printable characters.")
            .Check(input.Type is not null && PopulationTypes.All.Contains(input.Type), "type", $"type is one of {string.Join(", ", PopulationTypes.All)}.");
        if (errors.Any) return new Failure.Invalid(errors.All);
        var now = time.GetUtcNow();
        var population = new PopulationSummary(Ids.New("pop"), caller.OrganizationId, input.Name!.Trim(), input.Type!, now, null, 0, null);
        await using var uow = await transactions.BeginAsync(ct);
        if (!await uow.Populations.CreateAsync(population, ct)) return new Failure.Conflict("You already have a population with this name.");
        await uow.Audit.AppendAsync(new AuditEntry(now, caller.OrganizationId, caller.Actor, "population.created", null, new { populationId = population.Id }), ct);
        await uow.CommitAsync(ct);
        return population;
    }

    public Task<IReadOnlyList<PopulationSummary>> ListAsync(Caller caller, CancellationToken ct) => populations.ListAsync(caller.OrganizationId, ct);

    public async Task<Outcome<PopulationSummary>> GetAsync(Caller caller, string populationId, CancellationToken ct) =>
        await populations.GetAsync(caller.OrganizationId, populationId, ct) is { } p ? p : new Failure.NotFound("population");

    /// <summary>The population's latest uploads, committed and refused, newest first, from the audit log.</summary>
    public async Task<Outcome<IReadOnlyList<UploadRecord>>> RecentUploadsAsync(Caller caller, string populationId, int limit, CancellationToken ct)
    {
        if (limit is < 1 or > MaxRecentUploads) return Failure.Invalid.Of("limit", $"limit is between 1 and {MaxRecentUploads}.");
        if (await populations.GetAsync(caller.OrganizationId, populationId, ct) is null) return new Failure.NotFound("population");
        var events = await audit.ListLatestForPopulationAsync(caller.OrganizationId, ["population.uploaded", "population.upload_refused"], populationId, limit, ct);
        var members = (await identities.OpenAllAsync(caller.OrganizationId, await accounts.ListMembersAsync(caller.OrganizationId, ct), ct))
            .ToDictionary(m => "member:" + m.Id, m => m.Email);
        return events.Select(e => Record(e, members)).ToList();
    }

    /// <summary>
    /// The attribute names the population's current version carries (what its sharing rules can name as fields), by
    /// name; none before the first upload. Stored with the version's columns, cached with it.
    /// </summary>
    public async Task<Outcome<IReadOnlyList<string>>> AttributeNamesAsync(Caller caller, string populationId, CancellationToken ct)
    {
        var population = await populations.GetAsync(caller.OrganizationId, populationId, ct);
        if (population is null) return new Failure.NotFound("population");
        if (population.CurrentVersionId is null) return Array.Empty<string>();
        PopulationData version;
        try
        {
            version = await data.GetAsync(caller.OrganizationId, populationId, population.CurrentVersionId, ct);
        }
        catch (VersionGoneException)
        {
            // Superseded between the two reads: the newer version's names.
            population = await populations.GetAsync(caller.OrganizationId, populationId, ct);
            if (population?.CurrentVersionId is null) return Array.Empty<string>();
            version = await data.GetAsync(caller.OrganizationId, populationId, population.CurrentVersionId, ct);
        }
        // Kept with the version's columns: no record is read for them.
        return version.AttributeNames.ToList();
    }

    private static UploadRecord Record(AuditEvent e, IReadOnlyDictionary<string, string> members)
    {
        var d = e.Detail;
        string? Text(string name) => d.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        long Number(string name) => d.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        var errors = new List<RowError>();
        if (d.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var item in list.EnumerateArray())
                errors.Add(new RowError(item.TryGetProperty("row", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetInt64() : 0,
                    item.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null,
                    item.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : ""));
        var committed = e.Action == "population.uploaded";
        return new UploadRecord(e.At, members.GetValueOrDefault(e.Actor) ?? e.Actor, committed, Text("versionId"), Text("mode") ?? "snapshot",
            Number("rows"), Number("applied"), Number("rejected"), committed ? null : (int)Number("status"), Text("title"), Text("reason"), errors);
    }
}
