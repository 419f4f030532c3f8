using OverlapEscrow.Client.Upload;

namespace OverlapEscrow.Cli.Tests;

public class AttributeNamesTests
{
    [Theory]
    [InlineData("Account Name", "accountName")]
    [InlineData("Owner", "owner")]
    [InlineData("Stage", "stage")]
    [InlineData("Billing Country", "billingCountry")]
    [InlineData("Primary Contact Email", "primaryContactEmail")]
    [InlineData("CRM ID", "crmId")]
    [InlineData("ARR (USD)", "arrUsd")]
    [InlineData("AccountName", "accountName")]
    [InlineData("account_name", "accountName")]
    [InlineData("Région", "region")]
    [InlineData("  Deal-Size  ", "dealSize")]
    public void AColumnNameBecomesACamelCaseAttributeName(string column, string expected)
    {
        Assert.Equal(expected, AttributeNames.FromColumn(column));
        Assert.True(AttributeNames.IsValid(expected));
    }

    [Theory]
    [InlineData("2024 Revenue")]
    [InlineData("€ / %")]
    [InlineData("")]
    public void AColumnNameWithoutALeadingLetterGivesNoName(string column) => Assert.Null(AttributeNames.FromColumn(column));

    [Fact]
    public void AnExplicitNameFollowsAnEqualsSign()
    {
        Assert.Equal(new AttributeColumn("2024 Revenue", "revenue2024"), AttributeNames.Parse("2024 Revenue=revenue2024"));
        Assert.Equal(new AttributeColumn("Account Name", "accountName"), AttributeNames.Parse("Account Name"));
    }

    [Fact]
    public void AnInvalidExplicitNameOrAnUnconvertibleColumnIsRefusedWithAHint()
    {
        Assert.Contains("not a valid attribute name", Assert.Throws<ArgumentException>(() => AttributeNames.Parse("Stage=1st")).Message);
        Assert.Contains("--attribute \"2024 Revenue=myName\"", Assert.Throws<ArgumentException>(() => AttributeNames.Parse("2024 Revenue")).Message);
    }
}
