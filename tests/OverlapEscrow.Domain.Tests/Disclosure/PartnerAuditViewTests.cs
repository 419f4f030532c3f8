using System.Text.Json;
using OverlapEscrow.Domain.Disclosure;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class PartnerAuditViewTests
{
    [Fact]
    public void APartnersReleaseEventShowsOnlyMyPopulationAndTheSizeOfTheRelease()
    {
        var partnerDetail = JsonSerializer.SerializeToElement(new
        {
            myPopulationId = "pop-PARTNERS-HIDDEN", partnerPopulationId = "pop-mine", rows = 42, format = "csv", fields = new[] { "accountName" },
            since = "2026-11-01", versionId = "ver-x",
        });

        var detail = PartnerAuditView.Detail(partnerDetail);

        var names = detail.EnumerateObject().Select(p => p.Name).Order().ToList();
        Assert.Equal(["fields", "format", "myPopulationId", "rows"], names);
        Assert.Equal("pop-mine", detail.GetProperty("myPopulationId").GetString());
        Assert.DoesNotContain("pop-PARTNERS-HIDDEN", detail.GetRawText());
    }

    [Fact]
    public void ADetailThatIsNotAnObjectRevealsNothing()
    {
        Assert.Equal("{}", PartnerAuditView.Detail(JsonSerializer.SerializeToElement(new[] { "pop-x" })).GetRawText());
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
    public void APartnersEvidenceAndSignalReadsAreVisibleWithMyPopulationTheSizeAndWhichRead()
    {
        Assert.Contains("attribution.evidence_read", PartnerAuditView.VisibleActions);
        Assert.Contains("coselling.signal_read", PartnerAuditView.VisibleActions);
        var detail = PartnerAuditView.Detail(JsonSerializer.SerializeToElement(new
        {
            myPopulationId = "pop-PARTNERS-PIPELINE", partnerPopulationId = "pop-mine", rows = 3, format = "ledger", signal = "joint", claimId = "att_1",
            recordId = "O-SECRET",
        }));
        Assert.Equal(["claimId", "format", "myPopulationId", "rows", "signal"], detail.EnumerateObject().Select(p => p.Name).Order().ToList());
        Assert.DoesNotContain("O-SECRET", detail.GetRawText());
        Assert.DoesNotContain("pop-PARTNERS-PIPELINE", detail.GetRawText());
    }
}
