using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

public class PublicSuffixListTests
{
    [Theory]
    [InlineData("acme.com", "acme.com")]
    [InlineData("www.acme.com", "acme.com")]
    [InlineData("a.b.acme.co.uk", "acme.co.uk")]
    [InlineData("acme.example", "acme.example")] // no rule: the implicit "*"
    public void NormalRulesAndTheImplicitRule(string host, string expected) =>
        Assert.Equal(expected, PublicSuffixList.RegistrableDomain(host));

    [Theory]
    [InlineData("acme.b.ck", "acme.b.ck")] // *.ck: b.ck is a suffix
    [InlineData("www.acme.b.ck", "acme.b.ck")]
    [InlineData("acme.foo.kawasaki.jp", "acme.foo.kawasaki.jp")] // *.kawasaki.jp
    public void WildcardRulesMakeAnyLabelUnderThemASuffix(string host, string expected) =>
        Assert.Equal(expected, PublicSuffixList.RegistrableDomain(host));

    [Theory]
    [InlineData("www.ck", "www.ck")] // !www.ck beats *.ck
    [InlineData("city.kawasaki.jp", "city.kawasaki.jp")] // !city.kawasaki.jp beats *.kawasaki.jp
    [InlineData("www.city.kawasaki.jp", "city.kawasaki.jp")]
    public void ExceptionRulesBeatWildcards(string host, string expected) =>
        Assert.Equal(expected, PublicSuffixList.RegistrableDomain(host));

    [Fact]
    public void PrivateSectionSuffixesKeepSitesApart()
    {
        Assert.Equal("acme.github.io", PublicSuffixList.RegistrableDomain("docs.acme.github.io"));
        Assert.Equal("globex.github.io", PublicSuffixList.RegistrableDomain("globex.github.io"));
        Assert.Equal("acme.blogspot.com", PublicSuffixList.RegistrableDomain("acme.blogspot.com"));
    }

    [Theory]
    [InlineData("com")]
    [InlineData("co.uk")]
    [InlineData("b.ck")]
    [InlineData("foo.kawasaki.jp")]
    [InlineData("github.io")]
    [InlineData("xn--55qx5d.cn")] // 公司.cn, listed in Unicode
    public void APublicSuffixHasNoRegistrableDomain(string host) =>
        Assert.Null(PublicSuffixList.RegistrableDomain(host));

    [Fact]
    public void UnicodeRulesAreMatchedInALabelForm() =>
        Assert.Equal("acme.xn--55qx5d.cn", PublicSuffixList.RegistrableDomain("www.acme.xn--55qx5d.cn"));
}
