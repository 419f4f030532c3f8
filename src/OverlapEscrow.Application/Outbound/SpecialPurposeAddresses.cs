using System.Net;
using System.Net.Sockets;

namespace OverlapEscrow.Application.Outbound;

/// <summary>A block of addresses the escrow does not connect to, with the registry entry or RFC that defines it.</summary>
public sealed record SpecialPurposeRange(IPNetwork Network, string Name, string Reference)
{
    public override string ToString() => $"{Network} {Name} ({Reference})";
}

/// <summary>
/// Addresses that are not an ordinary internet host, so an organization's URL may not point at them: every entry of
/// the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890, updated by RFC 8190;
/// https://www.iana.org/assignments/iana-ipv4-special-registry and .../iana-ipv6-special-registry, as of 2025-10),
/// the multicast blocks, the IPv6 space outside Global Unicast, and one cloud platform endpoint.
/// <para>
/// Every registry entry is refused, not only those whose "Globally Reachable" column is False: the few marked True
/// (the PCP, TURN and DNS-SD anycast addresses, AS112, AMT, ORCHIDv2, DETs) are infrastructure that answers for
/// whoever asks, never a partner's webhook receiver or export, and refusing them costs nothing. Entries that lie
/// inside another entry are listed too, before it, so the table reads like the registry and names the most specific
/// entry. IPv6 forms that carry an IPv4 address are judged by that address (see <see cref="CarriedIPv4"/>).
/// </para>
/// </summary>
public static class SpecialPurposeAddresses
{
    private static SpecialPurposeRange R(string cidr, string name, string reference) => new(IPNetwork.Parse(cidr), name, reference);

