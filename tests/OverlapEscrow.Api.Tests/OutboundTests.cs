using System.Net;
using OverlapEscrow.Application.Outbound;

namespace OverlapEscrow.Api.Tests;

public sealed class OutboundTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("fd00::1")]
    [InlineData("fe80::1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("64:ff9b::a00:1")]
    [InlineData("2002:a00:1::1")]
    [InlineData("::a00:1")]
    public void PrivateLoopbackLinkLocalAndMetadataAddressesAreNotPublic(string address) =>
        Assert.False(OutboundHttp.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::5db8:d822")]
    public void InternetAddressesArePublic(string address) =>
        Assert.True(OutboundHttp.IsPublic(IPAddress.Parse(address)));
}
