using System.Text.RegularExpressions;
using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

/// <summary>
/// DomainKeys strips a URL's scheme and a host's port and recognizes IPv4 hosts with loops rather than the regular
/// expressions of the specification (docs/hashing.md, "Domain"), which a Regex instance shared by the hashing threads made
/// costly on several cores. The loops must give what the expressions give, which are the oracle here, on every input,
/// tricky ones (a final line feed, where "$" also matches) included.
/// </summary>
public class HostPatternTests
{
    private static readonly Regex Scheme = new("^[A-Za-z][A-Za-z0-9+.-]*://");
    private static readonly Regex Port = new(":[0-9]*$");
    private static readonly Regex Ipv4 = new(@"^[0-9]+(\.[0-9]+){3}$");

    public static TheoryData<string> Tricky =>
    [
        "", ":", "://", "a://", "A://b", "1a://b", "a1+.-://b", "a_b://c", "http:/x", "http//x", "https://acme.com:8080",
        "mailto:x", "a:b://c", "acme.com", "acme.com:", "acme.com:80", "acme.com:80\n", "acme.com:\n", "acme.com:80\n\n",
        "acme.com:8a", "a:1:2", "a:1:b", ":80", "[::1]:80", "acme.com:٣", "1.2.3.4", "1.2.3.4\n", "1.2.3.4\n\n", "1.2.3",
        "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.", "01.002.0003.00004", "1.2.3.a", "١.٢.٣.٤", "1.2.3.4 ", "\n1.2.3.4",
        "ftp+ssh.x-y://host", "é://x", "h\u0301ttp://x",
    ];

    [Theory]
    [MemberData(nameof(Tricky))]
    public void TheLoopsGiveWhatTheSpecificationsExpressionsGiveOnTrickyInput(string text) => AssertAgrees(text);

    [Fact]
    public void TheLoopsGiveWhatTheSpecificationsExpressionsGiveOnRandomText()
    {
        // Short texts of pieces the expressions treat specially, so that matches and near misses are common.
        string[] pieces = ["1", "23", "0", ".", ".", ":", "://", ":/", "a", "Zx", "http", "+", "-", "_", "/", "\n", "@", "é", "٣", " "];
        var random = new Random(20261202);
        var ipv4Matches = 0;
        var portMatches = 0;
        var schemeMatches = 0;
        for (var n = 0; n < 200_000; n++)
        {
            var text = "";
            if (n % 4 == 0)
            {
                // Dotted numbers, mostly four of them, sometimes with another part or ending.
                string[] parts = ["1", "23", "0", "007", "", "a", "٣"];
                string[] endings = ["", "", "\n", "\n\n", " ", ".", ":80"];
                var count = random.Next(2, 7) is var c && c > 4 ? 4 : c + 1;
                text = string.Join('.', Enumerable.Range(0, count).Select(_ => parts[random.Next(random.Next(2) == 0 ? 3 : parts.Length)]))
                    + endings[random.Next(endings.Length)];
            }
            else
                for (var i = random.Next(0, 9); i > 0; i--) text += pieces[random.Next(pieces.Length)];
            AssertAgrees(text);
            if (Ipv4.IsMatch(text)) ipv4Matches++;
            if (Port.IsMatch(text)) portMatches++;
            if (Scheme.IsMatch(text)) schemeMatches++;
        }
        // The random texts did try both sides of each expression.
        Assert.True(ipv4Matches > 10 && portMatches > 1000 && schemeMatches > 100, $"{ipv4Matches} {portMatches} {schemeMatches}");
    }

    private static void AssertAgrees(string text)
    {
        Assert.Equal(Scheme.Replace(text, ""), DomainKeys.WithoutScheme(text));
        Assert.Equal(Port.Replace(text, ""), DomainKeys.WithoutPort(text));
        Assert.Equal(Ipv4.IsMatch(text), DomainKeys.IsIpv4(text));
    }
}
