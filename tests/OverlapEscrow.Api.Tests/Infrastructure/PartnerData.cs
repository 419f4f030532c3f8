using System.Text.Json.Nodes;
using CsvHelper;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>The two partners' CRM exports in tests/data/partners, hashed the way a partner's client would.</summary>
public static class PartnerData
{
    public static string Directory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "data", "partners");
                if (File.Exists(Path.Combine(candidate, "truth.json"))) return candidate;
            }
            throw new DirectoryNotFoundException("tests/data/partners not found above the test binaries.");
        }
    }

    public sealed record Row(string Id, string Name, string Website, string Email, string Country, string Owner, string Stage);

    public static List<Row> Read(string partner, string population)
    {
        using var reader = CsvReader.Create(File.OpenRead(Path.Combine(Directory, partner, population + ".csv")), new CsvReaderOptions { HasHeader = true }, false);
        var rows = new List<Row>();
        while (reader.Read())
            rows.Add(new Row(reader.GetString("Account ID"), reader.GetString("Account Name"), reader.GetString("Website"),
                reader.GetString("Primary Contact Email"), reader.GetString("Billing Country"), reader.GetString("Owner"), reader.GetString("Stage")));
        return rows;
    }

    /// <summary>The upload body for a partner population, hashed per docs/hashing.md, with three attributes.</summary>
    public static string Ndjson(string partner, string population)
    {
        var lines = new List<string>();
        foreach (var r in Read(partner, population))
        {
            var keys = AccountKeys.From(r.Website, r.Email, r.Name, r.Country);
            if (keys.IsEmpty) continue;
            lines.Add(System.Text.Json.JsonSerializer.Serialize(new
            {
                recordId = r.Id, identifiers = keys.Hashes(),
                attributes = new Dictionary<string, string> { ["accountName"] = r.Name.Trim(), ["owner"] = r.Owner, ["stage"] = r.Stage },
            }));
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>truth.json: alpha record ids that truly overlap the beta population, per pair.</summary>
    public static HashSet<string> TrueAlphaOverlaps(string alphaPopulation, string betaPopulation)
    {
        var truth = JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, "truth.json")))!;
        var pair = truth["pairs"]![$"alpha/{alphaPopulation}~beta/{betaPopulation}"]!;
        return pair["alpha_records"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
    }
}
