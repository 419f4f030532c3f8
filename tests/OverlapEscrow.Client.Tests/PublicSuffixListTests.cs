using System.Globalization;
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

    /// <summary>Hosts under every rule of the list: a name and a subdomain before each normal and exception rule, one more label before a wildcard rule.</summary>
    private static IEnumerable<string> HostsUnderEveryRule()
    {
        var idn = new IdnMapping { UseStd3AsciiRules = false, AllowUnassigned = true };
        foreach (var raw in SpecData.Lines("public_suffix_list.dat"))
        {
            if (raw.StartsWith("//", StringComparison.Ordinal)) continue;
            var rule = raw.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant().TrimStart('!');
            var wildcard = rule.StartsWith("*.", StringComparison.Ordinal);
            var tail = string.Join('.', (wildcard ? rule[2..] : rule).Split('.').Select(l => l.All(char.IsAscii) ? l : idn.GetAscii(l)));
            yield return tail;
            yield return "acme." + tail;
            yield return "www.acme." + (wildcard ? "x." : "") + tail;
        }
    }

    [Fact]
    public void TheRegistrableDomainOfEveryHostUnderTheListIsWhatJoiningItsLabelsGives()
    {
        // The lookup reads each candidate suffix as a tail of the host; this is the algorithm written with joined labels.
        var rules = SpecData.Lines("public_suffix_list.dat").Where(l => !l.StartsWith("//", StringComparison.Ordinal))
            .Select(l => l.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0].ToLowerInvariant()).ToList();
        var idn = new IdnMapping { UseStd3AsciiRules = false, AllowUnassigned = true };
        string Ascii(string r) => string.Join('.', r.Split('.').Select(l => l.All(char.IsAscii) ? l : idn.GetAscii(l)));
        var exceptions = rules.Where(r => r.StartsWith('!')).Select(r => Ascii(r[1..])).ToHashSet();
        var wildcards = rules.Where(r => r.StartsWith("*.", StringComparison.Ordinal)).Select(r => Ascii(r[2..])).ToHashSet();
        var normal = rules.Where(r => !r.StartsWith('!') && !r.StartsWith("*.", StringComparison.Ordinal)).Select(Ascii).ToHashSet();
        string? Joined(string host)
        {
            var labels = host.Split('.');
            var suffixLength = 1;
            for (var i = 0; i < labels.Length; i++)
            {
                var candidate = string.Join('.', labels[i..]);
                if (exceptions.Contains(candidate)) return labels.Length - i - 1 < 1 ? null : candidate;
                if (normal.Contains(candidate)) suffixLength = Math.Max(suffixLength, labels.Length - i);
                else if (i + 1 < labels.Length && wildcards.Contains(string.Join('.', labels[(i + 1)..]))) suffixLength = Math.Max(suffixLength, labels.Length - i);
            }
            return labels.Length <= suffixLength ? null : string.Join('.', labels[^(suffixLength + 1)..]);
        }
        var hosts = HostsUnderEveryRule().ToList();
        Assert.True(hosts.Count > 20_000);
        foreach (var host in hosts) Assert.Equal(Joined(host), PublicSuffixList.RegistrableDomain(host));
    }

    [Theory]
    [InlineData("acme.com", true)]
    [InlineData("a-b.c0.example", true)]
    [InlineData("xn--bcher-kva.de", false)]    // an A-label: ToASCII decodes and validates it
    [InlineData("ab--c.com", false)]           // "--" in positions 3-4
    [InlineData("-acme.com", false)]
    [InlineData("acme-.com", false)]
    [InlineData("acme..com", false)]
    [InlineData("acme_co.com", false)]
    [InlineData("bücher.de", false)]
    public void APlainAsciiHostIsOneThatIdnaLeavesAsItIs(string host, bool plain) =>
        Assert.Equal(plain, DomainKeys.IsPlainAsciiHost(host));

    [Fact]
    public void EveryPlainAsciiHostUnderTheListIsWhatUts46ToAsciiGivesForIt()
    {
        // The client skips ICU for these hosts; ICU must return each unchanged (the same settings as DomainKeys).
        var idn = new IdnMapping { UseStd3AsciiRules = true, AllowUnassigned = false };
        var plain = HostsUnderEveryRule().Concat(["a.b", "1a.2b", new string('a', 63) + ".com", string.Join('.', Enumerable.Repeat(new string('b', 49), 5)) + ".co"])
            .Where(DomainKeys.IsPlainAsciiHost).ToList();
        Assert.True(plain.Count > 20_000);
        foreach (var host in plain) Assert.Equal(host, idn.GetAscii(host));
    }
}
