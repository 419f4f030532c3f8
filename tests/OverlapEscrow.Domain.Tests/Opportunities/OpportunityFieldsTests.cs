using OverlapEscrow.Domain.Opportunities;
using OverlapEscrow.Domain.Records;

namespace OverlapEscrow.Domain.Tests.Opportunities;

public class OpportunityFieldsTests
{
    private static RecordAttribute[] Attrs(params (string Name, string Value)[] pairs) => [.. pairs.Select(p => new RecordAttribute(p.Name, p.Value))];

    [Fact]
    public void AWellFormedOpportunityHasNoProblemAndReadsBackAsWritten()
    {
        var attributes = Attrs(("amount", "12500.50"), ("currency", "EUR"), ("stage", "Proposal / Quote"), ("created_date", "2026-01-31"),
            ("close_date", "2026-03-02"), ("closed", "true"), ("won", "true"), ("owner", "ana@alpha.example"), ("accountName", "Globex"));

        Assert.Null(OpportunityFields.Check(attributes));
        var o = OpportunityFields.Read(new EscrowRecord("O-1", [], attributes));
        Assert.Equal(12500.50m, o.Amount);
        Assert.Equal("EUR", o.Currency);
        Assert.True(o.Closed);
        Assert.True(o.Won);
        Assert.False(o.Open);
        Assert.Equal(30, o.DaysToClose);
    }

    [Fact]
    public void EveryFieldIsOptionalAndAnOpportunityWithoutOutcomeIsOpen()
    {
        Assert.Null(OpportunityFields.Check(Attrs(("accountName", "Globex"))));
        var o = OpportunityFields.Read(new EscrowRecord("O-1", [], []));
        Assert.True(o.Open);
        Assert.Null(o.Amount);
        Assert.Null(o.DaysToClose);
    }

    [Theory]
    [InlineData("amount", "1,234.50")]
    [InlineData("amount", "1.234,50")]
    [InlineData("amount", "$100")]
    [InlineData("amount", "-5")]
    [InlineData("amount", "1e6")]
    [InlineData("amount", " 100")]
    [InlineData("amount", "100.")]
    [InlineData("amount", "1000000000000000")]
    [InlineData("currency", "usd")]
    [InlineData("currency", "US$")]
    [InlineData("created_date", "03/04/2026")]
    [InlineData("created_date", "2026-02-30")]
    [InlineData("close_date", "2026-03-04T10:00:00Z")]
    [InlineData("closed", "yes")]
    [InlineData("won", "TRUE")]
    public void AMalformedValueIsAProblemNamingItsFieldAndNotQuotingTheValue(string field, string value)
    {
        var problem = OpportunityFields.Check(Attrs((field, value)));

        Assert.NotNull(problem);
        Assert.Equal(field, problem.Value.Field);
        Assert.DoesNotContain(value, problem.Value.Message);
    }

    [Fact]
    public void AWonOpportunityMustBeClosedAndCannotCloseBeforeItWasCreated()
    {
        Assert.Equal("won", OpportunityFields.Check(Attrs(("closed", "false"), ("won", "true")))!.Value.Field);
        Assert.Equal("close_date", OpportunityFields.Check(Attrs(("created_date", "2026-05-02"), ("close_date", "2026-05-01")))!.Value.Field);
        Assert.Null(OpportunityFields.Check(Attrs(("created_date", "2026-05-02"), ("close_date", "2026-05-02"))));
    }

    [Fact]
    public void OnlyTheOpportunityFieldsOfAnOpportunitiesPopulationAreOwnOnly()
    {
        foreach (var name in OpportunityFields.All) Assert.True(OpportunityFields.IsOwnOnly("opportunities", name), name);
        Assert.False(OpportunityFields.IsOwnOnly("opportunities", "accountName"));
        Assert.False(OpportunityFields.IsOwnOnly("customers", "amount"));
    }
}
