using System.Text;
using System.Text.Json;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>Builds upload bodies in the wire format (docs/api.md) from plain account descriptions.</summary>
public static class Records
{
    public sealed record Account(string RecordId, string? Domain = null, string? Name = null, string? Country = null, Dictionary<string, string>? Attributes = null);

    public static string DomainHash(string domain) => IdentifierHashes.Hash(IdentifierHashes.Domain, domain);

    public static string NameHash(string name, string? country) => IdentifierHashes.Hash(IdentifierHashes.Name, NameKeys.From(name, country).WithCountry.Key!);

    public static string Line(Account a)
    {
        var identifiers = new Dictionary<string, string[]>();
        if (a.Domain is not null) identifiers["domain"] = [DomainHash(a.Domain)];
        if (a.Name is not null) identifiers["name"] = [NameHash(a.Name, a.Country)];
        return JsonSerializer.Serialize(new { recordId = a.RecordId, identifiers, attributes = a.Attributes ?? new Dictionary<string, string>() });
    }

    public static string Ndjson(IEnumerable<Account> accounts) => string.Join('\n', accounts.Select(Line)) + "\n";

    /// <summary>N accounts with domains d{from}.example … d{from+n-1}.example and ids {prefix}-{i}.</summary>
    public static string Range(string prefix, int from, int count, string? attributeName = null) =>
        Ndjson(Enumerable.Range(from, count).Select(i => new Account($"{prefix}-{i:D5}", Domain: $"d{i}.example",
            Attributes: attributeName is null ? null : new Dictionary<string, string> { [attributeName] = $"{prefix} account {i}" })));

    public static string Csv(IEnumerable<Account> accounts, params string[] attributeNames)
    {
        var sb = new StringBuilder("recordId,domain,name");
        foreach (var n in attributeNames) sb.Append(",attr.").Append(n);
        sb.Append("\r\n");
        foreach (var a in accounts)
        {
            sb.Append(a.RecordId).Append(',').Append(a.Domain is null ? "" : DomainHash(a.Domain)).Append(',')
              .Append(a.Name is null ? "" : NameHash(a.Name, a.Country));
            foreach (var n in attributeNames) sb.Append(',').Append(Quote(a.Attributes?.GetValueOrDefault(n) ?? ""));
            sb.Append("\r\n");
        }
        return sb.ToString();
    }

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
