namespace OverlapEscrow.Api.Tests.Infrastructure;

/// <summary>
/// A clock that moves only when told. Timers created through it (Task.Delay with this provider, PeriodicTimer,
/// Polly's retry delays, CancellationTokenSource timeouts) fire when <see cref="Advance"/> or
/// <see cref="SetUtcNow"/> moves the time past their due time, in due order, each seeing the clock at its due time
/// (a periodic timer jumped over more than a thousand periods fires once for them).
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock) return _now;
    }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        SetUtcNow(GetUtcNow() + delta);
    }

    /// <summary>Moves the clock forward to <paramref name="value"/>, firing every timer due on the way.</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                if (value < _now) throw new ArgumentOutOfRangeException(nameof(value), "The manual clock only moves forward.");
                due = _timers.Where(t => t.DueAt <= value).MinBy(t => t.DueAt);
                if (due is null)
                {
                    _now = value;
                    return;
                }
                if (due.DueAt > _now) _now = due.DueAt;
                if (due.Period > TimeSpan.Zero)
                {
                    // A jump over a great many periods (a month of a 5-second poll) fires the timer once for the ones
                    // it skips, as a stalled real timer does; a PeriodicTimer coalesces missed ticks into one anyway.
                    var missed = (value - due.DueAt).Ticks / due.Period.Ticks;
                    due.DueAt += due.Period * (missed > 1000 ? missed : 1);
                }
                else _timers.Remove(due);
            }
            due.Fire();
        }
    }

    /// <summary>The timers waiting now: how long until each fires, and its period (zero for a one-shot timer).</summary>
    public IReadOnlyList<(TimeSpan DueIn, TimeSpan Period)> PendingTimers
    {
        get
        {
            lock (_lock) return _timers.Select(t => (t.DueAt - _now, t.Period)).ToList();
        }
    }

    /// <summary>Waits (in real time, a few seconds at most) until a one-shot timer due in exactly <paramref name="dueIn"/> is pending.</summary>
    public async Task WaitForDelayAsync(TimeSpan dueIn, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!PendingTimers.Any(t => t.Period == TimeSpan.Zero && t.DueIn == dueIn))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No delay of {dueIn} was started; pending: {string.Join(", ", PendingTimers.Select(t => $"{t.DueIn}/{t.Period}"))}");
            await Task.Delay(10);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset DueAt { get; set; }
        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                DueAt = owner._now + dueTime;
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                if (dueTime > TimeSpan.Zero)
                {
                    owner._timers.Add(this);
                    return true;
                }
            }
            // Due now: fire on the thread pool, as a real timer does; a periodic one then waits for its period.
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            if (Period > TimeSpan.Zero)
                lock (owner._lock)
                {
                    DueAt = owner._now + Period;
                    owner._timers.Add(this);
                }
            return true;
        }

        public void Dispose()
        {
            lock (owner._lock) owner._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
