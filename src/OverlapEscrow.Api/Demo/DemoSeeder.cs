using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using OverlapEscrow.Api.Extensions;
using OverlapEscrow.Api.Infrastructure;
using OverlapEscrow.Api.Populations;
using OverlapEscrow.Api.Populations.Uploads;
using OverlapEscrow.Client.Hashing;
using OverlapEscrow.Data;
using OverlapEscrow.Data.Accounts;
using OverlapEscrow.Data.Partnerships;
using OverlapEscrow.Data.Populations;

namespace OverlapEscrow.Api.Demo;

/// <summary>
/// Loads two demo organizations (Northwind Analytics and Contoso Cloud) with generated populations, an active
/// partnership and sharing rules, so a first start shows a populated overlap matrix. The companies are made up
/// here from word lists; the hashes come from the client library, as a partner's would. Runs once: a second
/// start finds the organizations and leaves them alone.
/// </summary>
public sealed class DemoSeeder(
    IAccountRepository accounts,
    IPopulationRepository populations,
    IPartnershipRepository partnerships,
    OrganizationKeys keys,
    IPasswordHasher<PasswordSubject> hasher,
    UploadService uploads,
    NdjsonUploadParser ndjson,
    IOptions<EscrowOptions> options,
    TimeProvider time,
    ILogger<DemoSeeder> logger)
{
    public const string NorthwindSlug = "northwind";
    public const string ContosoSlug = "contoso";

    private static readonly string[] First = ["Blue", "Silver", "Northern", "Bright", "Quantum", "Red", "Green", "Granite", "Summit", "Harbor", "Cedar", "Atlas", "Pioneer", "Lumen", "Vertex", "Orbit", "Nimbus", "Polar", "Crimson", "Golden"];
    private static readonly string[] Second = ["Falcon", "River", "Peak", "Forge", "Signal", "Bridge", "Field", "Stone", "Wave", "Pixel", "Anchor", "Beacon", "Canyon", "Delta", "Ember", "Fjord", "Grove", "Horizon", "Isle", "Jet"];
    private static readonly string[] Third = ["Systems", "Labs", "Analytics", "Logistics", "Health", "Retail", "Energy", "Software", "Media", "Foods", "Robotics", "Finance"];
    private static readonly string[] Countries = ["US", "DE", "GB", "FR", "JP", "CA", "NL", "SE"];
    private static readonly string[] Stages = ["Discovery", "Evaluation", "Proposal", "Negotiation", "Closed Won"];
    private static readonly string[] Owners = ["ana", "bo", "cy", "dee", "eli"];

    public async Task SeedAsync(CancellationToken ct)
    {
        if (await accounts.FindOrganizationBySlugAsync(NorthwindSlug, ct) is not null) return;
        var universe = Companies(4000);
        var now = time.GetUtcNow();

        var northwind = await CreateOrganizationAsync("Northwind Analytics", NorthwindSlug, ct);
        var contoso = await CreateOrganizationAsync("Contoso Cloud", ContosoSlug, ct);

        var rng = new Random(7);
        var nwCustomers = await PopulationAsync(northwind, "Customers", "customers", Sample(universe, 0, 1600, rng), "NWC", ct);
        var nwProspects = await PopulationAsync(northwind, "Prospects", "prospects", Sample(universe, 1400, 2800, rng), "NWP", ct);
        var coCustomers = await PopulationAsync(contoso, "Customers", "customers", Sample(universe, 800, 2200, rng), "COC", ct);
        var coOpportunities = await PopulationAsync(contoso, "Open Opportunities", "opportunities", Sample(universe, 1500, 3000, rng), "COO", ct);

        var ms = Time.ToUnixMs(now);
        await partnerships.ReplaceDefaultRulesAsync(northwind, [
            Rule(northwind, nwCustomers, "overlaps", ["accountName", "owner", "stage"], ms),
            Rule(northwind, nwProspects, "counts", [], ms)], ct);
        await partnerships.ReplaceDefaultRulesAsync(contoso, [
            Rule(contoso, coCustomers, "overlaps", ["accountName", "owner"], ms),
            Rule(contoso, coOpportunities, "overlaps", ["accountName", "stage", "amount"], ms)], ct);

        var partnershipId = Ids.New("ptn");
        await partnerships.CreateAsync(new PartnershipRow
        {
            Id = partnershipId, InviterOrganizationId = northwind, InviteeOrganizationId = contoso, Status = "invited", CreatedAt = ms,
        }, ct);
        await partnerships.TransitionAsync(partnershipId, "invited", "active", ms, ct);
        logger.LogInformation("Demo loaded: log in as admin@{Northwind}.example or admin@{Contoso}.example (password in Escrow:Demo:Password)",
            NorthwindSlug, ContosoSlug);
    }

    private async Task<string> CreateOrganizationAsync(string name, string slug, CancellationToken ct)
    {
        var now = Time.ToUnixMs(time.GetUtcNow());
        var id = Ids.New("org");
        var organization = new OrganizationRow { Id = id, Slug = slug, Name = name, WrappedKey = keys.NewWrappedKey(id), CreatedAt = now };
        var admin = new MemberRow
        {
            Id = Ids.New("mem"), OrganizationId = id, Email = $"admin@{slug}.example", DisplayName = $"{name} admin",
            PasswordHash = hasher.HashPassword(PasswordSubject.Instance, options.Value.Demo.Password), Role = Roles.Admin, CreatedAt = now,
        };
        await accounts.CreateOrganizationAsync(organization, admin, ct);
        return id;
    }

    private async Task<string> PopulationAsync(string organizationId, string name, string type, IEnumerable<Company> companies, string idPrefix, CancellationToken ct)
    {
        var id = Ids.New("pop");
        await populations.CreateAsync(new PopulationRow { Id = id, OrganizationId = organizationId, Name = name, Type = type, CreatedAt = Time.ToUnixMs(time.GetUtcNow()) }, ct);
        var body = new StringBuilder();
        var n = 0;
        var rng = new Random(idPrefix.Sum(c => c)); // stable across runs, unlike string.GetHashCode
        foreach (var c in companies)
        {
            var identifiers = AccountKeys.From(c.Domain, null, c.Name, c.Country).Hashes();
            var attributes = new Dictionary<string, string>
            {
                ["accountName"] = c.Name,
                ["owner"] = Owners[rng.Next(Owners.Length)] + "@" + organizationId[4..10] + ".example",
                ["stage"] = Stages[rng.Next(Stages.Length)],
                ["amount"] = (rng.Next(5, 500) * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            body.AppendLine(JsonSerializer.Serialize(new { recordId = $"{idPrefix}-{++n:D6}", identifiers, attributes }));
        }
        var population = await populations.GetAsync(organizationId, id, ct);
        await using var stream = new MemoryStream(Encoding.UTF8.GetBytes(body.ToString()));
        await uploads.UploadAsync(new UploadRequest(organizationId, "system:demo", population!, UploadMode.Snapshot, ErrorPolicy.Reject, ndjson, stream, false, null), ct);
        return id;
    }

    private static SharingRuleRow Rule(string organizationId, string populationId, string level, string[] fields, long now) => new()
    {
        OrganizationId = organizationId, PopulationId = populationId, Level = level, Fields = JsonSerializer.Serialize(fields), UpdatedAt = now,
    };

    private sealed record Company(string Name, string Domain, string Country);

    private static List<Company> Companies(int count)
    {
        var list = new List<Company>(count);
        var rng = new Random(42);
        var seen = new HashSet<string>();
        while (list.Count < count)
        {
            var words = new[] { First[rng.Next(First.Length)], Second[rng.Next(Second.Length)], Third[rng.Next(Third.Length)] };
            var name = string.Join(' ', words);
            var suffix = rng.Next(4) == 0 ? " " + rng.Next(2, 99) : "";
            var fullName = name + suffix;
            if (!seen.Add(fullName)) continue;
            var domain = fullName.Replace(" ", "").ToLowerInvariant() + (rng.Next(3) == 0 ? ".io" : ".com");
            list.Add(new Company(fullName, domain, Countries[rng.Next(Countries.Length)]));
        }
        return list;
    }

    private static IEnumerable<Company> Sample(List<Company> universe, int from, int to, Random rng) =>
        universe.Skip(from).Take(to - from).Where(_ => rng.Next(10) < 8);
}
