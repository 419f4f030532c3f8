namespace OverlapEscrow.Client.Upload;

/// <summary>How an <see cref="EscrowClient"/> retries and how long it trusts a token.</summary>
public sealed class EscrowClientOptions
{
    /// <summary>Retries after the first attempt, for transport errors, 408, 429, 5xx and 409 "Upload in progress".</summary>
    public int MaxRetryAttempts { get; set; } = 5;

    /// <summary>The first backoff delay; later ones grow exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts, also the cap on a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A cached token is renewed this long before it expires, so a request never leaves with a token about to lapse.</summary>
    public TimeSpan TokenRenewalMargin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time limit of every call except uploads, whose duration grows with the file.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Called before each retry, e.g. to tell the user why the client waits.</summary>
    public Action<RetryNotice>? OnRetry { get; set; }
}

/// <summary>A retry about to happen: the attempt that failed (1 = the first), why, and the wait before the next.</summary>
public sealed record RetryNotice(int FailedAttempt, int MaxAttempts, string Reason, TimeSpan Delay);
