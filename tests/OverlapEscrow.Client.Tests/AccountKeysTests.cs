using OverlapEscrow.Client.Hashing;

namespace OverlapEscrow.Client.Tests;

public class AccountKeysTests
{
    [Fact]
    public void AWebsiteAndAnEmailOnOneDomainGiveOneDomain()
    {
        var keys = AccountKeys.From("https://www.Acme.com/about", "Jane Doe <jane@sales.acme.com>", "Acme, Inc.", "United States");

        Assert.Equal(["acme.com"], keys.Domains);
        Assert.Equal(["acme"], keys.DomainLabels);
        Assert.Equal("acme|US", keys.Name);
        Assert.Equal("acme", keys.NameOnly);
        Assert.Empty(keys.Missing);
        Assert.False(keys.IsEmpty);
    }

    [Fact]
    public void TwoDomainsWithOneLabelGiveOneLabel()
    {
        var keys = AccountKeys.From("acme.com", "jane@acme.co.uk", null, null);

        Assert.Equal(["acme.com", "acme.co.uk"], keys.Domains);
        Assert.Equal(["acme"], keys.DomainLabels);
        Assert.Null(keys.Name);
        Assert.Null(keys.NameOnly);
    }

    [Fact]
    public void FieldsGivingNoKeyAreReportedWithTheirReason()
    {
        var keys = AccountKeys.From("N/A", "jane@gmail.com", "!!!", "DE");

        Assert.Equal("placeholder", keys.Missing["website"]);
        Assert.Equal("free-mail provider", keys.Missing["email"]);
        Assert.Equal("empty", keys.Missing["name"]);
        Assert.Equal(3, keys.Missing.Count);
        Assert.Empty(keys.Domains);
        Assert.Empty(keys.DomainLabels);
        Assert.True(keys.IsEmpty);
        Assert.Empty(keys.Hashes());
    }

    [Fact]
    public void NullFieldsAreAbsentNotMissing()
    {
        var keys = AccountKeys.From(null, null, "Müller GmbH", "DE");

        Assert.Empty(keys.Missing);
        Assert.Empty(keys.Domains);
        Assert.Equal("muller|DE", keys.Name);
        Assert.False(keys.IsEmpty);
    }

