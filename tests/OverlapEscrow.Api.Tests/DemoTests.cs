using OverlapEscrow.Application.Demo;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Api.Tests;

/// <summary>
/// The demo computes its companies' hashes itself (the host no longer uses the partner client), as a partner on
/// hashing specification v1 would upload them. Version 2 keeps every version 1 key of a name among its keys, so each
/// of the demo's keys must be one the partner client (v2) also derives for the same company: the demo's accounts
/// match a partner's upload of the same companies. (A name v2 calls generic is sent under name_generic, which v1 does
/// not know: there the key text must agree.)
/// </summary>
public class DemoTests
{
    [Fact]
    public void EveryDemoKeyIsOneThePartnerClientDerivesForTheSameCompany()
    {
        var generic = 0;
        foreach (var company in DemoSeeder.Companies(4000))
        {
            var client = AccountKeys.From(company.Domain, null, company.Name, company.Country).Hashes();
            var demo = DemoSeeder.Identifiers(company.Name, company.Domain, company.Country);
            Assert.Equal(client["domain"], demo["domain"]);
            Assert.Equal(client["domain_label"], demo["domain_label"]);
            Assert.Contains(Assert.Single(demo["name_only"]), client["name_only"]);
            var key = DemoSeeder.NameKey(company.Name) + "|" + company.Country;
            if (client.TryGetValue("name_generic", out var generics) && !client.ContainsKey("name"))
            {
                generic++;
                Assert.Contains(IdentifierHashes.Hash("name_generic", key), generics);
            }
            else Assert.True(client["name"].Contains(Assert.Single(demo["name"])), $"{company.Name} | {company.Country}: name");
        }
        Assert.InRange(generic, 1, 3999);
    }
}
