using System.Net;
using System.Net.NetworkInformation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OverlapEscrow.Application.Outbound;
using OverlapEscrow.Api.Tests.Infrastructure;

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

    /// <summary>
    /// Each range of the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890, RFC 8190), the multicast
    /// blocks and the IPv6 space outside Global Unicast: its first and last address are refused, and a neighbour just
    /// outside it (where that neighbour is an ordinary internet address) is not. The rows are copied from the
    /// registries, not from the code's table, so a range dropped from the table fails here.
    /// </summary>
    [Theory]
    // IPv4 Special-Purpose Address Registry
    [InlineData("0.0.0.0/8", null, "1.0.0.0")]
    [InlineData("0.0.0.0/32", null, null)]
    [InlineData("10.0.0.0/8", "9.255.255.255", "11.0.0.0")]
    [InlineData("100.64.0.0/10", "100.63.255.255", "100.128.0.0")]
    [InlineData("127.0.0.0/8", "126.255.255.255", "128.0.0.0")]
    [InlineData("169.254.0.0/16", "169.253.255.255", "169.255.0.0")]
    [InlineData("172.16.0.0/12", "172.15.255.255", "172.32.0.0")]
    [InlineData("192.0.0.0/24", "191.255.255.255", "192.0.1.0")]
    [InlineData("192.0.0.0/29", null, null)]
    [InlineData("192.0.0.8/32", null, null)]
    [InlineData("192.0.0.9/32", null, null)]
    [InlineData("192.0.0.10/32", null, null)]
    [InlineData("192.0.0.170/32", null, null)]
    [InlineData("192.0.0.171/32", null, null)]
    [InlineData("192.0.2.0/24", "192.0.1.255", "192.0.3.0")]
    [InlineData("192.31.196.0/24", "192.31.195.255", "192.31.197.0")]
    [InlineData("192.52.193.0/24", "192.52.192.255", "192.52.194.0")]
    [InlineData("192.88.99.0/24", "192.88.98.255", "192.88.100.0")]
    [InlineData("192.88.99.2/32", null, null)]
    [InlineData("192.168.0.0/16", "192.167.255.255", "192.169.0.0")]
    [InlineData("192.175.48.0/24", "192.175.47.255", "192.175.49.0")]
    [InlineData("198.18.0.0/15", "198.17.255.255", "198.20.0.0")]
    [InlineData("198.51.100.0/24", "198.51.99.255", "198.51.101.0")]
    [InlineData("203.0.113.0/24", "203.0.112.255", "203.0.114.0")]
    [InlineData("240.0.0.0/4", null, null)]
    [InlineData("255.255.255.255/32", null, null)]
    // IPv4 Multicast Address Space Registry, and a cloud platform's internal endpoint
    [InlineData("224.0.0.0/4", "223.255.255.255", null)]
    [InlineData("168.63.129.16/32", "168.63.129.15", "168.63.129.17")]
    // IPv6 Special-Purpose Address Registry (outside 2000::/3 every neighbour is refused too)
    [InlineData("::/128", null, null)]
    [InlineData("::1/128", null, null)]
    [InlineData("::ffff:0:0/96", null, null)]
    [InlineData("64:ff9b::/96", null, null)]
    [InlineData("64:ff9b:1::/48", null, null)]
    [InlineData("100::/64", null, null)]
    [InlineData("100:0:0:1::/64", null, null)]
    [InlineData("2001::/23", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:200::")]
    [InlineData("2001::/32", null, null)]
    [InlineData("2001:1::1/128", null, null)]
    [InlineData("2001:1::2/128", null, null)]
    [InlineData("2001:1::3/128", null, null)]
    [InlineData("2001:2::/48", null, null)]
    [InlineData("2001:3::/32", null, null)]
    [InlineData("2001:4:112::/48", null, null)]
    [InlineData("2001:10::/28", null, null)]
    [InlineData("2001:20::/28", null, null)]
    [InlineData("2001:30::/28", null, null)]
    [InlineData("2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::")]
    [InlineData("2002::/16", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::")]
    [InlineData("2620:4f:8000::/48", "2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", "2620:4f:8001::")]
    [InlineData("3fff::/20", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::")]
    [InlineData("5f00::/16", null, null)]
    [InlineData("fc00::/7", null, null)]
    [InlineData("fe80::/10", null, null)]
    // IPv6 Address Space registry: deprecated site-local, multicast, and everything outside Global Unicast 2000::/3
    [InlineData("fec0::/10", null, null)]
    [InlineData("ff00::/8", null, null)]
    [InlineData("::/3", null, "2000::")]
    [InlineData("4000::/2", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", null)]
    [InlineData("8000::/1", null, null)]
    public void EverySpecialPurposeRangeIsRefusedFromItsFirstToItsLastAddressAndItsPublicNeighboursAreNot(string range, string? before, string? after)
    {
        var network = IPNetwork.Parse(range);
        Assert.False(OutboundHttp.IsPublic(network.BaseAddress), $"{network.BaseAddress} (first of {range})");
        Assert.False(OutboundHttp.IsPublic(Last(network)), $"{Last(network)} (last of {range})");
        if (before is not null) Assert.True(OutboundHttp.IsPublic(IPAddress.Parse(before)), $"{before} (just before {range})");
        if (after is not null) Assert.True(OutboundHttp.IsPublic(IPAddress.Parse(after)), $"{after} (just after {range})");
    }

    private static IPAddress Last(IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        for (var bit = network.PrefixLength; bit < bytes.Length * 8; bit++) bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    /// <summary>An IPv6 address that carries an IPv4 address reaches that address, so it is judged by it.</summary>
    [Theory]
    [InlineData("::ffff:192.0.2.1", false)]
    [InlineData("::ffff:198.18.0.1", false)]
    [InlineData("64:ff9b::c000:201", false)]     // NAT64 of 192.0.2.1
    [InlineData("2002:c000:201::1", false)]      // 6to4 of 192.0.2.1
    [InlineData("2002:cb00:7101::1", false)]     // 6to4 of 203.0.113.1
    [InlineData("::c000:201", false)]            // IPv4-compatible 192.0.2.1
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("64:ff9b::808:808", true)]
    [InlineData("2002:808:808::1", true)]
    public void AnIPv6AddressCarryingAnIPv4AddressIsJudgedByTheAddressItCarries(string address, bool isPublic) =>
        Assert.Equal(isPublic, OutboundHttp.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public void EveryRefusedRangeNamesItsRegistryEntryOrRfc() =>
        Assert.All(SpecialPurposeAddresses.Refused, range =>
        {
            Assert.False(string.IsNullOrWhiteSpace(range.Name), range.ToString());
            Assert.Matches(@"RFC \d+|not IANA", range.Reference);
        });

    /// <summary>The machine's own addresses as a test decides them, counting how often the guard asked.</summary>
    private sealed class PretendedMachine(params string[] addresses) : IMachineAddresses
    {
        public int Asked;

        public ValueTask<IReadOnlySet<IPAddress>> CurrentAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref Asked);
            return ValueTask.FromResult<IReadOnlySet<IPAddress>>(addresses.Select(IPAddress.Parse).ToHashSet());
        }
    }

    [Fact]
    public async Task AnOtherwisePublicAddressIsRefusedWhenItIsTheMachinesOwnAndNothingIsSentToIt()
    {
        // 8.8.8.8 pretends to be on one of this machine's interfaces. The guard refuses it while resolving, before any
        // socket exists: if it did not, the call would return the address and fail here, still without a packet sent.
        var machine = new PretendedMachine("8.8.8.8");
        using var app = new EscrowApp(new Dictionary<string, string?>()) { TestServices = s => s.AddSingleton<IMachineAddresses>(machine) };
        var outbound = app.Services.GetRequiredService<OutboundHttp>();

        foreach (var own in new[] { "8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1" })
        {
            var refused = await Assert.ThrowsAsync<OutboundRefusedException>(() => outbound.AddressesToConnectAsync(own, CancellationToken.None));
            Assert.Contains("this machine's own", refused.Message);
        }
        Assert.Equal([IPAddress.Parse("8.8.4.4")], await outbound.AddressesToConnectAsync("8.8.4.4", CancellationToken.None));
        Assert.True(machine.Asked > 0);
    }

    [Fact]
    public async Task TheMachinesHostNameAndEveryAddressOfItsInterfacesAreRefused()
    {
        using var machine = new MachineAddresses(TimeProvider.System);
        var outbound = new OutboundHttp(Options.Create(new OutboundOptions()), machine);
        var interfaces = NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(u => u.Address.ToString());
        foreach (var host in interfaces.Prepend(Dns.GetHostName()))
            await Assert.ThrowsAsync<OutboundRefusedException>(() => outbound.AddressesToConnectAsync(host, CancellationToken.None));
        var own = await machine.CurrentAsync(CancellationToken.None);
        Assert.Contains(IPAddress.Loopback, own);
        Assert.Superset(interfaces.Select(a => SpecialPurposeAddresses.Unscoped(IPAddress.Parse(a))).ToHashSet(), own.ToHashSet());
    }

    [Fact]
    public async Task AllowPrivateNetworksAlsoAllowsTheMachinesOwnAddressesWithoutReadingThem()
    {
        var machine = new PretendedMachine("8.8.8.8", "127.0.0.1");
        var outbound = new OutboundHttp(Options.Create(new OutboundOptions { AllowPrivateNetworks = true }), machine);
        Assert.Equal([IPAddress.Parse("8.8.8.8")], await outbound.AddressesToConnectAsync("8.8.8.8", CancellationToken.None));
        Assert.Equal([IPAddress.Loopback], await outbound.AddressesToConnectAsync("127.0.0.1", CancellationToken.None));
        Assert.Equal(0, machine.Asked);
    }

    [Fact]
    public async Task TheMachinesAddressesAreReadOncePerRefreshIntervalNotOncePerConnection()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var readings = 0;
        var current = new List<IPAddress> { IPAddress.Parse("192.0.2.2"), IPAddress.Parse("fe80::1%2") };
        using var machine = new MachineAddresses(clock, async _ =>
        {
            Interlocked.Increment(ref readings);
            await Task.Yield();
            return current.ToList();
        });

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => machine.CurrentAsync(CancellationToken.None).AsTask()));
        for (var i = 0; i < 1000; i++) await machine.CurrentAsync(CancellationToken.None);
        Assert.Equal(1, readings);
        Assert.Contains(IPAddress.Parse("fe80::1"), await machine.CurrentAsync(CancellationToken.None)); // zone dropped

        current.Add(IPAddress.Parse("8.8.8.8")); // an interface gets a new address
        clock.Advance(MachineAddresses.RefreshAfter - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(IPAddress.Parse("8.8.8.8"), await machine.CurrentAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains(IPAddress.Parse("8.8.8.8"), await machine.CurrentAsync(CancellationToken.None));
        Assert.Equal(2, readings);
    }
}
