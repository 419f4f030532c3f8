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
}
