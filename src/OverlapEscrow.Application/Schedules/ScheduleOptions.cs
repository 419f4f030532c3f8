using System.ComponentModel.DataAnnotations;

namespace OverlapEscrow.Application.Schedules;

/// <summary>Settings under Escrow:Schedules (environment: Escrow__Schedules__Name).</summary>
public sealed class ScheduleOptions
{
    public const string Section = "Escrow:Schedules";

    /// <summary>Attempts per run, the first included; a failure that a retry could cure is retried until then.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The delay before the first retry; each further retry waits twice as long as the one before.</summary>
    [Range(1, 3600)]
    public int RetryBaseDelaySeconds { get; set; } = 30;

    /// <summary>How often the runner looks for due schedules; 0 turns the polling off (runs then start only through
    /// "run now" and <see cref="ScheduleRunner.RunDueAsync"/>).</summary>
    [Range(0, 3600)]
    public int PollSeconds { get; set; } = 5;

    /// <summary>How long a run's lease lasts without renewal; the runner renews it every third of that.</summary>
    [Range(10, 3600)]
    public int LeaseSeconds { get; set; } = 120;

    /// <summary>How long one attempt may take (fetching and applying the snapshot) before it is abandoned and retried.</summary>
    [Range(1, 24 * 60)]
    public int AttemptTimeoutMinutes { get; set; } = 60;

    /// <summary>Runs this instance executes at once (a run waiting to retry holds none).</summary>
    [Range(1, 64)]
    public int MaxConcurrentRuns { get; set; } = 4;

    /// <summary>
    /// Of those, the most one organization's runs may hold, so that one organization's many or slow schedules leave
    /// slots for the others' runs. At or above <see cref="MaxConcurrentRuns"/>: no share.
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentRunsPerOrganization { get; set; } = 2;

    /// <summary>Schedules one organization may have (a creation beyond answers 409): runs are fair between organizations, storage and polling are not free.</summary>
    [Range(1, 10_000)]
    public int MaxPerOrganization { get; set; } = 50;

    /// <summary>
    /// Directories (absolute paths) that pull schedules may read from, with their subdirectories. Empty: no
    /// directory pulls. The operator decides; organizations can only name paths inside these.
    /// </summary>
    public List<string> PullDirectories { get; set; } = [];
}
