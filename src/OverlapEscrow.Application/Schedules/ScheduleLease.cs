using Microsoft.Extensions.Logging;
using OverlapEscrow.Application.Storage;
using OverlapEscrow.Domain;

namespace OverlapEscrow.Application.Schedules;

/// <summary>
/// The right to run one schedule, held in the database (schedules.lease_owner / lease_until) so that it also
/// excludes other instances sharing the database. Renewed every third of its duration while held; when a renewal
/// finds the lease taken by someone else, <see cref="Lost"/> is cancelled and the run stops. Released on dispose.
/// A crashed holder renews nothing, so its lease expires and another instance takes over.
/// </summary>
public sealed class ScheduleLease : IAsyncDisposable
{
    private readonly IScheduleRepository _schedules;
    private readonly TimeProvider _time;
    private readonly TimeSpan _duration;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;

    private ScheduleLease(IScheduleRepository schedules, string scheduleId, string owner, TimeProvider time, TimeSpan duration, ILogger logger)
    {
        _schedules = schedules;
        ScheduleId = scheduleId;
        Owner = owner;
        _time = time;
        _duration = duration;
        _logger = logger;
        _renewal = RenewAsync();
    }

    public string ScheduleId { get; }

    /// <summary>Unique per acquisition, so that only this holder can renew or release what it took.</summary>
    public string Owner { get; }

    public CancellationToken Lost => _lost.Token;

    public static async Task<ScheduleLease?> TryAcquireAsync(IScheduleRepository schedules, string scheduleId, TimeProvider time, TimeSpan duration,
        ScheduleAdvance? advance, ILogger logger, CancellationToken ct)
    {
        var owner = Ids.New("lease");
        var now = time.GetUtcNow();
        return await schedules.TryAcquireLeaseAsync(scheduleId, owner, now, now + duration, advance, ct)
            ? new ScheduleLease(schedules, scheduleId, owner, time, duration, logger)
            : null;
    }

    private async Task RenewAsync()
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_duration / 3, _time);
        // The last expiry the database confirmed: past it, another instance may have taken over.
        var heldUntil = _time.GetUtcNow() + _duration;
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                bool held;
                var until = _time.GetUtcNow() + _duration;
                try
                {
                    held = await _schedules.RenewLeaseAsync(ScheduleId, Owner, until, _stop.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A busy or briefly unavailable database: try again at the next tick, while the lease still runs.
                    _logger.LogWarning("Renewing the lease of schedule {ScheduleId} failed: {ExceptionType}", ScheduleId, e.GetType().Name);
                    if (_time.GetUtcNow() + _duration / 3 < heldUntil) continue;
                    // The next tick would come after the lease ran out: stop rather than run without it.
                    _logger.LogWarning("Schedule {ScheduleId} could not keep its lease; its run stops", ScheduleId);
                    await _lost.CancelAsync();
                    return;
                }
                if (held) heldUntil = until;
                if (!held)
                {
                    _logger.LogWarning("Schedule {ScheduleId} lost its lease to another instance; its run stops", ScheduleId);
                    await _lost.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
        try
        {
            await _schedules.ReleaseLeaseAsync(ScheduleId, Owner, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Not fatal: the lease expires by itself.
            _logger.LogWarning("Releasing the lease of schedule {ScheduleId} failed: {ExceptionType}", ScheduleId, e.GetType().Name);
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}
