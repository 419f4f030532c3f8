using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace OverlapEscrow.Application.Outbound;

/// <summary>Settings under Escrow:Outbound (environment: Escrow__Outbound__Name).</summary>
public sealed class OutboundOptions
{
    /// <summary>Allow pull sources and webhooks on loopback, private and link-local networks (tests, local demos).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Redirects followed, each to the same host only.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;

    [System.ComponentModel.DataAnnotations.Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;
}

/// <summary>A request went to, or was redirected towards, a target the escrow refuses to reach.</summary>
public sealed class OutboundRefusedException(string message) : Exception(message);

/// <summary>
/// HTTP for URLs that organizations configure (pull sources, webhooks): a server-side request forgery risk, since
/// the escrow sits inside someone's network. Every connection resolves the host itself and connects only to an
/// address that is not loopback, private (RFC 1918, RFC 4193), link-local (incl. the 169.254.169.254 metadata
/// service), carrier-grade NAT, multicast or unspecified — checked at connect time, after DNS, so a name that
/// resolves differently later cannot slip through. Redirects are not followed automatically: <see cref="SendAsync"/>
/// follows a few, to the same host only, and each new connection is checked again.
/// </summary>
public sealed class OutboundHttp(IOptions<OutboundOptions> options)
{
    private readonly Lazy<HttpClient> _client = new(() => new HttpClient(CreateHandler(options.Value), disposeHandler: true)
    {
        Timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds),
    });

    public HttpClient Client => _client.Value;

    public static SocketsHttpHandler CreateHandler(OutboundOptions options) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        // A proxy from HTTP(S)_PROXY would be the only address checked, and would then fetch any target for us.
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, ct) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
            var allowed = addresses.Where(a => options.AllowPrivateNetworks || IsPublic(a)).ToArray();
            if (allowed.Length == 0)
                throw new OutboundRefusedException($"The host {context.DnsEndPoint.Host} resolves only to addresses the escrow does not connect to (loopback, private, link-local or metadata).");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>Sends a request, following at most MaxRedirects redirects to the same host; a redirect elsewhere is refused.</summary>
    public async Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> request, Uri url, CancellationToken ct)
    {
        CheckScheme(url);
        var current = url;
        for (var hop = 0; ; hop++)
        {
            var response = await Client.SendAsync(request(current), HttpCompletionOption.ResponseHeadersRead, ct);
            if ((int)response.StatusCode is < 300 or > 399 || response.Headers.Location is null) return response;
            response.Dispose();
            if (hop >= options.Value.MaxRedirects) throw new OutboundRefusedException("Too many redirects.");
            var next = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(current, response.Headers.Location);
            CheckScheme(next);
            if (!string.Equals(next.Host, url.Host, StringComparison.OrdinalIgnoreCase))
                throw new OutboundRefusedException("A redirect to another host was refused.");
            // Same host, but not to plain http from https (a secret header would travel in the clear) nor to
            // another port (another service on the same machine).
            if (url.Scheme == "https" && next.Scheme != "https")
                throw new OutboundRefusedException("A redirect from https to http was refused.");
            if (next.Port != current.Port && !(current.Scheme == "http" && next.Scheme == "https" && next.IsDefaultPort))
                throw new OutboundRefusedException("A redirect to another port was refused.");
            current = next;
        }
    }

    private static void CheckScheme(Uri url)
    {
        if (url.Scheme is not ("http" or "https")) throw new OutboundRefusedException("Only http and https URLs are allowed.");
    }

    /// <summary>Whether an address is on the public internet (not loopback, private, link-local, CGNAT, multicast …).</summary>
    /// <summary>The refusal behind a failed request, when the guard refused the connection (it arrives wrapped).</summary>
    public static OutboundRefusedException? RefusalIn(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is OutboundRefusedException refused) return refused;
        return null;
    }

    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
            return false;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)   // carrier-grade NAT, RFC 6598
                || (b[0] == 169 && b[1] == 254)                 // link-local, incl. cloud metadata
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)      // IETF protocol assignments
                || (b[0] == 198 && (b[1] == 18 || b[1] == 19))  // benchmarking
                || (b[0] == 168 && b[1] == 63 && b[2] == 129 && b[3] == 16) // a cloud host's internal endpoint
                || b[0] >= 224);                                // multicast and reserved
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            // IPv6 forms that carry an IPv4 address reach that address: judge the address they carry.
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4..12].All(x => x == 0))   // NAT64 64:ff9b::/96
                return IsPublic(new IPAddress(b[12..16]));
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01)   // local NAT64 64:ff9b:1::/48
                return false;
            if (b[0] == 0x20 && b[1] == 0x02)                                                                  // 6to4 2002::/16
                return IsPublic(new IPAddress(b[2..6]));
            if (b[..12].All(x => x == 0) && !address.Equals(IPAddress.IPv6Loopback))                           // IPv4-compatible ::a.b.c.d
                return IsPublic(new IPAddress(b[12..16]));
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC                        // unique local, RFC 4193
                || address.IsIPv6Teredo);
        }
        return false;
    }
}
