using System.Collections.Frozen;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace OverlapEscrow.Application.Outbound;

/// <summary>
/// The addresses of the machine the escrow runs on. A URL that reaches one of them reaches the escrow's own services
/// (its API, a database or an admin port bound to that interface) from inside, whatever range the address is in — a
/// public interface address included — so the outbound guard refuses them. Replaceable in tests.
/// </summary>
public interface IMachineAddresses
{
    /// <summary>Every address of this machine (zone-free, IPv4-mapped ones as IPv4), no older than a short refresh interval.</summary>
    ValueTask<IReadOnlySet<IPAddress>> CurrentAsync(CancellationToken ct);
}

/// <summary>
/// Every unicast address of every network interface (up or down), plus what the machine's host name resolves to.
/// Reading them costs a few milliseconds (the interface list alone about 2 ms here), so the set is kept and read again
/// when it is older than <see cref="RefreshAfter"/> or when the operating system reports an address change; a
/// connection in between costs one set lookup per resolved address. A connection never uses a set older than that.
/// </summary>
public sealed class MachineAddresses : IMachineAddresses, IDisposable
{
    /// <summary>How long one reading of the machine's addresses is used before it is read again.</summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly Func<CancellationToken, Task<IEnumerable<IPAddress>>> _read;
    private readonly SemaphoreSlim _reading = new(1, 1);
    private readonly bool _watching;
    private volatile Reading? _current;
    private int _changes;

    /// <summary>One reading: the addresses, when it started, and how many address changes had been reported then.</summary>
    private sealed record Reading(FrozenSet<IPAddress> Addresses, long At, int Changes);

    public MachineAddresses(TimeProvider time) : this(time, ReadAsync) { }

    /// <param name="read">Where the addresses come from (tests count the readings).</param>
    internal MachineAddresses(TimeProvider time, Func<CancellationToken, Task<IEnumerable<IPAddress>>> read)
    {
        _time = time;
        _read = read;
        try
        {
            // Interfaces change (DHCP, VPNs, containers); do not wait for the interval when the system says so.
            NetworkChange.NetworkAddressChanged += Forget;
            _watching = true;
        }
        catch (Exception e) when (e is PlatformNotSupportedException or NetworkInformationException or SocketException) { }
    }

    public async ValueTask<IReadOnlySet<IPAddress>> CurrentAsync(CancellationToken ct)
    {
        if (Fresh(_current) is { } current) return current.Addresses;
        await _reading.WaitAsync(ct);
        try
        {
            if (Fresh(_current) is { } read) return read.Addresses; // another connection read them meanwhile
            var (at, changes) = (_time.GetTimestamp(), Volatile.Read(ref _changes));
            var addresses = (await _read(ct)).Select(Normalized).ToFrozenSet();
            _current = new Reading(addresses, at, changes);
            return addresses;
        }
        finally
        {
            _reading.Release();
        }
    }

    // A change reported while a reading was under way makes that reading stale too.
    private Reading? Fresh(Reading? reading) =>
        reading is not null && reading.Changes == Volatile.Read(ref _changes) && _time.GetElapsedTime(reading.At) < RefreshAfter ? reading : null;

    private void Forget(object? sender, EventArgs e) => Interlocked.Increment(ref _changes);

    private static IPAddress Normalized(IPAddress address) =>
        SpecialPurposeAddresses.Unscoped(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static async Task<IEnumerable<IPAddress>> ReadAsync(CancellationToken ct)
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .ToList();
        try
        {
            // On Linux .NET adds the interface addresses to what the resolver (/etc/hosts, DNS) answers for the host
            // name; both are asked, so a host-name entry pointing elsewhere (another address of this machine) counts.
            addresses.AddRange(await Dns.GetHostAddressesAsync(Dns.GetHostName(), ct));
        }
        catch (SocketException)
        {
            // A host name that does not resolve reaches nothing through a URL either; the interfaces are enough.
        }
        return addresses;
    }

    public void Dispose()
    {
        if (_watching) NetworkChange.NetworkAddressChanged -= Forget;
        _reading.Dispose();
    }
}
