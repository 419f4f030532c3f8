using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Storage;

namespace OverlapEscrow.Application.Uploads;

/// <summary>
/// An upload's hold on its Idempotency-Key, kept alive in the database (<c>idempotency_keys.lease_until</c>) by a
/// heartbeat every third of the lease for as long as the upload runs, whether or not its client is sending: a slow
/// client is still alive, but a killed process renews nothing, so its key is free for the retry once the short lease
/// runs out. The liveness is in the database, so it also holds between instances sharing one.
/// <para>
/// When a renewal finds the key under another claim token (the lease ran out, say while the process was frozen, and a
/// retry took the key over), <see cref="Lost"/> is cancelled and the upload stops. That is for promptness only: the
/// commit is bound to the claim token too, so one key applies one upload at most whatever the timing.
/// </para>
/// Every renewal opens its own connection, so the heartbeat never shares one with the segment writer; a renewal
/// waits for the writer's transaction like any other writer (busy timeout).
/// </summary>
public sealed class IdempotencyLease : IAsyncDisposable
{
    private readonly IPopulationRepository _populations;
    private readonly string _populationId;
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat;

    private IdempotencyLease(IPopulationRepository populations, IdempotencyHold hold, string populationId, TimeProvider time, TimeSpan duration, ILogger logger)
    {
        _populations = populations;
        Hold = hold;
        _populationId = populationId;
        _time = time;
        _duration = duration;
        _logger = logger;
        _heartbeat = HeartbeatAsync();
    }

    public IdempotencyHold Hold { get; }

    /// <summary>Cancelled when a renewal finds that a retry has taken the key over.</summary>
    public CancellationToken Lost => _lost.Token;

    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Starts the heartbeat of a key just claimed with a lease of <paramref name="duration"/>.</summary>
    public static IdempotencyLease Start(IPopulationRepository populations, IdempotencyHold hold, string populationId, TimeProvider time,
        TimeSpan duration, ILogger logger) => new(populations, hold, populationId, time, duration, logger);

    private async Task HeartbeatAsync()
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_duration / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                bool held;
                try
                {
                    held = await _populations.RenewIdempotencyLeaseAsync(Hold, _time.GetUtcNow() + _duration, _stop.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A busy or briefly unavailable database: try again at the next beat. Should the lease run out
                    // meanwhile and a retry take the key over, the next renewal or the commit notices.
                    _logger.LogWarning("Renewing the Idempotency-Key lease of an upload to population {PopulationId} failed: {ExceptionType}",
                        _populationId, e.GetType().Name);
                    continue;
                }
                if (held) continue;
                _logger.LogWarning("An upload to population {PopulationId} lost its Idempotency-Key to a retry; it stops and applies nothing", _populationId);
                await _lost.CancelAsync();
                return;
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops the heartbeat and waits for a renewal under way; the key itself is left as it is (completing or
    /// releasing it is the upload's business). Safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested) await _stop.CancelAsync();
        await _heartbeat;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _lost.Dispose();
    }
}
