using OverlapEscrow.Application.Demo;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Api.Tests;

/// <summary>The demo computes its companies' hashes itself (the host no longer uses the partner client): they must be the specification's.</summary>
public class DemoTests
{
    [Fact]
    public void TheDemoHashesEveryCompanyAsThePartnerClientDoes()
    {
        foreach (var company in DemoSeeder.Companies(4000))
        {
            var expected = AccountKeys.From(company.Domain, null, company.Name, company.Country).Hashes();
            var actual = DemoSeeder.Identifiers(company.Name, company.Domain, company.Country);
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (type, hashes) in expected) Assert.Equal(hashes, actual[type]);
        }
    }
}