    [Fact]
    public void HashesCarryTheFourTypesUnderTheirWireNames()
    {
        var hashes = AccountKeys.From("acme.com", "jane@acme.co.uk", "Acme Ltd", "GB").Hashes();

        Assert.Equal(["domain", "domain_label", "name", "name_only"], hashes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([IdentifierHashes.Hash("domain", "acme.com"), IdentifierHashes.Hash("domain", "acme.co.uk")], hashes["domain"]);
        Assert.Equal([IdentifierHashes.Hash("domain_label", "acme")], hashes["domain_label"]);
        Assert.Equal([IdentifierHashes.Hash("name", "acme|GB")], hashes["name"]);
        Assert.Equal([IdentifierHashes.Hash("name_only", "acme")], hashes["name_only"]);
    }

    [Fact]
    public void ANameWithoutADomainHashesNameTypesAndTheNameAsALabel()
    {
        var hashes = AccountKeys.From(null, "jane@gmail.com", "Acme", "US").Hashes();

        Assert.Equal(["domain_label", "name", "name_only"], hashes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([IdentifierHashes.Hash("name", "acme|US")], hashes["name"]);
        // The label its own domain would have if named after the company: it meets acme.com's label (rule c).
        Assert.Equal([IdentifierHashes.Hash("domain_label", "acme")], hashes["domain_label"]);
    }

    [Theory]
    [InlineData("acme.com", null)]                    // a website: its own label only
    [InlineData(null, "jane@acme.com")]               // an e-mail domain that agrees with the name is a domain
    public void ARecordWithADomainSendsNoLabelFromItsName(string? website, string? email)
    {
        var keys = AccountKeys.From(website, email, "Acme Widgets", "US");

        Assert.Equal(["acme"], keys.DomainLabels);
    }

    [Theory]
    [InlineData("Summit Consulting")]                 // generic
    [InlineData("株式会社ニトリ")]                      // a first key that is not ASCII
    public void AGenericOrNonAsciiNameGivesNoLabel(string name)
    {
        Assert.Empty(AccountKeys.From(null, null, name, "JP").DomainLabels);
    }

    [Fact]
    public void ADistinctiveNameWithoutAKnownCountryIsSentAsNameOnlyAlone()
    {
        // Spec v2: the server reads a record with name_only and no name key as one whose country is unknown.
        var keys = AccountKeys.From(null, null, "Acme", "Atlantis");

        Assert.Equal([new AccountKey("domain_label", "acme"), new AccountKey("name_only", "acme")], keys.Identifiers);
        Assert.False(keys.IsEmpty);
    }

    [Fact]
    public void AGenericNameIsSentAsNameGenericInsteadOfName()
    {
        var hashes = AccountKeys.From(null, null, "Summit Consulting", "US").Hashes();

        Assert.DoesNotContain("name", hashes.Keys);
        Assert.Contains(IdentifierHashes.Hash("name_generic", "summitconsulting|US"), hashes["name_generic"]);
    }

    [Fact]
    public void ARecordWithOnlyADomainLabelHasNothingToMatchOn()
    {
        // An e-mail at another organization's domain gives only a label, which never matches alone.
        var keys = AccountKeys.From(null, "jane@intuit.com", null, null);

        Assert.Equal(["intuit.com"], keys.Domains);
        var other = AccountKeys.From(null, "jane@intuit.com", "Credit Karma", "US");
        Assert.Empty(other.Domains);
        Assert.Equal(["intuit", "creditkarma"], other.DomainLabels);
    }

    [Theory]
    [InlineData("Qualys Inc", "Qualis", "US")]            // a substitution
    [InlineData("Questech Ltd", "Quesetch Ltd", "GB")]    // neighbours swapped
    [InlineData("Microsoft", "Micrsoft Corp", "US")]      // a letter dropped
    [InlineData("Hoppmann GmbH", "Hopppmann", "DE")]      // a letter doubled
    public void TwoNamesOneTypoApartInOneCountryShareATypoKey(string a, string b, string country)
    {
        var x = AccountKeys.From(null, null, a, country);
        var y = AccountKeys.From(null, null, b, country);
        Assert.NotEqual(x.Name, y.Name);
        Assert.Contains(TypoKeys(x), TypoKeys(y).Contains);
        // Not across countries.
        Assert.DoesNotContain(TypoKeys(x), TypoKeys(AccountKeys.From(null, null, b, "FR")).Contains);
    }

    [Theory]
    [InlineData("Acmee", "US")]                              // five characters
    [InlineData("Nationz Technologies Shenzhen", "CN")]     // 27 characters
    [InlineData("Summit Consulting Group", "US")]           // generic
    [InlineData("Kickstarter", null)]                        // no country
    [InlineData("Μυτιληναίος", "GR")]                        // a first key that is not ASCII
    public void ShortLongGenericCountrylessOrNonAsciiFirstKeysGiveNoTypoKeys(string name, string? country) =>
        Assert.Empty(TypoKeys(AccountKeys.From(null, null, name, country)));

    [Fact]
    public void AnAccountWithEveryKindOfKeyStaysWithinTheServersDefaultLimitPerRecord()
    {
        // Two domains, five name keys, two skeletons and typo keys of a first key of 24 characters.
        var keys = AccountKeys.From("hoppmann.de", "jo@hoppmann.com", "Müller Wistron InfoComm Zhg Ltd dba Widget Mfg", "DE");
        Assert.Equal("mullerwistroninfocommzhg|DE", keys.Name);
        Assert.Equal(23, TypoKeys(keys).Count); // 24 deletions, two alike ("ll", "mm"), and the key
        Assert.Equal(38, keys.Identifiers.Count);
        Assert.InRange(keys.Identifiers.Count, 1, 48); // Uploads:MaxIdentifiersPerRecord
    }

    private static List<string> TypoKeys(AccountKeys keys) =>
        [.. keys.Identifiers.Where(k => k.Type == IdentifierHashes.NameTypo).Select(k => k.Key)];

    [Theory]
    // SHA-256 over UTF-8 "oe:v1:<type>:<key>", computed with sha256sum.
    [InlineData("domain", "acme.com", "d19a4d2186711c41d31e1e1d49cb86a644dc373d1c429d6ee303de7882560a36")]
    [InlineData("domain_label", "acme", "89f1981162d4bbb3d178685455dd7d43f09d0d301bae17beb9b571911ad1c1cb")]
    [InlineData("name", "acme|US", "2f4d123642acbbf1a30688d6db26f6087bf862ddb847626a23c93ba84eb63ab6")]
    [InlineData("name_only", "acme", "b3aa5f6c27094b8b9f91849fb895b7af7e8ba58b1aff1369d66d0e6d22ec7222")]
    public void TheHashIsLowerCaseHexSha256OfTheDomainSeparatedKey(string type, string key, string expected) =>
        Assert.Equal(expected, IdentifierHashes.Hash(type, key));
}
