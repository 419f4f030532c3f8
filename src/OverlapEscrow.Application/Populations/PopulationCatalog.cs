using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Populations;

namespace OverlapEscrow.Application.Populations;

public sealed record PopulationInput(string? Name, string? Type);

/// <summary>An organization's own populations (hidden from every partner until shared).</summary>
public sealed class PopulationCatalog(IPopulationRepository populations, ITransactions transactions, TimeProvider time)
{
    public const int MaxNameLength = 100;

    public async Task<Outcome<PopulationSummary>> CreateAsync(Caller caller, PopulationInput input, CancellationToken ct)
    {
        var errors = new FieldErrors()
            .Check(!string.IsNullOrWhiteSpace(input.Name) && input.Name.Trim().Length <= MaxNameLength && !input.Name.Any(char.IsControl),
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
}