    /// <summary>The refused blocks, most specific first where one lies inside another.</summary>
    public static IReadOnlyList<SpecialPurposeRange> Refused { get; } =
    [
        // ── IANA IPv4 Special-Purpose Address Registry ──
        R("0.0.0.0/32", "\"This host on this network\"", "IPv4 Special-Purpose; RFC 1122 §3.2.1.3"),
        R("0.0.0.0/8", "\"This network\"", "IPv4 Special-Purpose; RFC 791 §3.2"),   // 0.0.0.0 reaches the local host on Linux
        R("10.0.0.0/8", "Private-Use", "IPv4 Special-Purpose; RFC 1918"),
        R("100.64.0.0/10", "Shared Address Space (carrier-grade NAT)", "IPv4 Special-Purpose; RFC 6598"),
        R("127.0.0.0/8", "Loopback", "IPv4 Special-Purpose; RFC 1122 §3.2.1.3"),
        R("169.254.0.0/16", "Link Local (incl. the 169.254.169.254 cloud metadata service)", "IPv4 Special-Purpose; RFC 3927"),
        R("172.16.0.0/12", "Private-Use", "IPv4 Special-Purpose; RFC 1918"),
        R("192.0.0.0/29", "IPv4 Service Continuity Prefix", "IPv4 Special-Purpose; RFC 7335"),
        R("192.0.0.8/32", "IPv4 dummy address", "IPv4 Special-Purpose; RFC 7600"),
        R("192.0.0.9/32", "Port Control Protocol Anycast (globally reachable)", "IPv4 Special-Purpose; RFC 7723"),
        R("192.0.0.10/32", "Traversal Using Relays around NAT Anycast (globally reachable)", "IPv4 Special-Purpose; RFC 8155"),
        R("192.0.0.170/32", "NAT64/DNS64 Discovery", "IPv4 Special-Purpose; RFC 8880, RFC 7050 §2.2"),
        R("192.0.0.171/32", "NAT64/DNS64 Discovery", "IPv4 Special-Purpose; RFC 8880, RFC 7050 §2.2"),
        R("192.0.0.0/24", "IETF Protocol Assignments", "IPv4 Special-Purpose; RFC 6890 §2.1"),
        R("192.0.2.0/24", "Documentation (TEST-NET-1)", "IPv4 Special-Purpose; RFC 5737"),
        R("192.31.196.0/24", "AS112-v4 (globally reachable)", "IPv4 Special-Purpose; RFC 7535"),
        R("192.52.193.0/24", "AMT (globally reachable)", "IPv4 Special-Purpose; RFC 7450"),
        R("192.88.99.2/32", "6a44-relay anycast address", "IPv4 Special-Purpose; RFC 6751"),
        R("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "IPv4 Special-Purpose; RFC 7526"),
        R("192.168.0.0/16", "Private-Use", "IPv4 Special-Purpose; RFC 1918"),
        R("192.175.48.0/24", "Direct Delegation AS112 Service (globally reachable)", "IPv4 Special-Purpose; RFC 7534"),
        R("198.18.0.0/15", "Benchmarking", "IPv4 Special-Purpose; RFC 2544"),
        R("198.51.100.0/24", "Documentation (TEST-NET-2)", "IPv4 Special-Purpose; RFC 5737"),
        R("203.0.113.0/24", "Documentation (TEST-NET-3)", "IPv4 Special-Purpose; RFC 5737"),
        R("255.255.255.255/32", "Limited Broadcast", "IPv4 Special-Purpose; RFC 8190, RFC 919 §7"),
        R("240.0.0.0/4", "Reserved", "IPv4 Special-Purpose; RFC 1112 §4"),
        // ── not in the IPv4 registry, not a destination either ──
        R("224.0.0.0/4", "Multicast", "IANA IPv4 Multicast Address Space Registry; RFC 5771"),
        R("168.63.129.16/32", "Azure platform endpoint (wire server, DNS, health probes)", "not IANA: a cloud host's internal service on a public-looking address"),

        // ── IANA IPv6 Special-Purpose Address Registry ──
        // ::ffff:0:0/96 (IPv4-mapped, RFC 4291), 64:ff9b::/96 (IPv4-IPv6 Translat., RFC 6052) and 2002::/16 (6to4,
        // RFC 3056) carry an IPv4 address and are judged by it before this table is consulted.
        R("::/128", "Unspecified Address", "IPv6 Special-Purpose; RFC 4291"),
        R("::1/128", "Loopback Address", "IPv6 Special-Purpose; RFC 4291"),
        R("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "IPv6 Special-Purpose; RFC 8215"),
        R("100::/64", "Discard-Only Address Block", "IPv6 Special-Purpose; RFC 6666"),
        R("100:0:0:1::/64", "Dummy IPv6 Prefix", "IPv6 Special-Purpose; RFC 9780"),
        R("2001::/32", "TEREDO", "IPv6 Special-Purpose; RFC 4380, RFC 8190"),
        R("2001:1::1/128", "Port Control Protocol Anycast (globally reachable)", "IPv6 Special-Purpose; RFC 7723"),
        R("2001:1::2/128", "Traversal Using Relays around NAT Anycast (globally reachable)", "IPv6 Special-Purpose; RFC 8155"),
        R("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast (globally reachable)", "IPv6 Special-Purpose; RFC 9665"),
        R("2001:2::/48", "Benchmarking", "IPv6 Special-Purpose; RFC 5180, RFC Errata 1752"),
        R("2001:3::/32", "AMT (globally reachable)", "IPv6 Special-Purpose; RFC 7450"),
        R("2001:4:112::/48", "AS112-v6 (globally reachable)", "IPv6 Special-Purpose; RFC 7535"),
        R("2001:10::/28", "Deprecated (previously ORCHID)", "IPv6 Special-Purpose; RFC 4843"),
        R("2001:20::/28", "ORCHIDv2 (globally reachable)", "IPv6 Special-Purpose; RFC 7343"),
        R("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix (globally reachable)", "IPv6 Special-Purpose; RFC 9374"),
        R("2001::/23", "IETF Protocol Assignments", "IPv6 Special-Purpose; RFC 2928"),
        R("2001:db8::/32", "Documentation", "IPv6 Special-Purpose; RFC 3849"),
        R("2620:4f:8000::/48", "Direct Delegation AS112 Service (globally reachable)", "IPv6 Special-Purpose; RFC 7534"),
        R("3fff::/20", "Documentation", "IPv6 Special-Purpose; RFC 9637"),
        R("5f00::/16", "Segment Routing (SRv6) SIDs", "IPv6 Special-Purpose; RFC 9602"),
        R("fc00::/7", "Unique-Local", "IPv6 Special-Purpose; RFC 4193, RFC 8190"),
        R("fe80::/10", "Link-Local Unicast", "IPv6 Special-Purpose; RFC 4291"),
        // ── IANA Internet Protocol Version 6 Address Space registry ──
        R("fec0::/10", "Site-local (deprecated)", "IPv6 Address Space; RFC 3879"),
        R("ff00::/8", "Multicast", "IPv6 Address Space; RFC 4291 §2.7"),
        // Everything outside Global Unicast 2000::/3 is reserved by the IETF or one of the blocks above: no
        // internet host has such an address (RFC 4291 §2.4; IANA assigns unicast space only from 2000::/3).
        R("::/3", "Outside Global Unicast (reserved by IETF)", "IPv6 Address Space; RFC 4291"),
        R("4000::/2", "Outside Global Unicast (reserved by IETF)", "IPv6 Address Space; RFC 4291"),
        R("8000::/1", "Outside Global Unicast (reserved by IETF, unique-local, link-local, multicast)", "IPv6 Address Space; RFC 4291"),
    ];

    // Each address is checked against the rows of its own family only (a few hundred nanoseconds per address).
    private static readonly SpecialPurposeRange[] IPv4Rows = [.. Refused.Where(r => r.Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)];
    private static readonly SpecialPurposeRange[] IPv6Rows = [.. Refused.Where(r => r.Network.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6)];

    /// <summary>The refused block an address falls in (the IPv4 address it carries, for the IPv6 forms that carry one), or null.</summary>
    public static SpecialPurposeRange? Find(IPAddress address)
    {
        address = Unscoped(address);
        if (CarriedIPv4(address) is { } carried) address = carried;
        foreach (var range in address.AddressFamily == AddressFamily.InterNetwork ? IPv4Rows : IPv6Rows)
            if (range.Network.Contains(address)) return range;
        return null;
    }

    /// <summary>Whether an address is an ordinary internet host: in no refused block, nor carrying an IPv4 address that is.</summary>
    public static bool IsPublic(IPAddress address) => address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && Find(address) is null;

    /// <summary>
    /// The IPv4 address an IPv6 address reaches, for the forms that carry one: IPv4-mapped ::ffff:a.b.c.d (RFC 4291
    /// §2.5.5.2; a dual-stack socket connects to a.b.c.d itself), the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052;
    /// a translator on the path forwards to a.b.c.d), 6to4 2002:aabb:ccdd::/48 (RFC 3056; a relay forwards to the
    /// IPv4 host) and the deprecated IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1). Null for any other address.
    /// </summary>
    public static IPAddress? CarriedIPv4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return null;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && !b[4..12].ContainsAnyExcept((byte)0))   // NAT64 64:ff9b::/96
            return new IPAddress(b[12..16]);
        if (b[0] == 0x20 && b[1] == 0x02)                                                                         // 6to4 2002::/16
            return new IPAddress(b[2..6]);
        if (!b[..12].ContainsAnyExcept((byte)0) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback))
            return new IPAddress(b[12..16]);                                                                      // IPv4-compatible ::a.b.c.d
        return null;
    }

    /// <summary>The address without an IPv6 zone (fe80::1%eth0 and fe80::1 are the same address for these checks).</summary>
    public static IPAddress Unscoped(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes()) : address;
}
