using System.Text.Json;
using OverlapEscrow.Domain.Disclosure;
using OverlapEscrow.Domain.Organizations;
using OverlapEscrow.Domain.Partnerships;
using static OverlapEscrow.Domain.Tests.Disclosure.Views;

namespace OverlapEscrow.Domain.Tests.Disclosure;

public class PartnershipNoticeTests
{
    [Fact]
    public void ANoticeNamesThePartnerBySlugAndNameOnly()
    {
        var notice = PartnershipNotice.For(View().Partnership, new PartnerOrganization("org-them-SECRET-ID", "them", "Them Inc."));

        var json = JsonSerializer.Serialize(notice);
        Assert.DoesNotContain("org-them-SECRET-ID", json);
        Assert.Equal(("them", "Them Inc."), (notice.Partner.Slug, notice.Partner.Name));
        Assert.Equal((PartnershipId, PartnershipStatus.Active), (notice.PartnershipId, notice.Status));
    }
}
