using System.Text.Json;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class PartnerAuditViewTests
{
    [Fact]
    public void APartnersReleaseEventWrittenBeforeSharedAsShowsOnlyMyPopulationAndTheSizeOfTheRelease()
    {
        var partnerDetail = JsonSerializer.SerializeToElement(new
        {
            myPopulationId = "pop-PARTNERS-HIDDEN", partnerPopulationId = "pop-mine", rows = 42, format = "csv", fields = new[] { "accountName" },
            since = "2026-11-01", versionId = "ver-x",
        });

        var detail = PartnerAuditView.Detail("overlaps.released", partnerDetail);

        var names = detail.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.Equal(["fields", "format", "myPopulationId", "rows"], names);
        Assert.Equal("pop-mine", detail.GetProperty("myPopulationId").GetString());
        Assert.DoesNotContain("pop-PARTNERS-HIDDEN", detail.GetRawText());
    }

    [Fact]
    public void ADetailThatIsNotAnObjectRevealsNothing()
    {
        Assert.Equal("{}", PartnerAuditView.Detail("overlaps.released", JsonSerializer.SerializeToElement(new[] { "pop-x" })).GetRawText());
    }

    [Fact]
    public void OnlyPartnershipLifecycleAndReleaseEventsOfThePartnerAreVisible()
    {
        Assert.Contains("overlaps.released", PartnerAuditView.VisibleActions);
        Assert.Contains("partnership.terminated", PartnerAuditView.VisibleActions);
        Assert.DoesNotContain("population.uploaded", PartnerAuditView.VisibleActions);
        Assert.DoesNotContain("sharing.updated", PartnerAuditView.VisibleActions);
        Assert.DoesNotContain("api_key.created", PartnerAuditView.VisibleActions);
    }

    [Fact]
    public void APartnersEvidenceAndSignalReadsWrittenBeforeSharedAsAreVisibleWithMyPopulationTheSizeAndWhichRead()
    {
        Assert.Contains("attribution.evidence_read", PartnerAuditView.VisibleActions);
        Assert.Contains("coselling.signal_read", PartnerAuditView.VisibleActions);
        var detail = PartnerAuditView.Detail("coselling.signal_read", JsonSerializer.SerializeToElement(new
        {
            myPopulationId = "pop-PARTNERS-PIPELINE", partnerPopulationId = "pop-mine", rows = 3, format = "ledger", signal = "joint", claimId = "att_1",
            recordId = "O-SECRET",
        }));
        Assert.Equal(["claimId", "format", "myPopulationId", "rows", "signal"], detail.EnumerateObject().Select(p => p.Name).Order().ToList());
        Assert.DoesNotContain("O-SECRET", detail.GetRawText());
        Assert.DoesNotContain("pop-PARTNERS-PIPELINE", detail.GetRawText());
    }

    private static JsonElement Read(string sharedAs, int rows) => JsonSerializer.SerializeToElement(new
    {
        myPopulationId = "pop-READERS", partnerPopulationId = "pop-mine", rows, format = "json", fields = Array.Empty<string>(), sharedAs,
    });

    [Theory]
    [InlineData("overlaps.released")]
    [InlineData("coselling.signal_read")]
    [InlineData("attribution.evidence_read")]
    public void AReadWithAPopulationTheReaderHidesFromMeIsNotMineToSee(string action)
    {
        // A one-account probe population of mine, read against the reader's hidden population: 0 or 1 row would say
        // whether the account is in it, and the event itself that the population exists.
        Assert.False(PartnerAuditView.Shows(action, Read("hidden", 1)));
        Assert.True(PartnerAuditView.Shows(action, Read("counts", 1)));
        Assert.True(PartnerAuditView.Shows(action, Read("overlaps", 1)));
        Assert.False(PartnerAuditView.Shows("population.uploaded", Read("overlaps", 1)));
    }

    [Fact]
    public void TheRowsOfAReadAreShownOnlyForAListReadAtTheOverlapsLevel()
    {
        Assert.Equal(7, PartnerAuditView.Detail("overlaps.released", Read("overlaps", 7)).GetProperty("rows").GetInt32());
        Assert.False(PartnerAuditView.Detail("overlaps.released", Read("counts", 7)).TryGetProperty("rows", out _));
        // A signal counts the reader's open opportunities or stages, evidence its opportunities while open: never shown.
        Assert.False(PartnerAuditView.Detail("coselling.signal_read", Read("overlaps", 7)).TryGetProperty("rows", out _));
        Assert.False(PartnerAuditView.Detail("attribution.evidence_read", Read("overlaps", 7)).TryGetProperty("rows", out _));
        var shown = PartnerAuditView.Detail("overlaps.released", Read("counts", 7));
        Assert.Equal(["fields", "format", "myPopulationId"], shown.EnumerateObject().Select(p => p.Name).Order().ToList());
        Assert.DoesNotContain("pop-READERS", shown.GetRawText());
    }
}
