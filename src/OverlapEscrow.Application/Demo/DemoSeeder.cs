using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text;
using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Accounts;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Application.Uploads;
using OverlapEscrow.Domain.Matching;
using OverlapEscrow.Domain.Populations;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Application.Demo;

/// <summary>
/// Loads two demo organizations (Northwind Analytics and Contoso Cloud) with generated populations, an active
/// partnership and sharing rules, so a first start shows a populated overlap matrix. The companies are made up
/// here from word lists, and their identifier hashes are computed here as the hashing specification (docs/hashing.md,
/// v1) gives them for such simple names and domains — a test checks them against the partner client library. Runs
/// once: a second start finds the organizations and leaves them alone.
/// </summary>
public sealed class DemoSeeder(
    Accounts.Accounts accounts,
    IAccountRepository accountStore,
    Populations.PopulationCatalog populations,
    UploadPopulation uploads,
    NdjsonUploadParser ndjson,
    Sharing.SharingChanges sharing,
    Partnerships.PartnershipLifecycle partnerships,
    Overlaps.OverlapRefresher refresher,
    Signals.DataRequests dataRequests,
    Signals.Attributions attributions,
    Privacy.PrivacyBudgets privacy,
    TimeProvider time,
    ILogger<DemoSeeder> logger)
{
    public const string NorthwindSlug = "northwind";
    public const string ContosoSlug = "contoso";
    public const string FabrikamSlug = "fabrikam";

    private static readonly string[] First = ["Blue", "Silver", "Northern", "Bright", "Quantum", "Red", "Green", "Granite", "Summit", "Harbor", "Cedar", "Atlas", "Pioneer", "Lumen", "Vertex", "Orbit", "Nimbus", "Polar", "Crimson", "Golden"];
    private static readonly string[] Second = ["Falcon", "River", "Peak", "Forge", "Signal", "Bridge", "Field", "Stone", "Wave", "Pixel", "Anchor", "Beacon", "Canyon", "Delta", "Ember", "Fjord", "Grove", "Horizon", "Isle", "Jet"];
    private static readonly string[] Third = ["Systems", "Labs", "Analytics", "Logistics", "Health", "Retail", "Energy", "Software", "Media", "Foods", "Robotics", "Finance"];
    private static readonly string[] Countries = ["US", "DE", "GB", "FR", "JP", "CA", "NL", "SE"];
    private static readonly string[] Stages = ["Discovery", "Evaluation", "Proposal", "Negotiation", "Closed Won"];
    private static readonly string[] Owners = ["ana", "bo", "cy", "dee", "eli"];

    public async Task SeedAsync(string password, CancellationToken ct)
    {
        if (await accountStore.FindOrganizationBySlugAsync(NorthwindSlug, ct) is not null) return;
        var universe = Universe;

        var northwind = await CreateOrganizationAsync("Northwind Analytics", NorthwindSlug, password, ct);
        var contoso = await CreateOrganizationAsync("Contoso Cloud", ContosoSlug, password, ct);
        var fabrikam = await CreateOrganizationAsync("Fabrikam Retail", FabrikamSlug, password, ct);

        var rng = new Random(7);
        var nwCustomers = await PopulationAsync(northwind, "Customers", "customers", Sample(universe, 0, 1600, rng), "NWC", ct);
        var nwProspects = await PopulationAsync(northwind, "Prospects", "prospects", Sample(universe, 1400, 2800, rng), "NWP", ct);
        var coCustomers = await PopulationAsync(contoso, "Customers", "customers", Sample(universe, 800, 2200, rng), "COC", ct);
        var coOpportunities = await PopulationAsync(contoso, "Open Opportunities", "opportunities", Sample(universe, 1500, 3000, rng), "COO", ct);
        // Northwind's own pipeline, for the health pages (docs/health.md); hidden from partners like any new population.
        var nwPipeline = await PopulationAsync(northwind, "Pipeline", "opportunities", Sample(universe, 1000, 2600, rng), "NWO", ct, OpportunityFields);

        // Through the same use cases as the API, so the demo's rules and partnership are audited and refreshed like any.
        await ShareAsync(northwind, nwCustomers, "overlaps", ["accountName", "owner", "stage"], ct);
        await ShareAsync(northwind, nwProspects, "counts", [], ct);
        await ShareAsync(contoso, coCustomers, "overlaps", ["accountName", "owner"], ct);
        await ShareAsync(contoso, coOpportunities, "overlaps", ["accountName", "stage", "amount"], ct);
        await FabrikamAsync(northwind, fabrikam, universe, ct);
        var invited = await partnerships.InviteAsync(Demo(northwind), ContosoSlug, ct);
        var partnershipId = invited.Value!.Partnership.Id;
        await partnerships.AnswerAsync(Demo(contoso), partnershipId, accept: true, ct);
        await SignalsAsync(northwind, contoso, partnershipId, nwPipeline, nwProspects, coCustomers, coOpportunities, ct);
        logger.LogInformation("Demo loaded: log in as admin@{Northwind}.example or admin@{Contoso}.example (password in Escrow:Demo:Password)",
            NorthwindSlug, ContosoSlug);
    }

    private static Caller Demo(string organizationId) => new(organizationId, "system:demo");

    /// <summary>
    /// A partner that shares its customers with Northwind at the counts level only, so the health pages show figures
    /// released through the private-counts mechanism, with their margins (docs/health.md): Fabrikam's Customers overlap
    /// much of Northwind's pipeline. Fabrikam chooses sharper releases for Northwind than the default (ε 0.1 per release,
    /// 2 per period: the owner's lever, docs/privacy.md), so the demo's released figures are readable. Partnered before
    /// Contoso, so Contoso's partnership stays the newest (the first listed).
    /// </summary>
    private async Task FabrikamAsync(string northwind, string fabrikam, List<Company> universe, CancellationToken ct)
    {
        var customers = await PopulationAsync(fabrikam, "Customers", "customers", Sample(universe, 600, 2400, new Random(11)), "FBC", ct);
        await ShareAsync(fabrikam, customers, "counts", [], ct);
        var invited = Check(await partnerships.InviteAsync(Demo(northwind), FabrikamSlug, ct));
        Check(await partnerships.AnswerAsync(Demo(fabrikam), invited.Partnership.Id, accept: true, ct));
        Check(await privacy.SetAsync(Demo(fabrikam), invited.Partnership.Id, new Domain.Privacy.PrivacySettingsInput(2.0m, 0.1m, null, null, null), ct));
    }

    /// <summary>
    /// Data requests and attribution claims, so their pages show something (docs/health.md): Contoso asks for more on
    /// Northwind's counts-only Prospects twice, and Northwind declines one; Northwind claims three of its open pipeline
    /// opportunities that Contoso had as customers or opportunities while they were open, and Contoso confirms one and
    /// disputes another. Every step goes through its use case and is checked like the rest of the seeding.
    /// </summary>
    private async Task SignalsAsync(string northwind, string contoso, string partnershipId, string nwPipeline, string nwProspects, string coCustomers,
        string coOpportunities, CancellationToken ct)
    {
        var asked = Check(await dataRequests.CreateAsync(Demo(contoso), partnershipId,
            new Signals.DataRequestInput(coOpportunities, nwProspects, "Could you share which of our open opportunities are your prospects? We would like to plan joint outreach."), ct));
        Check(await dataRequests.CreateAsync(Demo(contoso), partnershipId,
            new Signals.DataRequestInput(coCustomers, nwProspects, "Which of our customers are you prospecting? We can make introductions."), ct));
        Check(await dataRequests.DeclineAsync(Demo(northwind), asked.Request.Id, "Our prospect list stays counts-only until the quarter closes.", ct));

        // The evidence is Northwind's history of its pipeline's cells: recorded now, not when the background loop gets to it.
        await refresher.RefreshNowAsync(northwind, partnershipId, ct);
        var recorded = time.GetUtcNow();
        for (var i = 0; i < 100 && time.GetUtcNow() <= recorded; i++) await Task.Delay(5, ct); // a span needs its end after its start
        var evaluation = Check(await attributions.EvaluateAsync(Demo(northwind), nwPipeline, ct));
        var withEvidence = evaluation.Where(o => o.Opportunity.Open && o.Partners.Any(p => p.PartnershipId == partnershipId && p.Evidence.Count > 0))
            .Select(o => o.Opportunity.RecordId).Take(3).ToList();
        if (withEvidence.Count < 3)
            throw new InvalidOperationException($"The demo pipeline has {withEvidence.Count} open opportunities with time-correct evidence; 3 were expected.");
        string[] roles = ["sourced", "influenced", "influenced"];
        string?[] notes = ["Their AE introduced us to the buyer.", "Joint workshop in the evaluation stage.", null];
        var claims = new List<string>();
        for (var i = 0; i < withEvidence.Count; i++)
            claims.Add(Check(await attributions.ClaimAsync(Demo(northwind),
                new Signals.AttributionInput(nwPipeline, withEvidence[i], partnershipId, roles[i], notes[i]), ct)).Claim.Id);
        Check(await attributions.RespondAsync(Demo(contoso), claims[0], confirm: true, "Confirmed by our account team.", ct));
        Check(await attributions.RespondAsync(Demo(contoso), claims[1], confirm: false, "We were not involved in this deal.", ct));
    }

    private static T Check<T>(Outcome<T> outcome) =>
        outcome.Failure is { } failure ? throw new InvalidOperationException("A demo step was refused: " + failure.Detail) : outcome.Value!;

    private async Task ShareAsync(string organizationId, string populationId, string level, string[] fields, CancellationToken ct)
    {
        var shared = await sharing.SetDefaultAsync(Demo(organizationId), populationId, new Domain.Disclosure.SharingSettingInput(level, fields, null), ct);
        if (shared.Failure is { } failure) throw new InvalidOperationException("The demo sharing rule was refused: " + failure.Detail);
    }

    private async Task<string> CreateOrganizationAsync(string name, string slug, string password, CancellationToken ct)
    {
        var created = await accounts.SignupAsync(new SignupInput(name, slug, $"admin@{slug}.example", password, $"{name} admin"), ct);
        return created.Value?.Organization.Id ?? throw new InvalidOperationException("The demo organization could not be created: " + created.Failure!.Detail);
    }

    /// <summary>
    /// The documented opportunity fields of a demo opportunity: a third open, the rest closed in the last two years with
    /// a win rate that is higher on accounts the partner also has (the demo's story), amounts in USD.
    /// </summary>
    private static void OpportunityFields(Random rng, Company company, Dictionary<string, string> attributes)
    {
        var created = new DateOnly(2025, 1, 1).AddDays(rng.Next(0, 640));
        var closed = rng.Next(3) != 0;
        var shared = Universe.Skip(800).Take(1400).Any(c => c.Name == company.Name);
        attributes["amount"] = (rng.Next(5, 200) * 500).ToString(CultureInfo.InvariantCulture);
        attributes["currency"] = "USD";
        attributes["created_date"] = created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        attributes["closed"] = closed ? "true" : "false";
        var closeDate = created.AddDays(rng.Next(20, shared ? 90 : 140));
        attributes["close_date"] = closeDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        attributes["won"] = closed && rng.Next(100) < (shared ? 45 : 30) ? "true" : "false";
        attributes["stage"] = closed ? (attributes["won"] == "true" ? "Closed Won" : "Closed Lost") : Stages[rng.Next(Stages.Length - 1)];
    }

    private static readonly List<Company> Universe = Companies(4000);

    private async Task<string> PopulationAsync(string organizationId, string name, string type, IEnumerable<Company> companies, string idPrefix, CancellationToken ct,
        Action<Random, Company, Dictionary<string, string>>? more = null)
    {
        var caller = Demo(organizationId);
        var population = (await populations.CreateAsync(caller, new Populations.PopulationInput(name, type), ct)).Value!;
        var body = new StringBuilder();
        var n = 0;
        var rng = new Random(idPrefix.Sum(c => c)); // stable across runs, unlike string.GetHashCode
        foreach (var c in companies)
        {
            var attributes = new Dictionary<string, string>
            {
                ["accountName"] = c.Name,
                ["owner"] = Owners[rng.Next(Owners.Length)] + "@" + organizationId[4..10] + ".example",
                ["stage"] = Stages[rng.Next(Stages.Length)],
                ["amount"] = (rng.Next(5, 500) * 1000).ToString(CultureInfo.InvariantCulture),
            };
            more?.Invoke(rng, c, attributes);
            body.AppendLine(JsonSerializer.Serialize(new { recordId = $"{idPrefix}-{++n:D6}", identifiers = Identifiers(c.Name, c.Domain, c.Country), attributes }));
        }
        await using var stream = new MemoryStream(Encoding.UTF8.GetBytes(body.ToString()));
        await uploads.UploadAsync(new UploadRequest(caller, population, VersionKind.Snapshot, ErrorPolicy.Reject, ndjson, stream, false, null,
            HashingSpec: HashingSpecs.Current), ct); // v1 keys that a v2 client derives alike (DemoTests)
        return population.Id;
    }

    /// <summary>
    /// The identifier hashes of a demo company (docs/hashing.md, v1): lower-case hex SHA-256 of "oe:v1:&lt;type&gt;:&lt;key&gt;".
    /// The demo's domains are already registrable domains in lower case, and its names are words of ASCII letters and
    /// digits with no legal form, so their keys are the lower-case words joined, with "|" and the country code.
    /// </summary>
    public static Dictionary<string, string[]> Identifiers(string name, string domain, string country)
    {
        var bare = NameKey(name);
        return new Dictionary<string, string[]>
        {
            ["domain"] = [Hash("domain", domain)],
            ["domain_label"] = [Hash("domain_label", domain[..domain.IndexOf('.')])],
            ["name"] = [Hash("name", bare + "|" + country)],
            ["name_only"] = [Hash("name_only", bare)],
        };
    }

    /// <summary>The version 1 key of a demo company's name: its words in lower case, joined.</summary>
    public static string NameKey(string name) => string.Concat(name.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();

    private static string Hash(string type, string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"oe:v1:{type}:{key}")));

    public sealed record Company(string Name, string Domain, string Country);

    public static List<Company> Companies(int count)
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
