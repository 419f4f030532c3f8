using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace OverlapEscrow.Application.Webhooks;

/// <summary>
/// How long a failed delivery waits before its next attempt: Polly's exponential backoff with decorrelated jitter,
/// capped. Polly's retry pipeline waits in process between attempts; a delivery's retries must instead survive a
/// restart and must not hold a worker for hours, so the outbox stores the next due time. The delay is therefore
/// read off Polly's retry strategy run on a clock that does not wait: the strategy computes the delay for each
/// attempt as it would before sleeping, and <see cref="DelayAfter"/> keeps the one for the attempt asked about.
/// Jitter spreads the retries of many deliveries that failed together (a receiver that was down).
/// </summary>
public sealed class RetrySchedule(IOptions<WebhookOptions> options)
{
    /// <summary>The wait after the <paramref name="failedAttempts"/>-th failed attempt (1 for the first).</summary>
    public TimeSpan DelayAfter(int failedAttempts)
    {
        var o = options.Value;
        var delay = TimeSpan.Zero;
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = NoWait.Instance }
            .AddRetry(new RetryStrategyOptions
            {
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(o.RetryDelaySeconds),
                MaxDelay = TimeSpan.FromMinutes(o.MaxRetryDelayMinutes),
                MaxRetryAttempts = Math.Max(1, failedAttempts),
                ShouldHandle = _ => ValueTask.FromResult(true),
                OnRetry = args =>
                {
                    delay = args.RetryDelay;
                    return default;
                },
            })
            .Build();
        pipeline.Execute(static () => 0);
        return delay;
    }

    /// <summary>A clock whose timers fire at once, so the strategy's waits take no time.</summary>
    private sealed class NoWait : TimeProvider
    {
        public static readonly NoWait Instance = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            callback(state);
            return new Fired();
        }

        private sealed class Fired : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => false;
            public void Dispose() { }
            public ValueTask DisposeAsync() => default;
        }
    }
}
