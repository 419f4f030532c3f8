using OverlapEscrow.Domain.Partnerships;

namespace OverlapEscrow.Domain.Tests;

public class PartnershipTests
{
    private const string Inviter = "org-a";
    private const string Invitee = "org-b";
    private const string Outsider = "org-c";

    private static Partnership With(PartnershipStatus status) =>
        new("ps-1", Inviter, Invitee, status, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), null, null);

    [Fact]
    public void OnlyTheInviteeCanRespondToAnOpenInvitation()
    {
        var invited = With(PartnershipStatus.Invited);

        Assert.True(invited.CanRespond(Invitee));
        Assert.False(invited.CanRespond(Inviter));
        Assert.False(invited.CanRespond(Outsider));
    }

    [Theory]
    [InlineData(PartnershipStatus.Active)]
    [InlineData(PartnershipStatus.Declined)]
    [InlineData(PartnershipStatus.Terminated)]
    public void NobodyCanRespondOnceTheInvitationIsClosed(PartnershipStatus status)
    {
        var partnership = With(status);

        Assert.False(partnership.CanRespond(Invitee));
        Assert.False(partnership.CanRespond(Inviter));
    }

    [Theory]
    [InlineData(PartnershipStatus.Invited)]
    [InlineData(PartnershipStatus.Active)]
    public void EitherSideCanTerminateAnInvitationOrAnActivePartnership(PartnershipStatus status)
    {
        var partnership = With(status);

        Assert.True(partnership.CanTerminate(Inviter));
        Assert.True(partnership.CanTerminate(Invitee));
    }

    [Theory]
    [InlineData(PartnershipStatus.Declined)]
    [InlineData(PartnershipStatus.Terminated)]
    public void NobodyCanTerminateAnEndedPartnership(PartnershipStatus status)
    {
        var partnership = With(status);

        Assert.False(partnership.CanTerminate(Inviter));
        Assert.False(partnership.CanTerminate(Invitee));
    }

    [Theory]
    [InlineData(PartnershipStatus.Invited)]
    [InlineData(PartnershipStatus.Active)]
    [InlineData(PartnershipStatus.Declined)]
    [InlineData(PartnershipStatus.Terminated)]
    public void AThirdOrganizationCanNeverTerminate(PartnershipStatus status)
    {
        Assert.False(With(status).CanTerminate(Outsider));
    }

    [Theory]
    [InlineData(PartnershipStatus.Invited, false)]
    [InlineData(PartnershipStatus.Active, true)]
    [InlineData(PartnershipStatus.Declined, false)]
    [InlineData(PartnershipStatus.Terminated, false)]
    public void DataIsSharedOnlyWhileActive(PartnershipStatus status, bool shares)
    {
        Assert.Equal(shares, With(status).SharesData);
    }

    [Fact]
    public void EachSideSeesTheOtherAsItsPartner()
    {
        var partnership = With(PartnershipStatus.Active);

        Assert.Equal(Invitee, partnership.PartnerOf(Inviter));
        Assert.Equal(Inviter, partnership.PartnerOf(Invitee));
    }

    [Fact]
    public void AThirdOrganizationHasNoPartnerInThePartnership()
    {
        var partnership = With(PartnershipStatus.Active);

        Assert.Throws<InvalidOperationException>(() => partnership.PartnerOf(Outsider));
    }

    [Fact]
    public void OnlyTheTwoSidesAreInvolved()
    {
        var partnership = With(PartnershipStatus.Active);

        Assert.True(partnership.Involves(Inviter));
        Assert.True(partnership.Involves(Invitee));
        Assert.False(partnership.Involves(Outsider));
        Assert.False(partnership.Involves("ORG-A"));
    }
}
