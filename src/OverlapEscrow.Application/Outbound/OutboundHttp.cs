using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace OverlapEscrow.Application.Outbound;

/// <summary>Settings under Escrow:Outbound (environment: Escrow__Outbound__Name).</summary>
public sealed class OutboundOptions
{
    /// <summary>
    /// Turn the address check off: pull sources and webhooks may then reach loopback, private, link-local and other
    /// special-purpose addresses, and this machine's own addresses too (tests, local demos; a receiver on 127.0.0.1 is
    /// on one of the machine's own addresses, so lifting one without the other would not help).
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>Redirects followed, each to the same host only.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 10)]
    public int MaxRedirects { get; set; } = 3;

    [System.ComponentModel.DataAnnotations.Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;
}

/// <summary>A request went to, or was redirected towards, a target the escrow refuses to reach.</summary>
/// <param name="byName">
/// A host name that led to no address the escrow connects to, whether it resolved to refused addresses only or did not
/// resolve at all: the two read alike and are retried alike, since telling them apart would tell a member which names
/// exist inside the network (a hostile trial, 2026-12-04). A refused literal address is refused for good.
/// </param>
public sealed class OutboundRefusedException(string message, bool byName = false) : Exception(message)
{
    public bool ByName { get; } = byName;
}

/// <summary>
/// HTTP for URLs that organizations configure (pull sources, webhooks): a server-side request forgery risk, since
/// the escrow sits inside someone's network. Every connection resolves the host itself and connects only to an
/// address that is (1) in none of the special-purpose blocks of <see cref="SpecialPurposeAddresses"/> — the IANA IPv4
/// and IPv6 Special-Purpose Address Registries (RFC 6890): loopback, private, link-local (incl. the 169.254.169.254
/// metadata service), carrier-grade NAT, documentation, benchmarking, reserved …, plus multicast and IPv6 outside
/// 2000::/3 — and (2) not one of this machine's own addresses (<see cref="IMachineAddresses"/>: every interface
/// address and what the host name resolves to, public or not). Checked at connect time, after DNS, so a name that
/// resolves differently later, or the machine's own host name, cannot slip through. Redirects are not followed
/// automatically: <see cref="SendAsync"/> follows a few, to the same host only, and each new connection is checked again.
/// </summary>
public sealed class OutboundHttp(IOptions<OutboundOptions> options, IMachineAddresses machine)
{
    private readonly Lazy<HttpClient> _client = new(() => new HttpClient(CreateHandler(options.Value, machine), disposeHandler: true)
    {
        Timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds),
    });

    public HttpClient Client => _client.Value;

    public static SocketsHttpHandler CreateHandler(OutboundOptions options, IMachineAddresses machine) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        // A proxy from HTTP(S)_PROXY would be the only address checked, and would then fetch any target for us.
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, ct) =>
        {
            var allowed = await AddressesToConnectAsync(context.DnsEndPoint.Host, options, machine, ct);
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

    /// <summary>The addresses a connection to <paramref name="host"/> may use, as the guard decides before connecting.</summary>
    /// <exception cref="OutboundRefusedException">Every address the host resolves to is refused.</exception>
    public Task<IPAddress[]> AddressesToConnectAsync(string host, CancellationToken ct) => AddressesToConnectAsync(host, options.Value, machine, ct);

    private static async Task<IPAddress[]> AddressesToConnectAsync(string host, OutboundOptions options, IMachineAddresses machine, CancellationToken ct)
    {
        var byName = !IPAddress.TryParse(host, out var literal);
        IPAddress[] addresses;
        if (!byName) addresses = [literal!];
        else
        {
            try { addresses = await Dns.GetHostAddressesAsync(host, ct); }
            catch (SocketException) { throw NameRefused(host); }
        }
        if (options.AllowPrivateNetworks) return addresses;
        var own = await machine.CurrentAsync(ct);
        var allowed = addresses.Where(a => IsPublic(a) && !IsOwn(a, own)).ToArray();
        // One fixed reason: telling which rule refused would tell a member what a name resolves to inside the network.
        if (allowed.Length == 0)
            throw byName ? NameRefused(host)
                : new OutboundRefusedException($"The address {host} is one the escrow does not connect to (this machine's own, loopback, private, link-local, metadata or other special-purpose addresses).");
        return allowed;
    }

    private static OutboundRefusedException NameRefused(string host) =>
        new($"The host name {host} did not resolve to an address the escrow connects to (public addresses only, not this machine's own).", byName: true);

    /// <summary>Whether an address is one of the machine's own, or an IPv6 form carrying one of its IPv4 addresses.</summary>
    public static bool IsOwn(IPAddress address, IReadOnlySet<IPAddress> own)
    {
        address = SpecialPurposeAddresses.Unscoped(address);
        return own.Contains(address) || (SpecialPurposeAddresses.CarriedIPv4(address) is { } carried && own.Contains(carried));
    }

    /// <summary>Whether an address is an ordinary internet host: in no block of <see cref="SpecialPurposeAddresses"/>.</summary>
    public static bool IsPublic(IPAddress address) => SpecialPurposeAddresses.IsPublic(address);

    /// <summary>The refusal behind a failed request, when the guard refused the connection (it arrives wrapped).</summary>
    public static OutboundRefusedException? RefusalIn(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is OutboundRefusedException refused) return refused;
        return null;
    }
}
